"""REST API v1: projects, labels, versions, predictions and training runs.

Same rules as the web pages: a project someone may not see is a 404; a public project is
readable and predictable by anyone, changeable by its owner only (others: 404)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference import serializers as s
from inference import services
from inference.authentication import PersonalTokenScheme  # noqa: F401 - schema extension
from inference.models import ModelVersion, Prediction
from projects.access import get_project_for_owner, get_project_for_viewer
from projects.models import Job, Label, Project
from training.models import TrainingRun

# --- Helpers ------------------------------------------------------------------------------


AUTH_REQUIRED = "Authentication required: send Authorization: Bearer <personal token>."


def _ask_anonymous_for_a_token(request: Request) -> None:
    # A caller without credentials is told a token is needed (401 with WWW-Authenticate:
    # Bearer) for any project it may not see, existing or not, so this reveals nothing;
    # a signed-in caller still gets 404.
    if not request.user.is_authenticated:
        raise NotAuthenticated(AUTH_REQUIRED)


def _viewable(request: Request, pk: int) -> Project:
    try:
        return get_project_for_viewer(request, pk)
    except Http404:
        _ask_anonymous_for_a_token(request)
        raise


def _owned(request: Request, pk: int) -> Project:
    try:
        return get_project_for_owner(request, pk)
    except Http404:
        _ask_anonymous_for_a_token(request)
        raise


# --- Projects, labels, versions -----------------------------------------------------------


class ProjectList(generics.ListAPIView):
    """Your own projects."""

    serializer_class = s.ProjectSerializer

    def get_queryset(self) -> QuerySet[Project]:
        _ask_anonymous_for_a_token(self.request)
        return Project.objects.filter(owner=self.request.user).select_related("owner")


class ProjectDetail(generics.RetrieveAPIView):
    """A project you own, or a public one."""

    serializer_class = s.ProjectSerializer

    def get_object(self) -> Project:
        return _viewable(self.request, self.kwargs["pk"])


class LabelList(generics.ListAPIView):
    serializer_class = s.LabelSerializer

    def get_queryset(self) -> QuerySet[Label]:
        return _viewable(self.request, self.kwargs["pk"]).labels.all()


class VersionList(generics.ListAPIView):
    serializer_class = s.VersionSerializer

    def get_queryset(self) -> QuerySet[ModelVersion]:
        project = _viewable(self.request, self.kwargs["pk"])
        return project.model_versions.select_related("run").order_by("-number")


class VersionDetail(generics.RetrieveAPIView):
    serializer_class = s.VersionSerializer

    def get_object(self) -> ModelVersion:
        project = _viewable(self.request, self.kwargs["pk"])
        return get_object_or_404(
            project.model_versions.select_related("run"), number=self.kwargs["number"]
        )


# --- Predict ------------------------------------------------------------------------------


class Predict(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": s.PredictRequestSerializer},
        responses={
            200: s.PredictResponseSerializer,
            400: OpenApiResponse(s.ErrorSerializer, "not an image, corrupt, bad version"),
            404: OpenApiResponse(s.ErrorSerializer, "no such project or version"),
            403: OpenApiResponse(s.ErrorSerializer, "visitors may use the default version only"),
            409: OpenApiResponse(s.ErrorSerializer, "no default version yet"),
            413: OpenApiResponse(s.ErrorSerializer, "file too large"),
            429: OpenApiResponse(s.ErrorSerializer, "too many predictions or model loads"),
        },
        summary="Predict the label of one image",
    )
    def post(self, request: Request, pk: int) -> Response:
        project = _viewable(request, pk)
        form = s.PredictRequestSerializer(data=request.data)
        if not form.is_valid():
            if "image" in form.errors:
                detail = "Send the image as multipart form field “image”."
            else:
                detail = "Invalid “version”."
            return Response({"detail": detail}, status=status.HTTP_400_BAD_REQUEST)
        try:
            ref = form.validated_data.get("version") or None
            version = services.model_version_get(project=project, ref=ref)
            services.prediction_admit(request=request, project=project, version=version)
            outcome = services.prediction_create(
                project=project,
                data=services.image_read_upload(form.validated_data["image"]),
                user=request.user,
                version=version,
                source=Prediction.Source.API,
                original_name=form.validated_data["image"].name,
            )
        except services.PredictionError as exc:
            return Response({"detail": exc.message}, status=exc.status)
        return Response(outcome.as_dict())


# --- Training runs ------------------------------------------------------------------------


class RunList(generics.ListAPIView):
    """Training runs of a project (readable like the project); POST starts one (owner)."""

    serializer_class = s.RunSerializer

    def get_queryset(self) -> QuerySet[TrainingRun]:
        project = _viewable(self.request, self.kwargs["pk"])
        return project.runs.select_related("model_version").order_by("-number")

    @extend_schema(
        request=s.RunStartSerializer,
        responses={201: s.RunSerializer, 400: s.ErrorSerializer, 404: s.ErrorSerializer},
        summary="Start a training run",
    )
    def post(self, request: Request, pk: int) -> Response:
        project = _owned(request, pk)
        form = s.RunStartSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        from training import services as training_services
        from training.presets import training_preset_params

        params = form.validated_data["params"]
        if form.validated_data.get("preset"):
            preset = training_preset_params(preset=form.validated_data["preset"])
            params = {**preset, **params}
        try:
            run = training_services.training_run_start(
                project=project, user=request.user, params=params
            )
        except ValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=400)
        return Response(s.RunSerializer(run).data, status=status.HTTP_201_CREATED)


class RunDetail(generics.RetrieveAPIView):
    serializer_class = s.RunSerializer

    def get_object(self) -> TrainingRun:
        project = _viewable(self.request, self.kwargs["pk"])
        return get_object_or_404(project.runs, number=self.kwargs["number"])


class RunDoubts(APIView):
    @extend_schema(
        responses={
            200: s.DoubtSerializer(many=True),
            404: OpenApiResponse(s.ErrorSerializer, "no such project or run"),
            409: OpenApiResponse(s.ErrorSerializer, "the run did not check its labels"),
        },
        summary="Images the run found likely mislabelled",
        description="Most certain first. Images deleted or relabelled since the run are left "
        "out. An empty list: nothing looks mislabelled.",
    )
    def get(self, request: Request, pk: int, number: int) -> Response:
        from training import doubts

        project = _viewable(request, pk)
        run = get_object_or_404(project.runs, number=number)
        problem = doubts.training_run_doubts_problem(run=run)
        if problem:
            return Response({"detail": problem}, status=status.HTTP_409_CONFLICT)
        return Response([d.as_dict() for d in doubts.training_run_doubts(run=run)])


# --- Dataset export -----------------------------------------------------------------------


class DatasetExports(APIView):
    """The dataset as a ZIP of label folders with attribution.csv (owner only)."""

    @extend_schema(
        responses={200: s.DatasetExportSerializer, 404: s.ErrorSerializer},
        summary="The latest dataset export",
    )
    def get(self, request: Request, pk: int) -> Response:
        from datasets.exporting import dataset_export_latest

        job = dataset_export_latest(project=_owned(request, pk))
        if job is None:
            return Response({"detail": "No export yet."}, status=status.HTTP_404_NOT_FOUND)
        return Response(s.DatasetExportSerializer(job, context={"request": request}).data)

    @extend_schema(
        request=None,
        responses={202: s.DatasetExportSerializer, 400: s.ErrorSerializer, 404: s.ErrorSerializer},
        summary="Export the dataset",
        description="Small datasets are built at once (status succeeded, download set); large "
        "ones by a background job: poll the export until `download` is set.",
    )
    def post(self, request: Request, pk: int) -> Response:
        from datasets.exporting import dataset_export_start

        project = _owned(request, pk)
        try:
            job = dataset_export_start(project=project, user=request.user)
        except ValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=400)
        data = s.DatasetExportSerializer(job, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


def _export_job(request: Request, pk: int, job_pk: int) -> Job:
    project = _owned(request, pk)
    return get_object_or_404(Job, project=project, pk=job_pk, kind=Job.Kind.EXPORT)


class DatasetExportDetail(APIView):
    @extend_schema(
        responses={200: s.DatasetExportSerializer, 404: s.ErrorSerializer},
        summary="One dataset export",
        operation_id="projects_dataset_exports_detail",
    )
    def get(self, request: Request, pk: int, job_pk: int) -> Response:
        job = _export_job(request, pk, job_pk)
        return Response(s.DatasetExportSerializer(job, context={"request": request}).data)


class DatasetExportDownload(APIView):
    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiResponse(description="the dataset ZIP"),
            404: s.ErrorSerializer,
        },
        summary="Download a finished dataset export",
    )
    def get(self, request: Request, pk: int, job_pk: int) -> FileResponse:
        from datasets.views_export import export_file_response

        return export_file_response(_owned(request, pk), job_pk)
