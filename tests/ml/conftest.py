"""Tiny synthetic images and helpers for the learning-core tests (no Django needed)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.ml import Sample, TrainParams

REAL_WEIGHTS = os.environ.get(
    "AIMAKER_BACKBONE_WEIGHTS",
    str(
        Path(__file__).resolve().parents[2]
        / ".."
        / "shared"
        / "models"
        / "mobilenet_v2_1.0_224_imagenet_no_top.weights.h5"
    ),
)
LABELS = ["red", "green", "blue"]
COLOURS = [(220, 30, 30), (30, 200, 40), (30, 50, 220)]


def make_image(path: Path, colour: tuple[int, int, int], seed: int, size=(64, 48)) -> Sample:
    """A noisy solid-colour JPEG; non-square so the centre crop is exercised."""
    rng = np.random.default_rng(seed)
    arr = np.clip(
        np.array(colour, dtype=np.float32) + rng.normal(0, 25, (size[1], size[0], 3)), 0, 255
    ).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, quality=90)
    return Sample(str(path), -1, hashlib.sha256(path.read_bytes()).hexdigest())


def make_dataset(root: Path, per_label: int = 8, seed: int = 0) -> list[Sample]:
    samples = []
    for y, colour in enumerate(COLOURS):
        for i in range(per_label):
            s = make_image(root / LABELS[y] / f"{i}.jpg", colour, seed * 1000 + y * 100 + i)
            s.label = y
            samples.append(s)
    return samples


def tiny_params(**overrides) -> TrainParams:
    base = dict(
        backbone="tiny_test",
        epochs=12,
        batch_size=16,
        learning_rate=0.1,
        patience=12,
        validation_split=0.25,
        augmentation=False,
        seed=1,
    )
    base.update(overrides)
    return TrainParams(**base)


TINY = "random:test-only"


@pytest.fixture
def dataset(tmp_path: Path) -> list[Sample]:
    return make_dataset(tmp_path / "images")


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, str]:
    return {"cache_dir": str(tmp_path / "cache"), "out_dir": str(tmp_path / "out")}
