"""The unknown-detector's threshold per version: the owner trades how many of their own images
are called "not sure" against how many strangers get through."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.core.exceptions import ValidationError

from inference.models import ModelVersion
from inference.services.exports import exports_delete

MAX_REJECT_SHARE = 0.5  # beyond, the model would refuse half of what it was made for


def _levels(info: dict[str, Any], key: str) -> np.ndarray:
    return np.asarray(info[key], np.float64)


def unknown_threshold_for_share(*, info: dict[str, Any], reject_share: float) -> float:
    """The threshold that calls `reject_share` of the project's own images unknown (judged
    leave-one-out at training)."""
    own = _levels(info, "own_quantiles")
    return float(np.interp(1.0 - reject_share, np.linspace(0, 1, len(own)), own))


def unknown_rejects(*, info: dict[str, Any], threshold: float) -> dict[str, float | None]:
    """What a threshold rejects: the share of the project's own images, and of images of a label
    the model never saw (each label held out in turn at training)."""

    def above(levels: np.ndarray) -> float:
        return float(1.0 - np.interp(threshold, levels, np.linspace(0, 1, len(levels))))

    held = (info.get("held_out") or {}).get("quantiles")
    return {
        "own": round(above(_levels(info, "own_quantiles")), 4),
        "held_out": round(above(np.asarray(held, np.float64)), 4) if held else None,
    }


def model_version_set_unknown_threshold(
    *, version: ModelVersion, reject_share: float | None
) -> ModelVersion:
    """Set the version's threshold from the share of own images to reject (None: the run's
    default). Takes effect on the next prediction. Raises ValidationError."""
    info = version.unknown
    if not info:
        raise ValidationError(f"{version.name} was trained before the unknown-detector existed.")
    if reject_share is None:
        version.unknown_threshold = None
    else:
        if not 0 <= reject_share <= MAX_REJECT_SHARE:
            raise ValidationError(f"Choose a share between 0 and {MAX_REJECT_SHARE:.0%}.")
        version.unknown_threshold = unknown_threshold_for_share(
            info=info, reject_share=reject_share
        )
    version.save(update_fields=["unknown_threshold"])
    exports_delete(version=version)  # their unknown.json holds the old threshold
    return version
