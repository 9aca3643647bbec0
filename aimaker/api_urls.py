"""Mounted at api/v1/: every app's REST API, its OpenAPI schema and the (offline) docs page."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from datasets import api as datasets_api
from inference import api
from training import api as training_api

app_name = "api"

urlpatterns = [
    path("projects/", api.ProjectList.as_view(), name="projects"),
    path("projects/<int:pk>/", api.ProjectDetail.as_view(), name="project"),
    path("projects/<int:pk>/labels/", api.LabelList.as_view(), name="labels"),
    path("projects/<int:pk>/versions/", api.VersionList.as_view(), name="versions"),
    path("projects/<int:pk>/versions/<int:number>/", api.VersionDetail.as_view(), name="version"),
    path("projects/<int:pk>/predict/", api.Predict.as_view(), name="predict"),
    path(
        "projects/<int:pk>/predictions/<int:prediction_pk>/review/",
        api.PredictionReview.as_view(),
        name="prediction_review",
    ),
    path("projects/<int:pk>/runs/", training_api.RunList.as_view(), name="runs"),
    path("projects/<int:pk>/runs/<int:number>/", training_api.RunDetail.as_view(), name="run"),
    path(
        "projects/<int:pk>/runs/<int:number>/doubts/",
        training_api.RunDoubts.as_view(),
        name="run_doubts",
    ),
    path(
        "projects/<int:pk>/dataset/exports/",
        datasets_api.DatasetExports.as_view(),
        name="dataset_exports",
    ),
    path(
        "projects/<int:pk>/dataset/exports/<int:job_pk>/",
        datasets_api.DatasetExportDetail.as_view(),
        name="dataset_export",
    ),
    path(
        "projects/<int:pk>/dataset/exports/<int:job_pk>/download/",
        datasets_api.DatasetExportDownload.as_view(),
        name="dataset_export_download",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
