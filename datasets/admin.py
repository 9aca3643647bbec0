from django.contrib import admin, messages
from django.utils.html import format_html

from datasets.models import Image
from datasets.services import image_release_many
from projects.models import Project


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("id", "preview", "project", "label", "source", "quarantined", "nsfw_score",
                    "created_at")  # fmt: skip
    list_filter = ("quarantined", "source", "format", "license")
    actions = ["release"]  # and Django's own delete (files go with the rows: datasets.signals)
    search_fields = ("original_name", "sha256", "project__name", "label__name", "creator")
    list_select_related = ("project", "label")
    raw_id_fields = ("project", "label", "near_duplicate_of", "added_by")
    readonly_fields = ("preview", "sha256", "phash", "width", "height", "format", "created_at")
    show_full_result_count = False  # no COUNT(*) over every image on each admin page

    @admin.action(description="Release selected (not adult content): trained on and shown again")
    def release(self, request, queryset) -> None:
        count = 0
        for project_id in set(queryset.values_list("project_id", flat=True)):
            ids = queryset.filter(project_id=project_id).values_list("pk", flat=True)
            count += image_release_many(project=Project(pk=project_id), image_ids=list(ids))
        self.message_user(request, f"Released {count} image(s).", messages.SUCCESS)

    @admin.display(description="Image")
    def preview(self, obj: Image) -> str:
        # Through the access-checked view (staff see their own and public projects' images).
        from django.urls import reverse

        url = reverse("datasets:image_file", args=[obj.project_id, obj.pk, "thumbnail"])
        return format_html('<img src="{}" width="48" height="48" alt="">', url)
