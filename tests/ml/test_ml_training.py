"""Learning core end to end on tiny synthetic images (tiny test-only backbone: fast)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.ml import (
    BackboneUnavailable,
    TrainingCancelled,
    TrainParams,
    load_image,
    load_predictor,
    preprocess_image,
    stratified_split,
    train,
)
from training.ml.unknown import UnknownDetector

from .conftest import COLOURS, LABELS, TINY, make_dataset, make_image, tiny_params

ROOT = Path(__file__).resolve().parents[2]


def run(samples, dirs, params=None, **kwargs):
    return train(
        samples=samples,
        labels=LABELS,
        params=params or tiny_params(),
        backbone_weights=kwargs.pop("backbone_weights", TINY),
        cache_dir=dirs["cache_dir"],
        out_dir=dirs["out_dir"],
        **kwargs,
    )


def test_it_trains_predicts_the_learnt_colours_and_reports_progress(dataset, dirs, tmp_path):
    events: list[dict] = []
    result = run(dataset, dirs, progress=events.append)

    assert os.path.isfile(result.model_path)
    assert result.metrics["val_accuracy"] == 1.0
    assert result.cache_misses == len(dataset) and result.cache_hits == 0
    assert result.preprocessing["resize"] == "shorter_side_then_center_crop"
    assert result.preprocessing["input_size"] == 32
    assert result.backbone["name"] == "tiny_test" and result.backbone["test_only"]
    cm = np.array(result.metrics["confusion_matrix"])
    assert cm.shape == (3, 3) and cm.sum() == result.metrics["val_count"]
    assert [p["label"] for p in result.metrics["per_label"]] == LABELS
    assert result.history and {"loss", "val_loss", "val_accuracy"} <= set(result.history[0])
    assert set(result.timings) >= {"preparing", "extracting", "training", "saving", "total"}
    # The unknown-detector, fitted on every training image, keeps the project's own images.
    unknown = result.metrics["unknown"]
    assert unknown["method"] == "knn_cosine" and unknown["images"] == len(dataset)
    assert [p["label"] for p in unknown["held_out"]["per_label"]] == LABELS
    detector = UnknownDetector.from_bytes(Path(result.unknown_path).read_bytes())
    assert detector.threshold == pytest.approx(unknown["threshold"], abs=1e-6)

    predictor = load_predictor(result.model_path)
    fresh = [make_image(tmp_path / "new" / f"{i}.jpg", c, 999 + i) for i, c in enumerate(COLOURS)]
    probs = predictor.predict([Image.open(s.path) for s in fresh])
    assert probs.shape == (3, 3)
    assert probs.argmax(axis=1).tolist() == [0, 1, 2]
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    _, features = predictor.predict_both(predictor.preprocess([Image.open(s.path) for s in fresh]))
    # What the served model gives is what the detector was fitted on: one row per image.
    assert features.shape == (3, detector.reference.shape[1])
    assert detector.reference.shape[0] == len(dataset)

    phases = {e["phase"] for e in events}
    assert {"preparing", "extracting", "training", "evaluating", "saving"} <= phases
    assert all("elapsed" in e for e in events)
    extracting = [e for e in events if e["phase"] == "extracting"]
    assert extracting[-1]["done"] == extracting[-1]["total"] == len(dataset)
    batches = [e for e in events if e["phase"] == "training" and "batch" in e]
    assert {"epoch", "epochs", "batch", "batches", "loss", "accuracy", "eta"} <= set(batches[0])
    epochs = [e for e in events if e.get("event") == "epoch"]
    assert epochs and {"val_loss", "val_accuracy", "loss", "accuracy"} <= set(epochs[0])


def test_it_computes_only_new_images_on_retrain(dataset, dirs, tmp_path):
    run(dataset, dirs)
    # Cache hits must not even open the image: break every already-seen file.
    for s in dataset:
        Path(s.path).write_bytes(b"not an image any more")
    extra = [make_image(tmp_path / "more" / f"{y}.jpg", COLOURS[y], 500 + y) for y in (0, 2)]
    extra[0].label, extra[1].label = 0, 2

    result = run(dataset + extra, dirs)

    assert result.cache_misses == 2
    assert result.cache_hits == len(dataset)
    assert result.extract_images_per_s is not None


def test_it_raises_training_cancelled_when_asked_to_stop(dataset, dirs):
    calls = {"n": 0}

    def should_stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 3  # let extraction pass, stop in the first training batches

    with pytest.raises(TrainingCancelled):
        run(dataset, dirs, should_stop=should_stop)
    assert not os.path.exists(os.path.join(dirs["out_dir"], "model.keras"))


def test_it_refuses_to_train_without_pretrained_weights(dataset, dirs, tmp_path):
    missing = str(tmp_path / "nope.weights.h5")
    with pytest.raises(BackboneUnavailable, match="not found"):
        run(dataset, dirs, params=tiny_params(backbone="mobilenet_v2"), backbone_weights=missing)
    # Random weights only for the test-only backbone, and only on explicit opt-in.
    with pytest.raises(BackboneUnavailable, match="random weights"):
        run(dataset, dirs, params=tiny_params(backbone="mobilenet_v2"), backbone_weights=TINY)
    with pytest.raises(BackboneUnavailable, match="random weights"):
        run(dataset, dirs, backbone_weights=None)


def test_it_splits_stratified_with_every_label_in_validation():
    labels = [0] * 20 + [1] * 3 + [2] * 2
    keys = [f"k{i}" for i in range(len(labels))]
    train_idx, val_idx = stratified_split(labels, keys, 0.1, 42, 3)

    assert sorted(np.concatenate([train_idx, val_idx]).tolist()) == list(range(len(labels)))
    assert {labels[i] for i in val_idx} == {0, 1, 2}
    assert {labels[i] for i in train_idx} == {0, 1, 2}
    assert sum(labels[i] == 0 for i in val_idx) == 2
    # Stable under additions: existing images keep their side of the split.
    _, val2 = stratified_split(labels + [0] * 3, keys + ["n1", "n2", "n3"], 0.1, 42, 3)
    assert len(set(val_idx.tolist()) & set(val2.tolist())) >= len(val_idx) - 1
    with pytest.raises(ValueError, match="at least 2"):
        stratified_split([0, 0, 1], ["a", "b", "c"], 0.1, 42, 2)


def test_it_flags_a_mislabelled_image_among_the_doubts(dirs, tmp_path):
    samples = make_dataset(tmp_path / "images", per_label=10)
    wrong = samples[3]  # a red image...
    wrong.label = 2  # ...labelled blue

    result = run(samples, dirs)

    doubts = result.metrics["doubts"]
    assert [d["index"] for d in doubts] == [3]  # and nothing else
    assert doubts[0]["given"] == 2 and doubts[0]["suggested"] == 0
    assert doubts[0]["confidence"] > 0.5 > doubts[0]["p_given"]
    assert result.metrics["doubts_info"]["method"] == "confident_learning"


def test_it_still_trains_when_the_label_check_or_the_detector_fails(dataset, dirs, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no scikit-learn here")

    import sys

    monkeypatch.setattr(sys.modules["training.ml.train"], "find_doubts", broken)
    monkeypatch.setattr(sys.modules["training.ml.train"], "fit_unknown_detector", broken)
    result = run(dataset, dirs)
    assert os.path.isfile(result.model_path)
    assert result.metrics["doubts"] == []
    assert result.metrics["doubts_info"]["error"] == "no scikit-learn here"
    # Nor without the unknown-detector: its predictions then say unknown: null.
    assert result.unknown_path is None
    assert result.metrics["unknown"]["error"] == "no scikit-learn here"


def test_it_resumes_finetuning_from_the_last_completed_epoch(dataset, dirs, tmp_path):
    params = tiny_params(
        mode="finetune",
        epochs=3,
        finetune_epochs=3,
        finetune_layers=2,
        finetune_learning_rate=1e-3,
        augmentation=True,
    )
    resume = str(tmp_path / "resume")
    first: list[dict] = []

    def stop_after_first_epoch() -> bool:
        return any(e.get("event") == "epoch" and e["phase"] == "finetuning" for e in first)

    with pytest.raises(TrainingCancelled):
        run(
            dataset,
            dirs,
            params=params,
            progress=first.append,
            should_stop=stop_after_first_epoch,
            resume_dir=resume,
        )
    assert os.path.isfile(os.path.join(resume, "finetune_state.json"))

    second: list[dict] = []
    result = run(dataset, dirs, params=params, progress=second.append, resume_dir=resume)

    assert {"event": "resumed", "epoch": 1}.items() <= next(
        e for e in second if e.get("event") == "resumed"
    ).items()
    ft_epochs = [
        e["epoch"] for e in second if e.get("event") == "epoch" and e["phase"] == "finetuning"
    ]
    assert ft_epochs == [2, 3]
    assert [h["epoch"] for h in result.history if h["phase"] == "finetuning"] == [1, 2, 3]
    assert not [e for e in second if e["phase"] == "training"]  # head came from the checkpoint
    assert os.path.isfile(result.model_path)


def test_it_loads_a_predictor_matching_the_trained_model(dataset, dirs):
    import keras

    result = run(dataset, dirs, params=tiny_params(augmentation=True))  # TTA model
    predictor = load_predictor(result.model_path)
    images = [Image.open(s.path) for s in dataset]

    probs = predictor.predict(images)

    model = keras.saving.load_model(result.model_path, safe_mode=True)
    expected = keras.ops.convert_to_numpy(
        model(np.stack([load_image(s.path, 32) for s in dataset]))
    )
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    # The evaluation (done on cached features) agrees with the saved end-to-end model.
    _, val_idx = stratified_split([s.label for s in dataset], [s.key for s in dataset], 0.25, 1, 3)
    acc = float((probs[val_idx].argmax(1) == np.array([dataset[i].label for i in val_idx])).mean())
    assert acc == pytest.approx(result.metrics["val_accuracy"])
    single = predictor.predict([images[0]])
    np.testing.assert_allclose(single[0], probs[0], atol=1e-5)


def test_it_resizes_the_shorter_side_then_crops_the_centre():
    img = Image.new("RGB", (300, 100), (0, 0, 255))
    img.paste((255, 0, 0), (100, 0, 200, 100))  # the centre square is red
    out = preprocess_image(img, 50)
    assert out.shape == (50, 50, 3) and out.dtype == np.float32
    assert np.allclose(out[:, 2:-2], [255, 0, 0], atol=2)
    rgba = Image.new("RGBA", (40, 60), (0, 0, 0, 0))
    assert np.allclose(preprocess_image(rgba, 20), 255)  # transparent -> white, not black
    assert preprocess_image(Image.new("L", (10, 10), 7), 4).shape == (4, 4, 3)


def test_it_validates_parameters_with_clear_messages():
    assert TrainParams.from_dict({"epochs": 3}).epochs == 3
    assert TrainParams.from_dict(TrainParams().to_dict()) == TrainParams()
    with pytest.raises(ValueError, match="Unknown training parameter"):
        TrainParams.from_dict({"epoch": 3})
    with pytest.raises(ValueError, match="mode"):
        TrainParams(mode="slow").validate()
    with pytest.raises(ValueError, match="validation_split"):
        TrainParams(validation_split=1.0).validate()
    with pytest.raises(ValueError, match="backbone"):
        TrainParams(backbone="vgg").validate()
    with pytest.raises(ValueError, match="batch_size"):
        TrainParams(batch_size=True).validate()


def test_it_imports_without_keras_or_django():
    code = (
        "import sys, training.ml; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow', 'django')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
