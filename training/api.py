"""REST API of training runs: list, start (owner), one run, and its label doubts."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from projects.api import api_project_for_owner, api_project_for_viewer
from projects.serializers import ErrorSerializer
from training import doubts, services
from training import serializers as s
from training.models import TrainingRun
from training.presets import training_preset_params


class RunList(generics.ListAPIView):
    """Training runs of a project (readable like the project); POST starts one (owner)."""

    serializer_class = s.RunSerializer

    def get_queryset(self) -> QuerySet[TrainingRun]:
        project = api_project_for_viewer(self.request, self.kwargs["pk"])
        return project.runs.select_related("model_version").order_by("-number")

    @extend_schema(
        request=s.RunStartSerializer,
        responses={201: s.RunSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
        summary="Start a training run",
    )
    def post(self, request: Request, pk: int) -> Response:
        project = api_project_for_owner(request, pk)
        form = s.RunStartSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        params = form.validated_data["params"]
        if form.validated_data.get("preset"):
            preset = training_preset_params(preset=form.validated_data["preset"])
            params = {**preset, **params}
        try:
            run = services.training_run_start(project=project, user=request.user, params=params)
        except ValidationError as exc:
            return Response({"detail": " ".join(exc.messages)}, status=400)
        return Response(s.RunSerializer(run).data, status=status.HTTP_201_CREATED)


class RunDetail(generics.RetrieveAPIView):
    serializer_class = s.RunSerializer

    def get_object(self) -> TrainingRun:
        project = api_project_for_viewer(self.request, self.kwargs["pk"])
        return get_object_or_404(project.runs, number=self.kwargs["number"])


class RunDoubts(APIView):
    @extend_schema(
        responses={
            200: s.DoubtSerializer(many=True),
            404: OpenApiResponse(ErrorSerializer, "no such project or run"),
            409: OpenApiResponse(ErrorSerializer, "the run did not check its labels"),
        },
        summary="Images the run found likely mislabelled",
        description="Most certain first. Images deleted or relabelled since the run are left "
        "out. An empty list: nothing looks mislabelled.",
    )
    def get(self, request: Request, pk: int, number: int) -> Response:
        project = api_project_for_viewer(request, pk)
        run = get_object_or_404(project.runs, number=number)
        problem = doubts.training_run_doubts_problem(run=run)
        if problem:
            return Response({"detail": problem}, status=status.HTTP_409_CONFLICT)
        return Response([d.as_dict() for d in doubts.training_run_doubts(run=run)])
