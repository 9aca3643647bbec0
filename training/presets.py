"""Training presets: what a first-time user picks instead of nine parameters, and how long
each should take for a project's images.

The time estimates use simple per-image costs from docs/benchmarks.md (a 2-core CPU):
feature extraction runs at roughly 30-70 images/s with mirrored copies (twice that without),
head training and evaluation add a few ms per image, and loading the backbone a few seconds.
Fine-tuning has no measured CPU figure yet: it runs every image forwards and backwards
through the network each epoch, taken here as 10-25 images/s (a GPU is many times faster)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.db import models

from training.ml.types import TrainParams


class Preset(models.TextChoices):
    FAST = "fast", "Fast"
    BALANCED = "balanced", "Balanced"
    BEST = "best", "Best"


DEFAULT_PRESET = Preset.BALANCED

# Each preset's parameters; the rest are TrainParams' defaults.
PRESET_PARAMS: dict[str, dict[str, Any]] = {
    Preset.FAST: {"mode": "quick", "augmentation": False, "epochs": 20},
    Preset.BALANCED: {"mode": "quick", "augmentation": True, "epochs": 30},
    Preset.BEST: {"mode": "finetune", "augmentation": True, "epochs": 30, "finetune_epochs": 5},
}

PRESET_TEXT = {
    Preset.FAST: "Trains a small classifier on the frozen network's image features",
    Preset.BALANCED: "Also learns from mirrored images: usually a little more accurate",
    Preset.BEST: "Also fine-tunes the top of the network: most accurate, meant for a GPU",
}

# (fast machine, slow machine) figures; see the module docstring.
OVERHEAD_S = (5.0, 15.0)
EXTRACT_IMAGES_PER_S = (70.0, 30.0)  # with mirrored copies; twice as fast without
HEAD_S_PER_IMAGE = (0.001, 0.003)
FINETUNE_IMAGES_PER_S = (25.0, 10.0)  # per epoch, on a CPU


@dataclass(frozen=True)
class PresetChoice:
    value: str
    label: str
    text: str  # what it does and how long it should take
    params: dict[str, Any]


def training_preset_params(*, preset: str) -> dict[str, Any]:
    """The full parameters of a preset (TrainParams' defaults for what it leaves out)."""
    params = TrainParams(**PRESET_PARAMS[Preset(preset)]).to_dict()
    params.pop("backbone")  # chosen by the server, never by the form
    return params


def training_preset_seconds(*, preset: str, image_count: int) -> tuple[float, float]:
    """(low, high) estimate of a first run's duration; later runs reuse the features."""
    p = training_preset_params(preset=preset)
    bounds = []
    for i in range(2):
        rate = EXTRACT_IMAGES_PER_S[i] * (1 if p["augmentation"] else 2)
        seconds = OVERHEAD_S[i] + image_count / rate + image_count * HEAD_S_PER_IMAGE[i]
        if p["mode"] == "finetune":
            seconds += p["finetune_epochs"] * image_count / FINETUNE_IMAGES_PER_S[i]
        bounds.append(seconds)
    return bounds[0], bounds[1]


def _duration_range(low: float, high: float) -> str:
    if high < 90:
        return f"{_round_s(low)}–{_round_s(high)} seconds"
    if high < 90 * 60:
        lo, hi = max(1, round(low / 60)), max(1, math.ceil(high / 60))
        return f"{lo}–{hi} minutes" if lo < hi else f"{hi} minutes"
    lo, hi = low / 3600, high / 3600
    return f"{lo:.1f}–{hi:.1f} hours"


def _round_s(seconds: float) -> int:
    return max(5, int(5 * round(seconds / 5)))  # 5 s steps: no false precision


def training_preset_choices(*, image_count: int) -> list[PresetChoice]:
    """The presets with one line each: what it does, how long it should take here."""
    choices = []
    for preset in Preset:
        text = PRESET_TEXT[preset]
        if image_count:
            low, high = training_preset_seconds(preset=preset, image_count=image_count)
            where = " on a CPU, much less on a GPU" if preset == Preset.BEST else ""
            text += f"; about {_duration_range(low, high)} for {image_count:,} images{where}."
        else:
            text += "."
        choices.append(
            PresetChoice(preset.value, preset.label, text, training_preset_params(preset=preset))
        )
    return choices
