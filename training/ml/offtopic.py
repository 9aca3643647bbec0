"""Which images of a label look unlike the label's others ("probably off-topic"): each image's
cosine distance to its label's mean direction in the backbone's feature space, judged by the
modified z-score of Iglewicz & Hoaglin (1993): 0.6745 (d - median) / MAD, an outlier above 3.5.
Both are standard and need no tuning per dataset; bench/offtopic.py measures them. (The Local
Outlier Factor ranked as well on clothing-small, but its scale in 1,280 dimensions gives no
fixed cut-off: sklearn's 1.5 flagged nothing, a z-score over it flagged 8 % of clean photos.)
Pure NumPy: no Django, no Keras."""

from __future__ import annotations

import numpy as np

Z_CUTOFF = 3.5
MIN_IMAGES = 8  # fewer and "unlike the others" means nothing


def offtopic_scores(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The modified z-score of every image within its label (NaN where the label has fewer
    than MIN_IMAGES images): flag those >= Z_CUTOFF."""
    x = np.asarray(features, np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    labels = np.asarray(labels)
    scores = np.full(len(x), np.nan)
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        if len(idx) < MIN_IMAGES:
            continue
        centre = x[idx].mean(axis=0)
        centre /= max(np.linalg.norm(centre), 1e-12)
        distance = 1.0 - x[idx] @ centre
        median = np.median(distance)
        mad = np.median(np.abs(distance - median))
        scores[idx] = 0.6745 * (distance - median) / max(mad, 1e-12)
    return scores
