"""REST API v1: projects, labels, versions and predictions (aimaker/api_urls.py gathers every
app's endpoints).

Same rules as the web pages: a project someone may not see is a 404; a public project is
readable and predictable by anyone, changeable by its owner only (others: 404)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inference import serializers as s
from inference import services
from inference.authentication import PersonalTokenScheme  # noqa: F401 - schema extension
from inference.models import ModelVersion, Prediction
from projects.api import (
    api_ask_anonymous_for_a_token,
    api_project_for_owner,
    api_project_for_viewer,
)
from projects.models import Label, Project
from projects.serializers import ErrorSerializer


def _explain(request: Request, form: s.PredictRequestSerializer) -> bool | None:
    """explain= from the form, else from the query string; None when it is not a boolean."""
    if "explain" in request.data or "explain" not in request.query_params:
        return form.validated_data["explain"]
    try:
        return serializers.BooleanField().to_internal_value(request.query_params["explain"])
    except serializers.ValidationError:
        return None


# --- Projects, labels, versions -----------------------------------------------------------


class ProjectList(generics.ListAPIView):
    """Your own projects."""

    serializer_class = s.ProjectSerializer

    def get_queryset(self) -> QuerySet[Project]:
        api_ask_anonymous_for_a_token(self.request)
        return Project.objects.filter(owner=self.request.user).select_related("owner")


class ProjectDetail(generics.RetrieveAPIView):
    """A project you own, or a public one."""

    serializer_class = s.ProjectSerializer

    def get_object(self) -> Project:
        return api_project_for_viewer(self.request, self.kwargs["pk"])


class LabelList(generics.ListAPIView):
    serializer_class = s.LabelSerializer

    def get_queryset(self) -> QuerySet[Label]:
        return api_project_for_viewer(self.request, self.kwargs["pk"]).labels.all()


class VersionList(generics.ListAPIView):
    serializer_class = s.VersionSerializer

    def get_queryset(self) -> QuerySet[ModelVersion]:
        project = api_project_for_viewer(self.request, self.kwargs["pk"])
        return project.model_versions.select_related("run").order_by("-number")


class VersionDetail(generics.RetrieveAPIView):
    serializer_class = s.VersionSerializer

    def get_object(self) -> ModelVersion:
        project = api_project_for_viewer(self.request, self.kwargs["pk"])
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
            400: OpenApiResponse(ErrorSerializer, "not an image, corrupt, bad version"),
            404: OpenApiResponse(ErrorSerializer, "no such project or version"),
            403: OpenApiResponse(ErrorSerializer, "visitors may use the default version only"),
            409: OpenApiResponse(ErrorSerializer, "no default version yet"),
            413: OpenApiResponse(ErrorSerializer, "file too large"),
            429: OpenApiResponse(ErrorSerializer, "too many predictions or model loads"),
        },
        summary="Predict the label of one image",
    )
    def post(self, request: Request, pk: int) -> Response:
        project = api_project_for_viewer(request, pk)
        form = s.PredictRequestSerializer(data=request.data)
        explain = _explain(request, form) if form.is_valid() else None
        if explain is None:
            if "image" in form.errors:
                detail = "Send the image as multipart form field “image”."
            elif "version" in form.errors:
                detail = "Invalid “version”."
            else:
                detail = "“explain” must be true or false."
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
                explain=explain,
            )
        except services.PredictionError as exc:
            return Response({"detail": exc.message}, status=exc.status)
        return Response(outcome.as_dict())


class PredictionReview(APIView):
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        request=s.ReviewRequestSerializer,
        responses={
            200: s.ReviewResponseSerializer,
            400: OpenApiResponse(ErrorSerializer, "not one of the project's labels"),
            404: OpenApiResponse(ErrorSerializer, "no such project or prediction (or not yours)"),
        },
        summary="Say whether a prediction was right; optionally train on its image",
    )
    def post(self, request: Request, pk: int, prediction_pk: int) -> Response:
        project = api_project_for_owner(request, pk)
        prediction = get_object_or_404(
            Prediction.objects.select_related("project", "training_image__label"),
            pk=prediction_pk,
            project=project,
        )
        form = s.ReviewRequestSerializer(data=request.data)
        label = None
        if form.is_valid():
            label = project.labels.filter(name__iexact=form.validated_data["label"]).first()
        if label is None:
            names = ", ".join(project.labels.values_list("name", flat=True))
            detail = f"“label” must be one of this project's labels: {names}."
            return Response({"detail": detail}, status=status.HTTP_400_BAD_REQUEST)
        outcome = services.prediction_review(
            prediction=prediction, label=label, add=form.validated_data["add"], user=request.user
        )
        return Response(outcome.as_dict())
