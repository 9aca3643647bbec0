"""REST API serializers (read models out; validate the predict and training requests)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from inference.models import ModelVersion
from projects.models import Label, Project
from training.models import TrainingRun
from training.presets import Preset

# Big per-image lists stay on the web pages; the API returns the summary metrics.
_METRIC_KEYS = ("val_accuracy", "val_loss", "val_count", "train_count", "macro_f1", "per_label",
                "confusion_matrix", "best_epoch")  # fmt: skip


def summary_metrics(metrics: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (metrics or {}).items() if k in _METRIC_KEYS}


class ProjectSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    default_version = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["id", "name", "description", "visibility", "owner", "default_version",
                  "created_at", "updated_at"]  # fmt: skip

    def get_default_version(self, obj: Project) -> int | None:
        version = obj.model_versions.filter(is_default=True).only("number").first()
        return version.number if version else None


class LabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["id", "name", "created_at"]


class VersionSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    run = serializers.IntegerField(source="run.number", read_only=True)
    labels = serializers.ListField(child=serializers.CharField(), read_only=True)
    accuracy = serializers.FloatField(read_only=True, allow_null=True)
    metrics = serializers.SerializerMethodField()
    params = serializers.JSONField(source="run.params", read_only=True)

    class Meta:
        model = ModelVersion
        fields = ["number", "name", "is_default", "run", "labels", "accuracy", "metrics",
                  "params", "created_at", "published_at"]  # fmt: skip

    def get_metrics(self, obj: ModelVersion) -> dict[str, Any]:
        return summary_metrics(obj.metrics)


class RunSerializer(serializers.ModelSerializer):
    metrics = serializers.SerializerMethodField()
    version = serializers.SerializerMethodField()

    class Meta:
        model = TrainingRun
        fields = ["number", "status", "mode", "phase", "progress", "params", "labels",
                  "image_count", "best_val_accuracy", "metrics", "version", "error",
                  "created_at", "started_at", "finished_at"]  # fmt: skip

    def get_metrics(self, obj: TrainingRun) -> dict[str, Any]:
        return summary_metrics(obj.metrics)

    def get_version(self, obj: TrainingRun) -> int | None:
        version = getattr(obj, "model_version", None)
        return version.number if version else None


class DoubtSerializer(serializers.Serializer):
    """A training image that looks like another label (see "Check these labels")."""

    image = serializers.IntegerField(help_text="image id")
    original_name = serializers.CharField()
    given = serializers.CharField(help_text="its label when the run trained")
    suggested = serializers.CharField(help_text="the label it looks like")
    confidence = serializers.FloatField(help_text="out-of-fold probability of `suggested`")


class RunStartSerializer(serializers.Serializer):
    preset = serializers.ChoiceField(
        choices=Preset.choices,
        required=False,
        help_text="fast, balanced or best (fine-tune, for a GPU); params override its values",
    )
    params = serializers.DictField(
        required=False, default=dict, help_text='training parameters, e.g. {"epochs": 20}'
    )


class PredictRequestSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="JPEG, PNG, WebP or GIF")
    version = serializers.CharField(
        required=False, allow_blank=True, help_text="2, v2 or latest; default: the default"
    )


class LabelProbabilitySerializer(serializers.Serializer):
    label = serializers.CharField()
    probability = serializers.FloatField()


class PredictResponseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    label = serializers.CharField()
    probability = serializers.FloatField()
    labels = LabelProbabilitySerializer(many=True)
    duration_ms = serializers.FloatField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class DatasetExportSerializer(serializers.Serializer):
    """A dataset export (a job): `download` is the ZIP's URL once it is ready."""

    id = serializers.IntegerField(source="pk")
    status = serializers.CharField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    message = serializers.CharField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    download = serializers.SerializerMethodField()

    def get_download(self, job: Any) -> str | None:
        from django.urls import reverse

        from datasets.exporting import dataset_export_file

        if dataset_export_file(job=job) is None:
            return None
        url = reverse("api:dataset_export_download", args=[job.project_id, job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url
