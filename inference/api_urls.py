"""Mounted at api/v1/: the REST API, its OpenAPI schema and the (offline) docs page."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from inference import api

app_name = "api"

urlpatterns = [
    path("projects/", api.ProjectList.as_view(), name="projects"),
    path("projects/<int:pk>/", api.ProjectDetail.as_view(), name="project"),
    path("projects/<int:pk>/labels/", api.LabelList.as_view(), name="labels"),
    path("projects/<int:pk>/versions/", api.VersionList.as_view(), name="versions"),
    path("projects/<int:pk>/versions/<int:number>/", api.VersionDetail.as_view(), name="version"),
    path("projects/<int:pk>/predict/", api.Predict.as_view(), name="predict"),
    path("projects/<int:pk>/runs/", api.RunList.as_view(), name="runs"),
    path("projects/<int:pk>/runs/<int:number>/", api.RunDetail.as_view(), name="run"),
    path("projects/<int:pk>/runs/<int:number>/doubts/", api.RunDoubts.as_view(), name="run_doubts"),
    path(
        "projects/<int:pk>/dataset/exports/", api.DatasetExports.as_view(), name="dataset_exports"
    ),
    path(
        "projects/<int:pk>/dataset/exports/<int:job_pk>/",
        api.DatasetExportDetail.as_view(),
        name="dataset_export",
    ),
    path(
        "projects/<int:pk>/dataset/exports/<int:job_pk>/download/",
        api.DatasetExportDownload.as_view(),
        name="dataset_export_download",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
