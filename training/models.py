from django.conf import settings
from django.db import models

from projects.models import Project, WorkStatus


class TrainingRun(models.Model):
    """One training run: its parameters, the exact dataset it saw, its live state and results.

    The row is the truth: a worker updates it (status, phase, heartbeat); pages and the
    websocket snapshot read it."""

    Status = WorkStatus

    class Mode(models.TextChoices):
        QUICK = "quick", "Quick (frozen backbone, cached features)"
        FINETUNE = "finetune", "Fine-tune (end to end, best on a GPU)"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runs")
    number = models.PositiveIntegerField(help_text="Run #n within the project")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.QUICK)
    params = models.JSONField(default=dict, help_text="TrainParams.to_dict()")
    # Dataset snapshot: labels in model order, and which image had which label index.
    labels = models.JSONField(default=list, help_text="label names, index = model output")
    label_ids = models.JSONField(default=list)
    snapshot = models.JSONField(default=list, help_text="[[image_id, label_index], ...]")
    image_count = models.PositiveIntegerField(default=0)
    from_corrections = models.PositiveIntegerField(
        default=0, help_text="images of the snapshot that came from corrected predictions"
    )
    code_version = models.CharField(max_length=100, blank=True)
    # Live state.
    phase = models.CharField(max_length=30, blank=True)
    progress = models.JSONField(default=dict, blank=True, help_text="latest progress event")
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
    worker_name = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    # Results.
    metrics = models.JSONField(default=dict, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    best_val_accuracy = models.FloatField(null=True, blank=True)
    artifact_prefix = models.CharField(
        max_length=300, blank=True, help_text="storage prefix of model.keras, labels.json, ..."
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="run_number_per_project")
        ]

    def __str__(self) -> str:
        return f"{self.project} run #{self.number} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class EpochMetric(models.Model):
    """Every epoch's metrics, so a page opened mid-run draws the whole curve."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="epochs")
    stage = models.CharField(max_length=20, default="head", help_text="head | finetune")
    epoch = models.PositiveIntegerField()
    loss = models.FloatField(null=True)
    accuracy = models.FloatField(null=True)
    val_loss = models.FloatField(null=True)
    val_accuracy = models.FloatField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "stage", "epoch"]
        constraints = [
            models.UniqueConstraint(fields=["run", "stage", "epoch"], name="epoch_once_per_run")
        ]

    def __str__(self) -> str:
        return f"{self.run} {self.stage} epoch {self.epoch}"
