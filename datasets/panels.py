"""The datasets app's part of the project page ("2. Data") and of the live snapshot."""

from typing import Any

from django.http import HttpRequest

from datasets.services import dataset_summary
from projects.models import Project


def data_panel(request: HttpRequest, project: Project) -> dict[str, Any]:
    return {"data_summary": dataset_summary(project)}


def data_snapshot(project: Project) -> dict[str, Any]:
    # Pages refresh their counts from this on every (re)connect.
    return {"data": dataset_summary(project)}
