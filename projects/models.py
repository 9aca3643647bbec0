from django.conf import settings
from django.db import models
from django.db.models.functions import Lower, Substr
from django.urls import reverse

DESCRIPTION_MAX = 2000


class ProjectQuerySet(models.QuerySet):
    def for_cards(self) -> "ProjectQuerySet":
        """What a list of project cards needs: a short summary, never the whole description."""
        return (
            self.select_related("owner")
            .defer("description", "moderation_note")
            .annotate(summary=Substr("description", 1, 160))
        )


class Project(models.Model):
    class Visibility(models.TextChoices):
        PRIVATE = "private", "Private: only me"
        PUBLIC = "public", "Public: anyone can see and try it"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="projects"
    )
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, max_length=DESCRIPTION_MAX)
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    keep_visitor_images = models.BooleanField(
        "Keep the images visitors try",
        default=True,
        help_text="Off: predictions by visitors are still counted and listed in your history, "
        "without their image.",
    )
    screen_uploads = models.BooleanField(
        "Screen uploads for adult content",
        default=False,
        help_text="Web-collected images are always screened; on: uploads and imports too "
        "(flagged ones are quarantined: not trained on, shown to no visitor).",
    )
    # Moderation: a hidden project is not public whatever its visibility; its owner sees why.
    hidden = models.BooleanField(default=False, help_text="Hidden from the public by a moderator.")
    moderation_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["visibility", "hidden", "-created_at"])]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("projects:detail", args=[self.pk])

    @property
    def is_public(self) -> bool:
        return self.visibility == self.Visibility.PUBLIC and not self.hidden


class Label(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                "project", Lower("name"), name="label_name_unique_per_project_ci"
            )
        ]

    def __str__(self) -> str:
        return self.name


class WorkStatus(models.TextChoices):
    """The life of any background work (jobs, training runs): the row is the truth."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Job(models.Model):
    """A background job (import, web collection, demo...): this row is the truth about it."""

    class Kind(models.TextChoices):
        DEMO = "demo", "Demo"
        IMPORT = "import", "Image import"
        COLLECT = "collect", "Web collection"
        RERUN = "rerun", "Prediction re-run"
        EXPORT = "export", "Dataset export"
        MODEL_EXPORT = "model_export", "Model export"
        OFFTOPIC = "offtopic", "Off-topic check"

    Status = WorkStatus
    ACTIVE = (Status.QUEUED, Status.RUNNING)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="who asked it to stop: the owner, or staff on the operations page",
    )
    rq_job_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)  # doubles as the worker's heartbeat

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE
