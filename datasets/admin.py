from django.contrib import admin
from django.utils.html import format_html

from datasets.models import Image


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("id", "preview", "project", "label", "source", "license", "created_at")
    list_filter = ("source", "format", "license")
    search_fields = ("original_name", "sha256", "project__name", "label__name", "creator")
    list_select_related = ("project", "label")
    raw_id_fields = ("project", "label", "near_duplicate_of", "added_by")
    readonly_fields = ("preview", "sha256", "phash", "width", "height", "format", "created_at")
    show_full_result_count = False  # no COUNT(*) over every image on each admin page

    @admin.display(description="Image")
    def preview(self, obj: Image) -> str:
        # Through the access-checked view (staff see their own and public projects' images).
        from django.urls import reverse

        url = reverse("datasets:image_file", args=[obj.project_id, obj.pk, "thumbnail"])
        return format_html('<img src="{}" width="48" height="48" alt="">', url)
