"""A dataset as its pages show it, and its cleaning: summaries, moves, deletes, near duplicates."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet

from datasets.models import Image
from projects.models import Label, Project
from projects.notify import notify_project

log = logging.getLogger(__name__)


def dataset_summary(project: Project) -> dict[str, Any]:
    """Per-label image counts and whether the project is ready to train.

    {"labels": [{"id", "name", "count", "enough", "missing"}], "total", "min_per_label",
     "ready", "problems": [str]}"""
    minimum = settings.AIMAKER_MIN_IMAGES_PER_LABEL
    labels = []
    usable = Count("images", filter=Q(images__quarantined=False))  # quarantined: not trained on
    for label in project.labels.annotate(n=usable).order_by("name"):
        labels.append(
            {
                "id": label.pk,
                "name": label.name,
                "count": label.n,
                "enough": label.n >= minimum,
                "missing": max(0, minimum - label.n),
            }
        )
    problems: list[str] = []
    if len(labels) < 2:
        problems.append("Add at least two labels: an AI tells things apart.")
    for row in labels:
        if not row["enough"]:
            problems.append(
                f"“{row['name']}” has {row['count']} image(s); add at least {row['missing']} more "
                f"(each label needs {minimum})."
            )
    return {
        "labels": labels,
        "total": sum(row["count"] for row in labels),
        "min_per_label": minimum,
        "ready": not problems,
        "problems": problems,
        **project.images.aggregate(  # one query for both flags
            quarantined=Count("id", filter=Q(quarantined=True)),
            offtopic=Count("id", filter=Q(offtopic=True)),
        ),
    }


def dataset_notify(project: Project, summary: dict[str, Any] | None = None) -> None:
    """Tell open project pages the new counts (best effort, like every live event)."""
    notify_project(project.pk, {"type": "data", "data": summary or dataset_summary(project)})


def image_delete_many(*, project: Project, image_ids: Iterable[int]) -> int:
    """Delete these images of `project` (ids of other projects are ignored); files go on
    commit (see datasets.signals)."""
    ids = [int(i) for i in image_ids]
    with transaction.atomic():
        # Images pointing at a deleted one lose the link (SET NULL), not their row.
        deleted, _ = Image.objects.filter(project=project, pk__in=ids).delete()
    dataset_notify(project)
    return deleted


def image_move_many(*, project: Project, image_ids: Iterable[int], label: Label) -> int:
    if label.project_id != project.pk:
        raise ValidationError("That label belongs to another project.")
    ids = [int(i) for i in image_ids]
    moved = Image.objects.filter(project=project, pk__in=ids).update(label=label)
    dataset_notify(project)
    return moved


def image_release_many(*, project: Project, image_ids: Iterable[int]) -> int:
    """Quarantined images the owner (or a moderator) found harmless: trained on and shown
    again."""
    ids = [int(i) for i in image_ids]
    released = Image.objects.filter(project=project, pk__in=ids, quarantined=True).update(
        quarantined=False
    )
    if released:
        dataset_notify(project)
    return released


def image_keep_many(*, project: Project, image_ids: Iterable[int]) -> int:
    """Images flagged off-topic that the owner says belong: unflagged for good."""
    ids = [int(i) for i in image_ids]
    kept = Image.objects.filter(project=project, pk__in=ids, offtopic=True).update(
        offtopic=False, offtopic_kept=True
    )
    if kept:
        dataset_notify(project)
    return kept


def near_duplicate_pairs(*, project: Project) -> QuerySet[Image]:
    """The images flagged as looking almost the same as an earlier one, newest first; each
    row is a pair (the image, and .near_duplicate_of) still to review."""
    return (
        Image.objects.filter(project=project, near_duplicate_of__isnull=False)
        .select_related("label", "near_duplicate_of__label")
        .order_by("-id")
    )


def near_duplicate_keep_both(*, project: Project, image_id: int) -> bool:
    """The owner looked at the pair and keeps both: the flag goes, so it is not shown again.
    Returns whether there was such a pair."""
    updated = Image.objects.filter(
        project=project, pk=image_id, near_duplicate_of__isnull=False
    ).update(near_duplicate_of=None)
    return bool(updated)
