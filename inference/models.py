"""Using a trained model: versions, the default switch audit, predictions, re-runs, API tokens."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from projects.models import Job, Project
from training.models import TrainingRun


class ModelVersion(models.Model):
    """v1, v2, ... of a project: one per succeeded training run. Files stay where training put
    them (run.artifact_prefix); only paths derived from this row are ever loaded."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="model_versions")
    run = models.OneToOneField(TrainingRun, on_delete=models.CASCADE, related_name="model_version")
    number = models.PositiveIntegerField()
    is_default = models.BooleanField(default=False)
    published_at = models.DateTimeField(null=True, blank=True, help_text="first made default")
    created_at = models.DateTimeField(auto_now_add=True)
    unknown_threshold = models.FloatField(
        null=True, blank=True, help_text="the owner's unknown-detector threshold (none: the run's)"
    )

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "number"], name="version_number_per_project"
            ),
            models.UniqueConstraint(
                fields=["project"], condition=Q(is_default=True), name="one_default_per_project"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} v{self.number}"

    def get_absolute_url(self) -> str:
        return reverse("inference:version", args=[self.project_id, self.number])

    @property
    def name(self) -> str:
        return f"v{self.number}"

    @property
    def labels(self) -> list[str]:
        return list(self.run.labels)

    @property
    def metrics(self) -> dict[str, Any]:
        return self.run.metrics or {}

    @property
    def accuracy(self) -> float | None:
        value = self.metrics.get("val_accuracy")
        return value if value is not None else self.run.best_val_accuracy

    def artifact(self, filename: str) -> str:
        prefix = self.run.artifact_prefix
        return f"{prefix.rstrip('/')}/{filename}"

    @property
    def model_path(self) -> str:
        return self.artifact("model.keras")

    @property
    def unknown(self) -> dict[str, Any]:
        """The run's unknown-detector figures ({} for versions trained before it existed)."""
        info = self.metrics.get("unknown") or {}
        return info if "threshold" in info else {}

    @property
    def threshold(self) -> float | None:
        """The unknown-detector threshold in force: the owner's, else the run's."""
        if not self.unknown:
            return None
        return (
            self.unknown_threshold
            if self.unknown_threshold is not None
            else self.unknown["threshold"]
        )

    @property
    def exports_prefix(self) -> str:
        # Our own prefix, so deleting a version's exports never touches training's files.
        return f"projects/{self.project_id}/versions/{self.pk}/exports/"


class DefaultSwitch(models.Model):
    """Audit row: who made which version the default, when and why (rollbacks included)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="default_switches")
    from_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_version = models.ForeignKey(
        ModelVersion, null=True, on_delete=models.SET_NULL, related_name="switches"
    )
    # Numbers kept as text too: the audit must survive a deleted version.
    from_number = models.PositiveIntegerField(null=True, blank=True)
    to_number = models.PositiveIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    note = models.CharField(max_length=500)
    via = models.CharField(max_length=20, default="web", help_text="web | api | command")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "default switches"  # not Django's "switchs"

    def __str__(self) -> str:
        return f"{self.project}: v{self.from_number} -> v{self.to_number}"

    @property
    def is_rollback(self) -> bool:
        return self.from_number is not None and self.to_number < self.from_number


class Prediction(models.Model):
    class Source(models.TextChoices):
        WEB = "web", "Web page"
        API = "api", "API"
        COMMAND = "command", "Command line"

    class Verdict(models.TextChoices):
        RIGHT = "right", "Right"
        WRONG = "wrong", "Wrong"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="predictions")
    version = models.ForeignKey(
        ModelVersion, null=True, on_delete=models.SET_NULL, related_name="predictions"
    )
    version_number = models.PositiveIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.WEB)
    image = models.FileField(max_length=300, help_text="RGB JPEG, shorter side 256 px")
    thumbnail = models.FileField(max_length=300)
    sha256 = models.CharField(max_length=64)
    original_name = models.CharField(max_length=255, blank=True)
    labels = models.JSONField(help_text="label names in model order")
    probabilities = models.JSONField(help_text="one per label, same order")
    label = models.CharField(max_length=64, help_text="top label")
    probability = models.FloatField()
    # "I don't know": the image looks like none of the labels (None: the version has no detector).
    unknown = models.BooleanField(null=True, blank=True)
    unknown_score = models.FloatField(null=True, blank=True)
    duration_ms = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # The owner's review: right or wrong, the right label, and the training image it became.
    verdict = models.CharField(max_length=10, choices=Verdict.choices, blank=True)
    correct_label = models.CharField(max_length=64, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    training_image = models.ForeignKey(
        "datasets.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.project}: {self.label} ({self.probability:.2f})"

    def ranked(self) -> list[tuple[str, float]]:
        return sorted(zip(self.labels, self.probabilities, strict=True), key=lambda p: -p[1])


class Rerun(models.Model):
    """Re-running the prediction history with another version (a background job)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reruns")
    job = models.OneToOneField(Job, null=True, on_delete=models.SET_NULL, related_name="rerun")
    version = models.ForeignKey(ModelVersion, null=True, on_delete=models.SET_NULL)
    version_number = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    up_to = models.DateTimeField(help_text="predictions made before this are re-run")
    total = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.project}: re-run with v{self.version_number}"


class RerunItem(models.Model):
    rerun = models.ForeignKey(Rerun, on_delete=models.CASCADE, related_name="items")
    prediction = models.ForeignKey(Prediction, on_delete=models.CASCADE, related_name="+")
    old_label = models.CharField(max_length=64)
    old_probability = models.FloatField()
    new_label = models.CharField(max_length=64)
    new_probability = models.FloatField()
    # The new model's probability for the old label: how much it moved away from it.
    new_probability_of_old = models.FloatField(null=True)
    changed = models.BooleanField()

    class Meta:
        ordering = ["-changed", "-prediction_id"]
        constraints = [
            models.UniqueConstraint(fields=["rerun", "prediction"], name="rerun_item_once")
        ]

    def __str__(self) -> str:
        return f"{self.old_label} -> {self.new_label}"

    @property
    def delta(self) -> float | None:
        if self.new_probability_of_old is None:
            return None
        return self.new_probability_of_old - self.old_probability


class PersonalToken(models.Model):
    """A personal API token. Only a SHA-256 of the secret is stored; it is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="first characters, to recognise it")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user}: {self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
