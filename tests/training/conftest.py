"""Training test fixtures: the test-only tiny backbone everywhere (this process and the worker
and server subprocesses, through the environment), a low image minimum, generated images."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image as PILImage

from projects.models import Label, Project
from training.ml import TEST_ONLY_WEIGHTS

MIN_IMAGES = 3
COLOURS = {"cat": (220, 30, 30), "dog": (30, 50, 220), "bird": (30, 200, 40)}


@pytest.fixture(autouse=True)
def tiny_backbone(settings, monkeypatch, tmp_path):
    # Autouse fixtures run before rq_worker/live_asgi: their subprocesses inherit the env.
    cache = tmp_path / "feature-cache"
    for name, value in {
        "AIMAKER_BACKBONE_WEIGHTS": TEST_ONLY_WEIGHTS,
        "AIMAKER_MIN_IMAGES_PER_LABEL": str(MIN_IMAGES),
        "AIMAKER_FEATURE_CACHE_DIR": str(cache),
    }.items():
        monkeypatch.setenv(name, value)
    settings.AIMAKER_BACKBONE_WEIGHTS = TEST_ONLY_WEIGHTS
    settings.AIMAKER_MIN_IMAGES_PER_LABEL = MIN_IMAGES
    settings.AIMAKER_FEATURE_CACHE_DIR = cache


def jpeg_bytes(colour: tuple[int, int, int], seed: int, size=(48, 40)) -> bytes:
    rng = np.random.default_rng(seed)
    arr = np.clip(
        np.array(colour, dtype=np.float32) + rng.normal(0, 25, (size[1], size[0], 3)), 0, 255
    ).astype(np.uint8)
    buf = io.BytesIO()
    PILImage.fromarray(arr).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def add_images(project: Project, label: Label, count: int, seed: int = 0) -> list:
    from datasets.services import image_ingest

    colour = COLOURS.get(label.name, (120, 120, 120))
    images = []
    for i in range(count):
        outcome = image_ingest(
            project=project, label=label, data=jpeg_bytes(colour, seed * 1000 + label.pk * 100 + i),
            source="upload", added_by=project.owner, original_name=f"{label.name}-{i}.jpg",
        )  # fmt: skip
        assert outcome.status == "added", outcome.reason
        images.append(outcome.image)
    return images


def fill(project: Project, per_label: int = 4) -> None:
    for label in project.labels.all():
        add_images(project, label, per_label)


@pytest.fixture
def ready_project(project) -> Project:
    """Cats or dogs with 4 images per label: enough to train."""
    fill(project, 4)
    return project


TINY_PARAMS = {"epochs": 3, "batch_size": 4, "learning_rate": 0.05, "validation_split": 0.25,
               "augmentation": False, "seed": 1}  # fmt: skip


@pytest.fixture(autouse=True)
def _empty_training_queue():
    import django_rq

    queue = django_rq.get_queue("training")
    queue.empty()
    yield
    queue.empty()


def make_run(project: Project, **fields):
    """A run row as a worker would have left it (no training)."""
    from training.models import TrainingRun

    labels = list(project.labels.order_by("pk"))
    number = (project.runs.count() or 0) + 1
    defaults = {
        "number": number,
        "params": {"mode": "quick", "epochs": 3},
        "labels": [label.name for label in labels],
        "label_ids": [label.pk for label in labels],
        "snapshot": [],
        "status": TrainingRun.Status.SUCCEEDED,
    }
    defaults.update(fields)
    return TrainingRun.objects.create(project=project, **defaults)
