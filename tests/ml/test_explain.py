"""Occlusion sensitivity: the heat map lands on what the answer rests on."""

import numpy as np

from training.ml.explain import occlusion_map


def red_detector(batch: np.ndarray) -> np.ndarray:
    """P(red) grows with the share of strongly red pixels; two classes."""
    red = (batch[..., 0] > 150) & (batch[..., 1] < 80)
    share = red.reshape(len(batch), -1).mean(axis=1)
    p = np.clip(0.05 + 12 * share, 0, 0.95)
    return np.stack([p, 1 - p], axis=1)


def test_it_heats_the_region_the_answer_rests_on():
    image = np.full((64, 64, 3), 128, np.float32)
    image[8:24, 40:56] = (220, 30, 30)  # a red square: rows 1-2, columns 5-6 of an 8x8 grid
    calls = []

    def predict(batch):
        calls.append(len(batch))
        return red_detector(batch)

    heat = occlusion_map(predict, image, target=0)
    assert heat.shape == (8, 8) and heat.min() >= 0 and heat.max() <= 1
    square = heat[1:3, 5:7]
    rest = heat.copy()
    rest[1:3, 5:7] = 0
    # The four cells of the square are the hottest, clearly: each over twice any other cell.
    assert square.min() > 0.3 and square.min() > 2 * rest.max()
    # Windows that never touch the square (left half, bottom half) change nothing.
    assert not heat[:, :4].any() and not heat[4:, :].any()
    assert calls == [1, 32, 32]  # the original, then 64 occlusions in batches


def test_it_is_all_zero_when_nothing_matters():
    image = np.full((32, 32, 3), 90, np.float32)
    heat = occlusion_map(lambda b: np.tile([0.7, 0.3], (len(b), 1)), image, target=0, grid=4)
    assert heat.shape == (4, 4) and not heat.any()
