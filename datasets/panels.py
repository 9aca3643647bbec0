"""The datasets app's part of the project page ("2. Data") and of the live snapshot."""

from typing import Any

from django.http import HttpRequest

from datasets.models import Image
from datasets.services import dataset_summary
from projects.models import Project

PREVIEW_SIZE = 12  # thumbnails on a visitor's page


def data_panel(request: HttpRequest, project: Project) -> dict[str, Any]:
    context: dict[str, Any] = {"data_summary": dataset_summary(project)}
    if request.user != project.owner:
        images = Image.objects.filter(project=project).select_related("label").order_by("-id")
        context["data_preview"] = list(images[:PREVIEW_SIZE])
    return context


def data_snapshot(project: Project) -> dict[str, Any]:
    # Pages refresh their counts from this on every (re)connect.
    return {"data": dataset_summary(project)}
