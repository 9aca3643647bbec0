"""Tiny models with the training artifact contract, and versions made from them.

The models are built directly with Keras (no training): Rescaling -> 3x3 conv -> pooling ->
dense softmax with fixed weights, so a red image is "red" for model A. Model B permutes the
labels (a red image becomes "blue"), so re-running the history with it changes every prediction."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from inference import services
from inference.models import ModelVersion
from projects.models import Label, Project
from training.models import TrainingRun

LABELS = ["red", "green", "blue"]
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 50, 220)}
SIZE = 32
PREPROCESSING = {
    "version": "1",
    "input_size": SIZE,
    "input_shape": [SIZE, SIZE, 3],
    "color": "RGB",
    "resize": "shorter_side_then_center_crop",
    "resample": "bilinear",
    "input_range": [0, 255],
    "dtype": "float32",
    "scaling": "x / 255 (Rescaling layer inside the model)",
}


def build_model(permutation: list[int]):
    import keras

    inp = keras.Input((SIZE, SIZE, 3), name="image")
    x = keras.layers.Rescaling(1 / 255.0, name="scaling")(inp)
    conv = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="conv")
    x = conv(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    dense = keras.layers.Dense(3, activation="softmax", name="predictions")
    out = dense(x)
    model = keras.Model(inp, out)
    kernel = np.zeros((3, 3, 3, 3), np.float32)
    kernel[1, 1] = np.eye(3)
    conv.set_weights([kernel, np.zeros(3, np.float32)])
    dense.set_weights([np.eye(3, dtype=np.float32)[:, permutation] * 12, np.full(3, -4.0)])
    return model


@pytest.fixture(scope="session")
def model_files(tmp_path_factory) -> dict[str, Path]:
    """model A (right labels) and model B (labels permuted), saved as model.keras."""
    root = tmp_path_factory.mktemp("models")
    paths = {}
    for name, perm in (("a", [0, 1, 2]), ("b", [1, 2, 0])):
        path = root / name / "model.keras"
        path.parent.mkdir()
        build_model(perm).save(path)
        paths[name] = path
    return paths


def colour_jpeg(name: str, size: tuple[int, int] = (64, 48), seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    arr = np.clip(np.array(COLOURS[name], np.float32) + rng.normal(0, 10, (size[1], size[0], 3)),
                  0, 255).astype(np.uint8)  # fmt: skip
    out = io.BytesIO()
    Image.fromarray(arr).save(out, "JPEG", quality=90)
    return out.getvalue()


def grey_jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    """A photo of none of the labels: grey, unlike red, green and blue."""
    rng = np.random.default_rng(5)
    arr = np.clip(140 + rng.normal(0, 10, (size[1], size[0], 3)), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(arr).save(out, "JPEG", quality=90)
    return out.getvalue()


def _metrics(acc: float, f1s: list[float]) -> dict:
    return {
        "val_accuracy": acc,
        "val_loss": 0.3,
        "val_count": 6,
        "macro_f1": round(sum(f1s) / len(f1s), 4),
        "per_label": [
            {"label": n, "precision": f, "recall": f, "f1": f, "support": 2}
            for n, f in zip(LABELS, f1s, strict=True)
        ],
    }


def unknown_detector():
    """The real detector fitted on what the tiny models' pooling layer gives for noisy red,
    green and blue images (about the colour / 255): grey or white images are unlike them."""
    from training.ml.unknown import fit_unknown_detector

    rng = np.random.default_rng(0)
    colours = np.array([COLOURS[n] for n in LABELS], np.float32) / 255
    y = np.repeat(np.arange(3), 12)
    features = np.clip(colours[y] + rng.normal(0, 0.04, (len(y), 3)), 0, None)
    detector, info = fit_unknown_detector(features, y, LABELS, seed=0)
    detector.temperature = 2.0
    return detector, info


@pytest.fixture
def make_version(model_files) -> Callable[..., ModelVersion]:
    def make(
        project: Project,
        *,
        model: str = "a",
        acc: float = 0.9,
        f1s: tuple[float, ...] = (0.9, 0.8, 1.0),
        params: dict | None = None,
        snapshot: list | None = None,
        unknown: bool = False,
    ) -> ModelVersion:
        for name in LABELS:
            Label.objects.get_or_create(project=project, name=name)
        number = project.runs.order_by("-number").values_list("number", flat=True).first() or 0
        number += 1
        prefix = f"projects/{project.pk}/runs/{number}/"
        files = {
            "model.keras": model_files[model].read_bytes(),
            "labels.json": json.dumps(LABELS).encode(),
            "preprocessing.json": json.dumps(PREPROCESSING).encode(),
            "metrics.json": json.dumps(_metrics(acc, list(f1s))).encode(),
            "run.json": b"{}",
        }
        metrics = _metrics(acc, list(f1s))
        if unknown:
            detector, metrics["unknown"] = unknown_detector()
            files["unknown.npz"] = detector.to_bytes()
        for name, data in files.items():
            default_storage.save(prefix + name, ContentFile(data))
        run = TrainingRun.objects.create(
            project=project,
            number=number,
            status=TrainingRun.Status.SUCCEEDED,
            params=params or {"epochs": 10, "learning_rate": 0.001},
            labels=LABELS,
            snapshot=snapshot if snapshot is not None else [[1, 0], [2, 1], [3, 2]],
            image_count=len(snapshot) if snapshot is not None else 3,
            metrics=metrics,
            best_val_accuracy=acc,
            artifact_prefix=prefix,
            finished_at=timezone.now(),
        )
        return services.model_version_create_for_run(run=run)

    return make


@pytest.fixture
def ai(owner) -> Project:
    return Project.objects.create(owner=owner, name="Colours")


@pytest.fixture
def public_ai(owner) -> Project:
    return Project.objects.create(
        owner=owner, name="Public colours", visibility=Project.Visibility.PUBLIC
    )


@pytest.fixture
def published(ai, make_version, owner) -> ModelVersion:
    """`ai` with v1 as its default."""
    version = make_version(ai)
    services.model_version_set_default(version=version, user=owner, note="first")
    version.refresh_from_db()
    return version


@pytest.fixture
def public_published(public_ai, make_version, owner) -> ModelVersion:
    version = make_version(public_ai)
    services.model_version_set_default(version=version, user=owner, note="first")
    version.refresh_from_db()
    return version


def _clear_limits() -> None:
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    prefix = cache.make_key("")  # e.g. "aimaker-test:1:"
    for pattern in (f"{prefix}ratelimit:*", f"{prefix}throttle_*"):
        for key in client.scan_iter(match=pattern):
            client.delete(key)


@pytest.fixture(autouse=True)
def _inference_settings(settings) -> None:  # noqa: PT004
    settings.AIMAKER_SERVING_WARM_ON_DEFAULT = False  # no background loads racing the tests
    settings.AIMAKER_SERVING_RUNTIME = "keras"  # fast loads; test_serving checks ONNX agrees
    settings.AIMAKER_PREDICT_RATE_PER_MINUTE = 1000
    _clear_limits()
