"""REST API of the dataset export (owner only): start one, poll it, download its ZIP."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets.exporting import dataset_export_latest, dataset_export_start
from datasets.serializers import DatasetExportSerializer
from datasets.views_export import export_file_response
from projects.api import api_project_for_owner
from projects.models import Job
from projects.serializers import ErrorSerializer


class DatasetExports(APIView):
    """The dataset as a ZIP of label folders with attribution.csv (owner only)."""

    @extend_schema(
        responses={200: DatasetExportSerializer, 404: ErrorSerializer},
        summary="The latest dataset export",
    )
    def get(self, request: Request, pk: int) -> Response:
        job = dataset_export_latest(project=api_project_for_owner(request, pk))
        if job is None:
            return Response({"detail": "No export yet."}, status=status.HTTP_404_NOT_FOUND)
        return Response(DatasetExportSerializer(job, context={"request": request}).data)

    @extend_schema(
        request=None,
        responses={202: DatasetExportSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
        summary="Export the dataset",
        description="Small datasets are built at once (status succeeded, download set); large "
        "ones by a background job: poll the export until `download` is set.",
    )
    def post(self, request: Request, pk: int) -> Response:
        project = api_project_for_owner(request, pk)
        try:
            job = dataset_export_start(project=project, user=request.user)
        except ValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=400)
        data = DatasetExportSerializer(job, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


def _export_job(request: Request, pk: int, job_pk: int) -> Job:
    project = api_project_for_owner(request, pk)
    return get_object_or_404(Job, project=project, pk=job_pk, kind=Job.Kind.EXPORT)


class DatasetExportDetail(APIView):
    @extend_schema(
        responses={200: DatasetExportSerializer, 404: ErrorSerializer},
        summary="One dataset export",
        operation_id="projects_dataset_exports_detail",
    )
    def get(self, request: Request, pk: int, job_pk: int) -> Response:
        job = _export_job(request, pk, job_pk)
        return Response(DatasetExportSerializer(job, context={"request": request}).data)


class DatasetExportDownload(APIView):
    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiResponse(description="the dataset ZIP"),
            404: ErrorSerializer,
        },
        summary="Download a finished dataset export",
    )
    def get(self, request: Request, pk: int, job_pk: int) -> FileResponse:
        return export_file_response(api_project_for_owner(request, pk), job_pk)
