"""REST API serializers of training runs (read runs out; validate a start request)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from training.models import TrainingRun
from training.presets import Preset

# Big per-image lists stay on the web pages; the API returns the summary metrics.
_METRIC_KEYS = ("val_accuracy", "val_loss", "val_count", "train_count", "macro_f1", "per_label",
                "confusion_matrix", "best_epoch")  # fmt: skip


def summary_metrics(metrics: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (metrics or {}).items() if k in _METRIC_KEYS}


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
