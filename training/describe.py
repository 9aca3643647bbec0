"""Training parameters and phase timings in words people read: "Learning rate", "Feature
extraction 4.8 s". The raw keys stay on the pages under "Technical details"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aimaker.templatetags.numbers import seconds


def _plain(value: Any) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.10f}".rstrip("0")
    if isinstance(value, float):
        return str(int(value))
    return str(value)


def _yes_no(value: Any) -> str:
    return "Yes" if value else "No"


def _percent(value: Any) -> str:
    return f"{float(value) * 100:g}%"


def _mode(value: Any) -> str:
    return {"quick": "Quick (frozen network)", "finetune": "Fine-tune"}.get(value, str(value))


def _backbone(value: Any) -> str:
    from training.ml.backbones import BACKBONES  # plain data, no Keras import

    spec = BACKBONES.get(value)
    return spec.description if spec else str(value)


# key -> (name, how to show the value); in the order people read them.
PARAMS: dict[str, tuple[str, Callable[[Any], str]]] = {
    "mode": ("Training mode", _mode),
    "epochs": ("Epochs (at most)", _plain),
    "batch_size": ("Batch size", lambda v: f"{v} images"),
    "learning_rate": ("Learning rate", _plain),
    "validation_split": ("Validation images", _percent),
    "augmentation": ("Mirrored images", _yes_no),
    "finetune_layers": ("Top layers fine-tuned", _plain),
    "finetune_epochs": ("Fine-tune epochs", _plain),
    "finetune_learning_rate": ("Fine-tune learning rate", _plain),
    "backbone": ("Pretrained network", _backbone),
    "dropout": ("Dropout", _percent),
    "patience": ("Stop after epochs without improvement", _plain),
    "seed": ("Random seed", _plain),
}
FINETUNE_ONLY = ("finetune_layers", "finetune_epochs", "finetune_learning_rate")

# Phase timings in the order they happen; "total" (the learning core's own) is left to the
# technical details: "job_total" is what the user waited.
TIMINGS = {
    "fetching": "Fetching images",
    "preparing": "Loading the pretrained network",
    "converting": "Preparing the fast feature extractor",
    "extracting": "Feature extraction",
    "training": "Training",
    "finetuning": "Fine-tuning",
    "evaluating": "Evaluation",
    "saving": "Saving the model",
    "uploading": "Storing the model",
    "job_total": "Total",
}


def training_params_describe(*, params: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, value) rows of a run's parameters; fine-tune ones only for fine-tune runs."""
    rows = []
    for key, (name, show) in PARAMS.items():
        if key not in params:
            continue
        if key in FINETUNE_ONLY and params.get("mode") != "finetune":
            continue
        rows.append((name, show(params[key])))
    return rows


def training_params_summary(*, params: dict[str, Any]) -> str:
    """One line for tables: "30 epochs, batch 32, learning rate 0.001, 10% validation"."""
    parts = []
    if "epochs" in params:
        parts.append(f"{params['epochs']} epochs")
    if "batch_size" in params:
        parts.append(f"batch {params['batch_size']}")
    if "learning_rate" in params:
        parts.append(f"learning rate {_plain(params['learning_rate'])}")
    if "validation_split" in params:
        parts.append(f"{_percent(params['validation_split'])} validation")
    if params.get("augmentation"):
        parts.append("mirrored images")
    if params.get("mode") == "finetune":
        parts.append(
            f"fine-tunes top {params.get('finetune_layers')} layers "
            f"for {params.get('finetune_epochs')} epochs"
        )
    if "seed" in params:
        parts.append(f"seed {params['seed']}")
    return ", ".join(parts)


def training_timings_describe(*, timings: dict[str, float]) -> list[tuple[str, str]]:
    """(phase, duration) rows: ("Feature extraction", "4.8 s")."""
    return [(name, seconds(timings[key])) for key, name in TIMINGS.items() if key in timings]


def training_param_name(*, key: str) -> str:
    return PARAMS[key][0] if key in PARAMS else key


def training_param_value(*, key: str, value: Any) -> str:
    if value is None:
        return "—"
    return PARAMS[key][1](value) if key in PARAMS else str(value)
