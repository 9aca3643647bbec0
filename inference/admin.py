from django.contrib import admin

from inference.models import DefaultSwitch, ModelVersion, PersonalToken, Prediction, Rerun


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "number", "is_default", "published_at", "created_at"]
    list_filter = ["is_default"]
    search_fields = ["project__name"]
    raw_id_fields = ["project", "run"]
    readonly_fields = ["is_default", "published_at"]  # switch with the audited action only


@admin.register(DefaultSwitch)
class DefaultSwitchAdmin(admin.ModelAdmin):
    list_display = ["project", "from_number", "to_number", "user", "via", "note", "created_at"]
    search_fields = ["project__name", "note"]
    raw_id_fields = ["project", "from_version", "to_version", "user"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # an audit trail is not edited


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ["project", "version_number", "label", "probability", "user", "source",
                    "created_at"]  # fmt: skip
    list_filter = ["source"]
    raw_id_fields = ["project", "version", "user"]


@admin.register(Rerun)
class RerunAdmin(admin.ModelAdmin):
    list_display = ["project", "version_number", "total", "changed", "created_at"]
    raw_id_fields = ["project", "version", "job", "created_by"]


@admin.register(PersonalToken)
class PersonalTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    search_fields = ["user__username", "name", "prefix"]
    readonly_fields = ["token_hash", "prefix"]
    raw_id_fields = ["user"]
