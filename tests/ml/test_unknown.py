"""The unknown-detector and temperature scaling (NumPy only)."""

from __future__ import annotations

import numpy as np

from training.ml.unknown import (
    UnknownDetector,
    calibrate,
    fit_temperature,
    fit_unknown_detector,
)


def _clusters(rng, per_label: int, labels: int = 3, dim: int = 64):
    """Labels as tight clusters around random directions (backbone features are like this)."""
    centres = rng.normal(0, 1, (labels, dim)) + 3
    y = np.repeat(np.arange(labels), per_label)
    return np.abs(centres[y] + rng.normal(0, 0.6, (len(y), dim))), y, centres


def test_it_rejects_unrelated_things_and_keeps_about_95_percent_of_its_own():
    rng = np.random.default_rng(0)
    x, y, centres = _clusters(rng, 60)
    detector, info = fit_unknown_detector(x, y, ["a", "b", "c"], seed=0)
    new_own, _, _ = _clusters(np.random.default_rng(1), 100)
    new_own = np.abs(centres[np.repeat(np.arange(3), 100)] + rng.normal(0, 0.6, new_own.shape))
    unrelated = np.abs(rng.normal(0, 1, (200, 64)) * 3)
    own_rejected = (detector.scores(new_own) > detector.threshold).mean()
    unrelated_rejected = (detector.scores(unrelated) > detector.threshold).mean()
    assert own_rejected <= 0.12
    assert unrelated_rejected >= 0.95
    assert info["threshold"] == round(detector.threshold, 6)
    assert len(info["own_quantiles"]) == 101
    assert info["own_quantiles"] == sorted(info["own_quantiles"])


def test_it_reports_each_label_held_out_in_turn():
    rng = np.random.default_rng(2)
    x, y, _ = _clusters(rng, 30, labels=4)
    _, info = fit_unknown_detector(x, y, ["a", "b", "c", "d"], seed=0)
    held = info["held_out"]
    assert [p["label"] for p in held["per_label"]] == ["a", "b", "c", "d"]
    assert held["auroc"] > 0.95  # separate clusters: a label it never saw looks new
    assert held["rejected"] > 0.8


def test_it_needs_a_few_images():
    detector, info = fit_unknown_detector(np.ones((3, 8)), np.array([0, 1, 1]), ["a", "b"])
    assert detector is None
    assert "needs" in info["skipped"]


def test_it_round_trips_through_bytes():
    rng = np.random.default_rng(3)
    x, y, _ = _clusters(rng, 10)
    detector, _ = fit_unknown_detector(x, y, ["a", "b", "c"], seed=0)
    detector.temperature = 1.7
    again = UnknownDetector.from_bytes(detector.to_bytes())
    assert again.threshold == detector.threshold and again.temperature == 1.7
    np.testing.assert_allclose(again.scores(x[:5]), detector.scores(x[:5]), atol=1e-6)


def test_it_softens_overconfident_probabilities_without_changing_the_answer():
    rng = np.random.default_rng(4)
    n = 200
    y = rng.integers(0, 3, n)
    right = rng.random(n) < 0.7  # 70 % right, but always 99 % sure: over-confident
    predicted = np.where(right, y, (y + 1) % 3)
    probs = np.full((n, 3), 0.005)
    probs[np.arange(n), predicted] = 0.99
    t, info = fit_temperature(probs, y)
    assert t > 1.5
    assert info["log_loss_after"] < info["log_loss_before"]
    assert info["ece_after"] < info["ece_before"]
    calibrated = calibrate(probs, t)
    np.testing.assert_array_equal(calibrated.argmax(1), probs.argmax(1))
    np.testing.assert_allclose(calibrated.sum(1), 1, atol=1e-5)


def test_it_leaves_the_probabilities_alone_with_too_few_images():
    t, info = fit_temperature(np.array([[0.9, 0.1]] * 5), np.zeros(5, int))
    assert t == 1.0 and "needs" in info["skipped"]
