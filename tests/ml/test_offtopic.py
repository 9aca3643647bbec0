"""Off-topic images: the few unlike their label's others stand out; a uniform label has none."""

import numpy as np

from training.ml.offtopic import MIN_IMAGES, Z_CUTOFF, offtopic_scores


def test_it_flags_the_planted_images_and_nothing_else():
    rng = np.random.default_rng(0)
    hats = rng.normal(0, 1, 64) + rng.normal(0, 0.15, (40, 64))  # one tight cluster
    shoes = rng.normal(0, 1, 64) + rng.normal(0, 0.15, (3, 64))  # three of another kind
    features = np.vstack([hats, shoes])
    labels = np.zeros(len(features), int)
    flagged = np.flatnonzero(offtopic_scores(features, labels) >= Z_CUTOFF)
    assert flagged.tolist() == [40, 41, 42]


def test_small_labels_are_not_judged():
    features = np.random.default_rng(1).normal(0, 1, (MIN_IMAGES - 1, 8))
    assert np.isnan(offtopic_scores(features, np.zeros(len(features), int))).all()
