"""Finding mislabelled images: quiet on clean data, catches planted errors (synthetic features
shaped like a backbone's, then real MobileNetV2 features of clothing photos)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np
import pytest

from training.ml.evaluate import confident_learning, find_doubts

from .conftest import REAL_WEIGHTS

CLOTHING = Path(REAL_WEIGHTS).parents[1] / "datasets" / "clothing-small" / "train"


def blobs(k: int, per: int, dims: int, seed: int, spread: float = 1.0):
    """Non-negative pooled-activation-like features: one cluster per label, overlapping a bit."""
    rng = np.random.default_rng(seed)
    centres = rng.gamma(1.0, 1.0, (k, dims))
    y = np.repeat(np.arange(k), per)
    x = np.maximum(0, centres[y] + rng.normal(0, spread * 1.3, (len(y), dims)))
    return x.astype(np.float32), y


def plant(y: np.ndarray, k: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + 1)
    noisy = y.copy()
    planted = rng.choice(len(y), int(round(fraction * len(y))), replace=False)
    noisy[planted] = (y[planted] + rng.integers(1, k, len(planted))) % k
    return noisy, planted


def test_it_flags_nothing_on_clean_separable_data():
    x, y = blobs(k=3, per=25, dims=64, seed=0)
    flagged, info = find_doubts(x, y, 3, seed=1)
    assert len(flagged) <= 1, flagged
    assert info["oof_accuracy"] >= 0.95 and info["folds"] == 5


def test_it_finds_most_planted_errors_and_little_else():
    hits = found = planted_count = 0
    for seed in range(3):
        x, y = blobs(k=5, per=60, dims=128, seed=seed)
        noisy, planted = plant(y, 5, 0.05, seed)
        flagged, _ = find_doubts(x, noisy, 5, seed=seed)
        caught = {d["index"] for d in flagged} & set(planted.tolist())
        hits, found, planted_count = hits + len(caught), found + len(flagged), planted_count + 15
        for d in flagged:  # the suggestion is the true label, not another wrong one
            if d["index"] in caught:
                assert (d["given"], d["suggested"]) == (noisy[d["index"]], y[d["index"]])
    assert hits >= 0.8 * planted_count, (hits, planted_count)
    assert hits >= 0.7 * found, (hits, found)


def test_it_ranks_by_margin_and_reports_probabilities():
    x, y = blobs(k=4, per=30, dims=64, seed=3, spread=1.6)
    noisy, _ = plant(y, 4, 0.1, 3)
    flagged, _ = find_doubts(x, noisy, 4, seed=0)
    assert flagged
    margins = [d["margin"] for d in flagged]
    assert margins == sorted(margins, reverse=True)
    for d in flagged:
        assert d["confidence"] > d["p_given"] and d["suggested"] != d["given"]
        assert d["margin"] == pytest.approx(d["confidence"] - d["p_given"], abs=2e-4)


def test_it_only_flags_above_the_suggested_labels_threshold():
    # Label 1's own images average 0.9: an image of label 0 at 0.6 for label 1 is not enough,
    # however unsure it is of label 0; one at 0.95 is.
    probs = np.array(
        [[0.9, 0.1], [0.9, 0.1], [0.4, 0.6], [0.05, 0.95], [0.1, 0.9], [0.1, 0.9]]
    )  # fmt: skip
    y = np.array([0, 0, 0, 0, 1, 1])
    flagged = confident_learning(probs, y)
    assert [(d["index"], d["suggested"]) for d in flagged] == [(3, 1)]


def test_it_copes_with_tiny_or_lopsided_data():
    x, y = blobs(k=3, per=4, dims=16, seed=0)
    assert find_doubts(x[:5], np.array([0, 0, 0, 0, 1]), 3, seed=0)[0] == []  # 1 image of 1
    assert find_doubts(x[:4], np.zeros(4, dtype=np.int64), 2, seed=0)[0] == []  # one label
    flagged, info = find_doubts(x, y, 5, seed=0)  # labels 3 and 4 without images
    assert info["folds"] == 4 and all(d["suggested"] < 3 for d in flagged)


def test_it_takes_seconds_for_3000_images_of_1280_features():
    x, y = blobs(k=10, per=300, dims=1280, seed=0, spread=2.0)
    t = time.monotonic()
    find_doubts(x, y, 10, seed=0)
    assert time.monotonic() - t < 20  # ~3-4 s on 2 busy cores; generous for a loaded CI box


def _clothing(labels: list[str], per: int, seed: int):
    from training.ml import Sample

    rng = np.random.default_rng(seed)
    samples = []
    for y, name in enumerate(labels):
        files = sorted((CLOTHING / name).glob("*.jpg"))
        for f in rng.choice(files, per, replace=False):
            samples.append(Sample(str(f), y, hashlib.sha256(f.read_bytes()).hexdigest()))
    return samples


def _features(samples, tmp_path) -> np.ndarray:
    from training.ml.backbones import build_feature_model, get_spec
    from training.ml.features import FeatureCache, extract_features

    model = build_feature_model(get_spec("mobilenet_v2"), REAL_WEIGHTS)[0]
    cache = FeatureCache(str(tmp_path), "doubts-test")
    feats = extract_features(
        model.predict_on_batch, samples, cache, 224, 32, False, lambda: False, lambda e: None
    )
    return feats.orig


@pytest.mark.skipif(
    not (os.path.isfile(REAL_WEIGHTS) and CLOTHING.is_dir()),
    reason="needs the MobileNetV2 weights and clothing-small next to the repository",
)
def test_it_is_quiet_on_clean_clothing_photos_and_catches_moved_ones(tmp_path):
    labels = ["hat", "pants", "shoes"]
    samples = _clothing(labels, 25, seed=0)
    x = _features(samples, tmp_path)
    y = np.array([s.label for s in samples])

    clean, _ = find_doubts(x, y, 3, seed=0)
    assert len(clean) <= 3, clean

    # Move 4 photos to a wrong label, as a hurried user would.
    wrong = y.copy()
    moved = [3, 30, 55, 70]
    for i in moved:
        wrong[i] = (y[i] + 1) % 3
    flagged, _ = find_doubts(x, wrong, 3, seed=0)
    found = {d["index"]: d for d in flagged}
    assert len(set(moved) & set(found)) >= 3, flagged
    assert all(found[i]["suggested"] == y[i] for i in moved if i in found)
    assert len(found) <= len(moved) + 2, flagged
