"""Feature extraction through ONNX Runtime: Keras' features, converted once, safe fallbacks."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from training.ml import extractor as extractor_module
from training.ml.extractor import feature_extractor

from .test_ml_training import run


def tiny_feature_model():
    import keras

    from training.ml.backbones import build_feature_model, get_spec

    keras.utils.set_random_seed(3)
    return build_feature_model(get_spec("tiny_test"), "random:test-only")[0]


def images(n: int = 5) -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 255, (n, 32, 32, 3)).astype(np.float32)


def onnx_files(cache_dir: str) -> list[str]:
    return sorted(p.name for p in Path(cache_dir, "onnx").glob("*.onnx"))


def test_it_gives_the_keras_features_and_converts_once(tmp_path):
    model = tiny_feature_model()
    conversions = []
    first = feature_extractor(
        model, cache_dir=str(tmp_path), namespace="tiny-a", runtime="onnx",
        on_convert=lambda: conversions.append(1),
    )  # fmt: skip
    second = feature_extractor(
        model, cache_dir=str(tmp_path), namespace="tiny-a", runtime="onnx",
        on_convert=lambda: conversions.append(1),
    )  # fmt: skip

    x = images()
    assert first.runtime == second.runtime == "onnx"
    np.testing.assert_allclose(first.predict(x), np.asarray(model.predict_on_batch(x)), atol=1e-4)
    np.testing.assert_allclose(second.predict(x), first.predict(x), atol=1e-6)
    assert conversions == [1]
    assert first.convert_seconds is not None and second.convert_seconds is None
    assert onnx_files(str(tmp_path)) == ["tiny-a.onnx"]


def test_it_converts_again_when_the_cached_file_is_corrupt(tmp_path, caplog):
    model = tiny_feature_model()
    path = tmp_path / "onnx" / "tiny-b.onnx"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"half a file")

    with caplog.at_level(logging.WARNING):
        ex = feature_extractor(model, cache_dir=str(tmp_path), namespace="tiny-b", runtime="onnx")

    assert ex.runtime == "onnx" and ex.convert_seconds is not None
    assert path.stat().st_size > 1000
    assert "converting the backbone again" in caplog.text
    x = images(2)
    np.testing.assert_allclose(ex.predict(x), np.asarray(model.predict_on_batch(x)), atol=1e-4)


def test_it_falls_back_to_keras_when_conversion_fails(tmp_path, monkeypatch, caplog):
    def broken(model, path):
        raise RuntimeError("tf2onnx cannot convert this")

    monkeypatch.setattr(extractor_module, "export_onnx", broken)
    model = tiny_feature_model()

    with caplog.at_level(logging.WARNING):
        ex = feature_extractor(model, cache_dir=str(tmp_path), namespace="tiny-c", runtime="onnx")

    assert ex.runtime == "keras"
    assert "extracting with Keras" in caplog.text
    x = images(2)
    np.testing.assert_allclose(ex.predict(x), np.asarray(model.predict_on_batch(x)), atol=1e-6)
    assert not os.path.exists(tmp_path / "onnx" / "tiny-c.onnx")


def test_it_refuses_an_unknown_runtime(tmp_path):
    with pytest.raises(ValueError, match="Unknown extraction runtime 'tflite'"):
        feature_extractor(object(), cache_dir=str(tmp_path), namespace="x", runtime="tflite")


def test_it_shares_the_feature_cache_across_runtimes(dataset, dirs):
    events: list[dict] = []
    first = run(dataset, dirs, extract_runtime="onnx", progress=events.append)
    again = run(dataset, dirs, extract_runtime="keras")

    assert first.extract_runtime == "onnx"
    assert "converting" in first.timings
    assert "converting" in {e["phase"] for e in events}
    assert first.metrics["val_accuracy"] == 1.0
    # Every feature came from the cache: the backbone neither ran nor was converted.
    assert again.cache_hits == len(dataset) and again.cache_misses == 0
    assert again.extract_runtime is None and "converting" not in again.timings
    assert again.metrics["val_accuracy"] == first.metrics["val_accuracy"]


@pytest.mark.parametrize("mirrored", [True, False])
def test_it_saves_an_onnx_serving_model_that_predicts_like_the_keras_one(dataset, dirs, mirrored):
    import onnxruntime as ort

    from training.ml import load_image, load_predictor

    from .conftest import tiny_params

    result = run(dataset, dirs, params=tiny_params(augmentation=mirrored), extract_runtime="onnx")

    assert result.onnx_path and os.path.isfile(result.onnx_path)
    session = ort.InferenceSession(result.onnx_path, providers=["CPUExecutionProvider"])
    x = np.stack([load_image(s.path, 32) for s in dataset[::3]])
    onnx_probs, onnx_features = session.run(None, {session.get_inputs()[0].name: x})
    keras_probs, keras_features = load_predictor(result.model_path).predict_both(x)
    assert onnx_probs.shape == (len(x), 3)
    np.testing.assert_allclose(onnx_probs, keras_probs, atol=1e-5)
    # The second output feeds the unknown-detector: the same features from both runtimes.
    assert [o.name for o in session.get_outputs()] == ["probabilities", "features"]
    np.testing.assert_allclose(onnx_features, keras_features, atol=1e-4)


def test_it_leaves_the_onnx_serving_model_to_the_server_when_extracting_with_keras(dataset, dirs):
    result = run(dataset, dirs, extract_runtime="keras")

    assert result.extract_runtime == "keras" and result.onnx_path is None
    assert not os.path.exists(os.path.join(dirs["out_dir"], "model.onnx"))
