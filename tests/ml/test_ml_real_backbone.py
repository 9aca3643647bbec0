"""One end-to-end run with the real MobileNetV2 ImageNet weights on a handful of images."""

from __future__ import annotations

import os

import numpy as np
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
    if result.extract_runtime != "onnx":  # GPU or jax/torch: the server converts at first use
        assert result.onnx_path is None
        return
    # The ONNX serving model (cached backbone + head, mirrored in-graph) predicts the same.
    import onnxruntime as ort

    session = ort.InferenceSession(result.onnx_path, providers=["CPUExecutionProvider"])
    x = predictor.preprocess([Image.open(s.path) for s in fresh])
    onnx_probs = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(onnx_probs, probs, atol=2e-3)


@pytest.mark.skipif(not os.path.isfile(REAL_WEIGHTS), reason="MobileNetV2 weights not found")
def test_it_extracts_the_same_mobilenet_v2_features_with_onnx_runtime_and_keras(tmp_path):
    from training.ml.backbones import build_feature_model, get_spec
    from training.ml.data import load_image
    from training.ml.extractor import feature_extractor

    model = build_feature_model(get_spec("mobilenet_v2"), REAL_WEIGHTS)[0]
    samples = make_dataset(tmp_path / "images", per_label=2)
    x = np.stack([load_image(s.path, 224) for s in samples])

    ex = feature_extractor(model, cache_dir=str(tmp_path), namespace="mnv2", runtime="onnx")

    assert ex.runtime == "onnx"
    np.testing.assert_allclose(ex.predict(x), np.asarray(model.predict_on_batch(x)), atol=2e-3)
