from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.db.models import Count

from projects import services
from projects.models import Job, Label, Project

HIDDEN_NOTE = "Hidden by a moderator for breaking the site's rules."


class LabelInline(admin.TabularInline):
    model = Label
    extra = 0


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "visibility", "hidden", "label_count", "created_at"]
    list_filter = ["visibility", "hidden", "created_at"]
    search_fields = ["name", "description", "owner__username", "owner__email"]
    raw_id_fields = ["owner"]
    inlines = [LabelInline]
    actions = ["hide_from_public", "unhide"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_labels=Count("labels"))

    @admin.display(ordering="_labels", description="labels")
    def label_count(self, obj: Project) -> int:
        return obj._labels

    def save_model(self, request, obj: Project, form, change: bool) -> None:
        hidden_changed = change and "hidden" in form.changed_data
        super().save_model(request, obj, form, change)
        if hidden_changed:  # the same service as the bulk action: open sockets close too
            services.project_set_hidden(
                project=obj, hidden=obj.hidden, note=obj.moderation_note or HIDDEN_NOTE
            )

    @admin.action(description="Hide selected projects from the public")
    def hide_from_public(self, request, queryset) -> None:
        for project in queryset:
            services.project_set_hidden(project=project, hidden=True, note=HIDDEN_NOTE)
        self.message_user(request, f"Hid {queryset.count()} project(s).", messages.SUCCESS)

    @admin.action(description="Show selected projects again")
    def unhide(self, request, queryset) -> None:
        for project in queryset:
            services.project_set_hidden(project=project, hidden=False)
        self.message_user(request, f"Unhid {queryset.count()} project(s).", messages.SUCCESS)


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "created_at"]
    list_filter = ["created_at"]
    search_fields = ["name", "project__name", "project__owner__username"]
    raw_id_fields = ["project"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "title", "project", "status", "done", "total", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["title", "project__name"]
    raw_id_fields = ["project", "created_by", "cancelled_by"]


admin.site.unregister(User)
admin.site.index_template = "admin/aimaker_index.html"  # links the operations dashboard


@admin.register(User)
class AIMakerUserAdmin(UserAdmin):
    actions = ["deactivate"]

    @admin.action(description="Deactivate selected users (they can no longer log in)")
    def deactivate(self, request, queryset) -> None:
        count = queryset.exclude(pk=request.user.pk).update(is_active=False)
        self.message_user(request, f"Deactivated {count} user(s).", messages.SUCCESS)
