"""Training parameters, readiness checks and the code version a run records."""

from __future__ import annotations

import functools
import logging
import subprocess
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count, Q

from datasets.services import dataset_summary
from projects.models import Label, Project
from training.ml import TEST_ONLY_WEIGHTS
from training.ml.types import TrainParams

log = logging.getLogger(__name__)


def training_default_backbone() -> str:
    # The test-only random weights only fit the tiny test backbone; real weights the real one.
    return "tiny_test" if settings.AIMAKER_BACKBONE_WEIGHTS == TEST_ONLY_WEIGHTS else "mobilenet_v2"


def training_params_build(*, params: dict[str, Any] | None) -> TrainParams:
    """Defaults + the given values, validated; ValidationError with a readable message."""
    data = {"backbone": training_default_backbone(), **(params or {})}
    try:
        return TrainParams.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ValidationError(str(exc)) from exc


def training_label_counts(*, project: Project) -> list[tuple[Label, int]]:
    """Labels in model order (creation order) with their image counts."""
    usable = Count("images", filter=Q(images__quarantined=False))
    labels = project.labels.order_by("pk").annotate(n=usable)
    return [(label, label.n) for label in labels]


def training_problems(*, project: Project) -> list[str]:
    """Why the project cannot be trained now (empty: ready)."""
    summary = dataset_summary(project)
    problems = list(summary["problems"])
    with_images = sum(1 for row in summary["labels"] if row["count"])
    if with_images < 2 and len(summary["labels"]) >= 2:
        problems.insert(0, "Training needs at least two labels with images.")
    return problems


@functools.cache
def training_code_version() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        if out.stdout.strip():
            return out.stdout.strip()[:100]
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        from importlib.metadata import version

        return f"aimaker {version('aimaker')}"
    except Exception:  # noqa: BLE001 - not installed as a package
        return "aimaker 0.1.0"
