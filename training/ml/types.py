"""Plain data types of the learning core (no Keras import here: the web process imports this)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .backbones import BACKBONES

MODES = ("quick", "finetune")


class TrainingCancelled(Exception):
    """Raised when should_stop() asked the run to stop; nothing is written to out_dir."""


@dataclass
class TrainParams:
    mode: str = "quick"  # "quick" (frozen backbone, cached features) | "finetune"
    epochs: int = 30  # max head epochs (early stopping on val_loss)
    batch_size: int = 32
    learning_rate: float = 1e-3
    validation_split: float = 0.1  # stratified, at least 1 image per label in validation
    augmentation: bool = True  # quick: flipped-image features; finetune: random image layers
    finetune_layers: int = 30  # top backbone layers unfrozen in finetune mode
    finetune_epochs: int = 5
    finetune_learning_rate: float = 1e-5
    seed: int = 42
    backbone: str = "mobilenet_v2"
    dropout: float = 0.2
    patience: int = 5

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> TrainParams:
        """Build from a (JSON) dict; unknown keys are an error so typos do not pass silently."""
        data = dict(data or {})
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"Unknown training parameter(s): {', '.join(unknown)}")
        params = cls(**data)
        params.validate()
        return params

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self) -> TrainParams:
        def check(ok: bool, message: str) -> None:
            if not ok:
                raise ValueError(message)

        def is_int(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        def is_num(v: Any) -> bool:
            return isinstance(v, (int, float)) and not isinstance(v, bool)

        check(self.mode in MODES, f"mode must be one of {MODES}, got {self.mode!r}")
        # Bounds keep one run from holding a shared training worker for days.
        check(is_int(self.epochs) and 1 <= self.epochs <= 500, "epochs must be an integer 1..500")
        check(
            is_int(self.batch_size) and 1 <= self.batch_size <= 512,
            "batch_size must be an integer 1..512",
        )
        check(
            is_num(self.learning_rate) and 0 < self.learning_rate <= 1,
            "learning_rate must be a number in (0, 1]",
        )
        check(
            is_num(self.validation_split) and 0 < self.validation_split < 1,
            "validation_split must be a number strictly between 0 and 1",
        )
        check(isinstance(self.augmentation, bool), "augmentation must be true or false")
        check(
            is_int(self.finetune_layers) and 1 <= self.finetune_layers <= 300,
            "finetune_layers must be an integer 1..300",
        )
        check(
            is_int(self.finetune_epochs) and 1 <= self.finetune_epochs <= 100,
            "finetune_epochs must be an integer 1..100",
        )
        check(
            is_num(self.finetune_learning_rate) and 0 < self.finetune_learning_rate <= 1,
            "finetune_learning_rate must be a number in (0, 1]",
        )
        check(is_int(self.seed) and 0 <= self.seed < 2**31, "seed must be an integer 0..2^31-1")
        check(
            self.backbone in BACKBONES,
            f"backbone must be one of {sorted(BACKBONES)}, got {self.backbone!r}",
        )
        check(is_num(self.dropout) and 0 <= self.dropout < 1, "dropout must be a number in [0, 1)")
        check(is_int(self.patience) and 1 <= self.patience <= 100, "patience must be 1..100")
        return self


@dataclass
class Sample:
    path: str  # an image file of any size/format Pillow reads
    label: int  # index into labels
    key: str  # content hash of the image: the feature-cache key


@dataclass
class TrainResult:
    model_path: str
    onnx_path: str | None  # the same model for ONNX Runtime, when this worker could build it
    unknown_path: str | None  # the unknown-detector (unknown.npz), when there were enough images
    labels: list[str]
    preprocessing: dict[str, Any]
    backbone: dict[str, Any]
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    timings: dict[str, float]
    extract_images_per_s: float | None
    extract_runtime: str | None  # "onnx" | "keras"; None when every feature came from the cache
    cache_hits: int
    cache_misses: int
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
