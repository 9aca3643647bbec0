from django.conf import settings
from django.db import models

from projects.models import Label, Project


def _image_path(instance: "Image", kind: str, ext: str) -> str:
    # Content-addressed per project: the same image can never be stored twice.
    sha = instance.sha256
    return f"projects/{instance.project_id}/images/{sha[:2]}/{sha}/{kind}.{ext}"


class Image(models.Model):
    class Source(models.TextChoices):
        UPLOAD = "upload", "Uploaded file"
        ZIP = "zip", "ZIP archive"
        FOLDER = "folder", "Imported folder"
        COLLECTED = "collected", "Collected from the web"
        CORRECTION = "correction", "From a corrected prediction"
        CAMERA = "camera", "Camera"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="images")
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="images")
    original = models.FileField(max_length=300)
    normalized = models.FileField(max_length=300, help_text="RGB JPEG, shorter side 256 px")
    thumbnail = models.FileField(max_length=300)
    sha256 = models.CharField(max_length=64, help_text="of the original bytes")
    phash = models.CharField(max_length=32, blank=True, help_text="perceptual hash")
    near_duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    format = models.CharField(max_length=10)
    source = models.CharField(max_length=20, choices=Source.choices)
    original_name = models.CharField(max_length=500, blank=True, help_text="file or ZIP entry")
    source_url = models.URLField(max_length=2000, blank=True)
    landing_url = models.URLField(max_length=2000, blank=True)
    creator = models.CharField(max_length=500, blank=True)
    license = models.CharField(max_length=50, blank=True)
    license_url = models.URLField(max_length=2000, blank=True)
    attribution = models.TextField(blank=True)
    provider = models.CharField(max_length=30, blank=True)
    provider_id = models.CharField(max_length=200, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    stored_bytes = models.PositiveBigIntegerField(
        default=0, help_text="original + normalized + thumbnail, for the owner's storage quota"
    )
    # Adult-content screening (datasets/safety.py): a quarantined image is never trained on nor
    # shown to anyone but its owner and the moderators, until released.
    nsfw_score = models.FloatField(null=True, blank=True, help_text="open_nsfw, 0..1")
    quarantined = models.BooleanField(default=False, db_index=True)
    # The off-topic check (after a collection): an image unlike its label's others is flagged
    # until the owner keeps or removes it.
    offtopic_score = models.FloatField(
        null=True, blank=True, help_text="modified z-score within its label (3.5+: unlike it)"
    )
    offtopic = models.BooleanField("probably off-topic", default=False)
    offtopic_kept = models.BooleanField(default=False, help_text="the owner kept it anyway")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "sha256"], name="image_unique_per_project")
        ]
        indexes = [
            models.Index(fields=["project", "label", "-id"]),
            models.Index(fields=["project", "phash"]),
        ]

    def __str__(self) -> str:
        return f"{self.label.name}: {self.original_name or self.sha256[:12]}"

    def path_for(self, kind: str, ext: str) -> str:
        return _image_path(self, kind, ext)
