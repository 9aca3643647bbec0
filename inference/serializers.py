"""REST API serializers of projects, versions and predictions."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from inference.models import ModelVersion
from projects.models import Label, Project
from training.serializers import summary_metrics


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


class PredictRequestSerializer(serializers.Serializer):
    image = serializers.FileField(help_text="JPEG, PNG, WebP or GIF")
    version = serializers.CharField(
        required=False, allow_blank=True, help_text="2, v2 or latest; default: the default"
    )
    explain = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: add `explanation`, an occlusion heat map of the regions the answer "
        "rests on (also accepted as the query parameter ?explain=true)",
    )


class LabelProbabilitySerializer(serializers.Serializer):
    label = serializers.CharField()
    probability = serializers.FloatField()


class ExplanationSerializer(serializers.Serializer):
    method = serializers.CharField(help_text="occlusion")
    label = serializers.CharField(help_text="the label explained: the top one")
    grid = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField()),
        help_text="rows x columns over the centre square the model saw, top row first; 0..1 "
        "= how much hiding that region lowers the label's probability",
    )
    crop = serializers.CharField()
    duration_ms = serializers.FloatField()


class PredictResponseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    version = serializers.IntegerField()
    label = serializers.CharField()
    probability = serializers.FloatField(help_text="calibrated (temperature scaling)")
    unknown = serializers.BooleanField(
        allow_null=True,
        help_text="true: the image looks like none of the labels (`label` is still the "
        "closest); null: the version has no unknown-detector (trained before it existed)",
    )
    unknown_score = serializers.FloatField(
        allow_null=True,
        help_text="distance to the nearest training images; above the "
        "version's threshold = unknown",
    )
    labels = LabelProbabilitySerializer(many=True)
    duration_ms = serializers.FloatField()
    explanation = ExplanationSerializer(required=False, help_text="only with explain=true")


class ReviewRequestSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=64, help_text="the right label's name")
    add = serializers.BooleanField(
        required=False, default=False, help_text="true: add the image to the training set"
    )


class ReviewResponseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField(help_text="what the model said")
    verdict = serializers.ChoiceField(choices=["right", "wrong"])
    correct_label = serializers.CharField()
    training_image = serializers.IntegerField(allow_null=True, help_text="its training image")
    added = serializers.BooleanField(help_text="the image joined the training set now")
    note = serializers.CharField(help_text="what happened to the image, for people")
