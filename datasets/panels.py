"""The datasets app's part of the project page ("2. Data"), the live snapshot and the
"My AIs" cards."""

from typing import Any

from django.db.models import Count, Max, Min
from django.http import HttpRequest
from django.urls import reverse

from datasets.models import Image
from datasets.services import dataset_summary
from projects.models import Project

PREVIEW_SIZE = 12  # thumbnails on a visitor's page


def data_panel(request: HttpRequest, project: Project) -> dict[str, Any]:
    context: dict[str, Any] = {"data_summary": dataset_summary(project)}
    if request.user != project.owner:
        images = Image.objects.filter(project=project, quarantined=False)
        images = images.select_related("label").order_by("-id")
        context["data_preview"] = list(images[:PREVIEW_SIZE])
    return context


def data_snapshot(project: Project) -> dict[str, Any]:
    # Pages refresh their counts from this on every (re)connect.
    return {"data": dataset_summary(project)}


def data_cards(projects: list[Project]) -> dict[int, dict[str, Any]]:
    """Image counts and a cover (the project's first image) for each card: one query."""
    cards: dict[int, dict[str, Any]] = {p.pk: {"images": 0, "thumbnail": None} for p in projects}
    if not cards:
        return cards
    rows = (
        Image.objects.filter(project_id__in=list(cards), quarantined=False)
        .values("project_id")
        .annotate(n=Count("id"), cover=Min("id"), last_at=Max("created_at"))
    )
    for row in rows:
        project_id = row["project_id"]
        cards[project_id] = {
            "images": row["n"],
            "thumbnail": reverse(
                "datasets:image_file", args=[project_id, row["cover"], "thumbnail"]
            ),
            "active_at": row["last_at"],
        }
    return cards
