"""Why did the model say that: occlusion sensitivity (Zeiler & Fergus, 2014).

Hide one region of the image at a time and measure how much the probability of the answer
drops: the regions whose hiding hurts most are what the answer rests on. It needs nothing but
forward passes, so it works with any serving model (ONNX Runtime, Keras on any backend).
Pure NumPy; no Django, no Keras import."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

GRID = 8  # cells per side of the heat map
BATCH = 32


def occlusion_map(
    predict: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    *,
    target: int,
    grid: int = GRID,
    batch: int = BATCH,
) -> np.ndarray:
    """A (grid, grid) map in 0..1 for `image` (H, W, 3, as the model takes it): cell (i, j)
    is how much the probability of class `target` drops when a window two cells wide centred
    on that cell is painted with the image's mean colour. 0 where hiding changes nothing (or
    helps). `predict` maps a batch (N, H, W, 3) to probabilities (N, classes)."""
    h, w = image.shape[:2]
    fill = image.reshape(-1, image.shape[-1]).mean(axis=0)
    ys = np.linspace(0, h, grid + 1)
    xs = np.linspace(0, w, grid + 1)
    cell_h, cell_w = h / grid, w / grid
    windows = []
    for i in range(grid):
        for j in range(grid):
            cy, cx = (ys[i] + ys[i + 1]) / 2, (xs[j] + xs[j + 1]) / 2
            top, bottom = max(0, round(cy - cell_h)), min(h, round(cy + cell_h))
            left, right = max(0, round(cx - cell_w)), min(w, round(cx + cell_w))
            windows.append((top, bottom, left, right))
    base = float(predict(image[None])[0][target])
    drops = np.empty(len(windows), np.float32)
    for start in range(0, len(windows), batch):
        chunk = windows[start : start + batch]
        occluded = np.repeat(image[None], len(chunk), axis=0)
        for k, (top, bottom, left, right) in enumerate(chunk):
            occluded[k, top:bottom, left:right] = fill
        probs = np.asarray(predict(occluded))[:, target]
        drops[start : start + len(chunk)] = base - probs
    return np.clip(drops, 0.0, 1.0).reshape(grid, grid)
