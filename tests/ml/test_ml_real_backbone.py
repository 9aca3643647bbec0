"""One end-to-end run with the real MobileNetV2 ImageNet weights on a handful of images."""

from __future__ import annotations

import os

import pytest
from PIL import Image

from training.ml import load_predictor, train

from .conftest import COLOURS, LABELS, REAL_WEIGHTS, make_dataset, make_image, tiny_params


@pytest.mark.skipif(
    not os.path.isfile(REAL_WEIGHTS),
    reason=f"MobileNetV2 weights not found at {REAL_WEIGHTS} (set AIMAKER_BACKBONE_WEIGHTS)",
)
def test_it_trains_with_the_real_mobilenet_v2_weights(tmp_path):
    samples = make_dataset(tmp_path / "images", per_label=4)
    params = tiny_params(
        backbone="mobilenet_v2", epochs=8, learning_rate=1e-2, batch_size=8, augmentation=True
    )

    result = train(
        samples=samples,
        labels=LABELS,
        params=params,
        backbone_weights=REAL_WEIGHTS,
        cache_dir=str(tmp_path / "cache"),
        out_dir=str(tmp_path / "out"),
    )

    assert result.backbone["feature_dim"] == 1280
    assert result.preprocessing["input_size"] == 224
    assert "127.5" in result.preprocessing["scaling"]
    predictor = load_predictor(result.model_path)  # safe_mode load of the TTA model
    fresh = [make_image(tmp_path / "new" / f"{i}.jpg", c, 77 + i) for i, c in enumerate(COLOURS)]
    probs = predictor.predict([Image.open(s.path) for s in fresh])
    assert result.metrics["val_accuracy"] == 1.0, result.timings
    assert probs.argmax(axis=1).tolist() == [0, 1, 2]
