"""REST API serializers of the dataset export."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import serializers

from datasets.exporting import dataset_export_file


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
        if dataset_export_file(job=job) is None:
            return None
        url = reverse("api:dataset_export_download", args=[job.project_id, job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url
