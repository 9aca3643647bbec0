"""The "4. Use" card of the project page, and the models part of the "My AIs" cards."""

from datetime import timedelta
from typing import Any

from django.db.models import Count, Max, Q
from django.db.models.functions import TruncDate
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from inference import services
from inference.export import FORMATS
from inference.models import ModelVersion, Prediction
from projects.cards import sparkline_points
from projects.models import Project

SPARK_DAYS = 7


def project_panel(request: HttpRequest, project: Project) -> dict[str, Any]:
    versions = services.model_versions_list(project=project)
    default = next((v for v in versions if v.is_default), None)
    return {
        "use_default_version": default,
        "use_version_count": len(versions),
        "use_versions": versions,
        "use_latest_version": versions[0] if versions else None,
        "use_api_url": request.build_absolute_uri(f"/api/v1/projects/{project.pk}/predict/"),
        "use_export_formats": FORMATS,
    }


def model_cards(projects: list[Project]) -> dict[int, dict[str, Any]]:
    """The default version (else the latest, not yet published) and the predictions of the
    last 7 days, per day: two queries."""
    ids = [project.pk for project in projects]
    if not ids:
        return {}
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    since = midnight - timedelta(days=SPARK_DAYS - 1)
    days = [(since + timedelta(days=n)).date() for n in range(SPARK_DAYS)]
    counts: dict[int, dict[Any, int]] = {pk: {} for pk in ids}
    last_at: dict[int, Any] = {}
    rows = (
        Prediction.objects.filter(project_id__in=ids, created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("project_id", "day")
        .annotate(n=Count("id"), last=Max("created_at"))
    )
    for row in rows:
        counts[row["project_id"]][row["day"]] = row["n"]
        last_at[row["project_id"]] = max(last_at.get(row["project_id"], row["last"]), row["last"])
    latest = (
        ModelVersion.objects.filter(project_id__in=ids)
        .values("project_id")
        .annotate(last=Max("pk"))
        .values("last")
    )
    versions: dict[int, dict[str, Any]] = {}
    candidates = ModelVersion.objects.filter(
        Q(project_id__in=ids, is_default=True) | Q(pk__in=latest)
    )
    for v in candidates.order_by("is_default").values(
        "project_id", "number", "is_default", "run__best_val_accuracy"
    ):
        versions[v["project_id"]] = v  # the default wins over a newer unpublished one
    cards: dict[int, dict[str, Any]] = {}
    for pk in ids:
        series = [counts[pk].get(day, 0) for day in days]
        version = versions.get(pk)
        cards[pk] = {
            "version": {
                "name": f"v{version['number']}",
                "accuracy": version["run__best_val_accuracy"],
                "published": version["is_default"],
                "url": reverse("inference:version", args=[pk, version["number"]]),
            }
            if version
            else None,
            "predictions_7d": series,
            "predictions_total_7d": sum(series),
            "sparkline": sparkline_points(series),
        }
        if pk in last_at:
            cards[pk]["active_at"] = last_at[pk]
    return cards
