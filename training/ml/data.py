"""Image decoding, the shared resize/crop, the stratified split and batch feeding."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from PIL import Image, ImageOps

_ORIENTATION_TAG = 0x0112


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        # Transparent areas become white, not black (what people expect of cut-out product shots).
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def preprocess_image(img: Image.Image, size: int) -> np.ndarray:
    """RGB float32 (size, size, 3) in 0..255: shorter side to `size`, then centre crop.

    Shared by training and serving so both see identical pixels. Resizing only the centred
    square (Pillow's `box`) equals resize-then-crop and skips resampling discarded pixels.
    """
    try:
        if img.getexif().get(_ORIENTATION_TAG, 1) != 1:
            img = ImageOps.exif_transpose(img)
    except (OSError, ValueError, SyntaxError, KeyError, TypeError):
        # Broken EXIF must not make an otherwise readable image unusable.
        pass
    img = _to_rgb(img)
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) / 2.0, (h - side) / 2.0
    img = img.resize(
        (size, size), Image.Resampling.BILINEAR, box=(left, top, left + side, top + side)
    )
    return np.asarray(img, dtype=np.float32)


def preprocess_images(images: Sequence[Image.Image], size: int) -> np.ndarray:
    """A batch (N, size, size, 3) of preprocess_image: what every predictor feeds its model."""
    return np.stack([preprocess_image(img, size) for img in images])


def load_image(path: str, size: int) -> np.ndarray:
    try:
        with Image.open(path) as img:
            return preprocess_image(img, size)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        # Name the file: a bare PIL error deep inside training helps nobody.
        raise ValueError(f"Cannot read image {path}: {exc}") from exc


def _rank(seed: int, key: str, index: int) -> str:
    # Order by a hash of the content key: adding/removing images keeps the others on their side.
    return hashlib.sha1(f"{seed}:{key}:{index}".encode()).hexdigest()


def stratified_split(
    labels: Sequence[int], keys: Sequence[str], fraction: float, seed: int, num_labels: int
) -> tuple[np.ndarray, np.ndarray]:
    """(train_indices, val_indices); every label gets >= 1 validation and >= 1 training image."""
    by_label: list[list[int]] = [[] for _ in range(num_labels)]
    for i, y in enumerate(labels):
        by_label[y].append(i)
    train: list[int] = []
    val: list[int] = []
    for y, idx in enumerate(by_label):
        if len(idx) < 2:
            raise ValueError(
                f"Label #{y} has {len(idx)} image(s); every label needs at least 2 "
                "(one for training, one for validation)."
            )
        idx.sort(key=lambda i: _rank(seed, keys[i], 0))
        n_val = min(len(idx) - 1, max(1, round(len(idx) * fraction)))
        val.extend(idx[:n_val])
        train.extend(idx[n_val:])
    return np.array(sorted(train), dtype=np.int64), np.array(sorted(val), dtype=np.int64)


def stratified_folds(labels: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold number per sample, each label spread evenly over the folds."""
    rng = np.random.default_rng(seed)
    folds = np.zeros(len(labels), dtype=np.int64)
    offset = 0
    for y in np.unique(labels):
        idx = np.flatnonzero(labels == y)
        rng.shuffle(idx)
        folds[idx] = (np.arange(len(idx)) + offset) % k
        offset += len(idx)  # rotate so small labels do not all start in fold 0
    return folds


def prefetched_batches(
    paths: Sequence[str], size: int, batch_size: int, workers: int = 2
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (start, images) batches; the next batch decodes in threads while the caller infers.

    Only two batches are ever decoded at once, so memory does not grow with the data set.
    """
    if not paths:
        return
    starts = list(range(0, len(paths), batch_size))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="aimaker-decode") as pool:

        def submit(start: int) -> list[Any]:
            return [pool.submit(load_image, p, size) for p in paths[start : start + batch_size]]

        pending = submit(starts[0])
        for n, start in enumerate(starts):
            current = pending
            if n + 1 < len(starts):
                pending = submit(starts[n + 1])
            yield start, np.stack([f.result() for f in current])


def make_image_dataset(
    paths: Sequence[str],
    labels: Sequence[int],
    size: int,
    batch_size: int,
    shuffle: bool,
    seed: int,
    workers: int = 2,
) -> Any:
    """A keras.utils.PyDataset decoding images on the fly (threads; nothing held in memory)."""
    import keras

    class ImageDataset(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__(workers=workers, use_multiprocessing=False, max_queue_size=4)
            self.paths = list(paths)
            self.labels = np.asarray(labels, dtype=np.int64)
            self.order = np.arange(len(self.paths))
            self.rng = np.random.default_rng(seed)
            if shuffle:
                self.rng.shuffle(self.order)

        def __len__(self) -> int:
            return (len(self.paths) + batch_size - 1) // batch_size

        def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
            idx = self.order[i * batch_size : (i + 1) * batch_size]
            x = np.stack([load_image(self.paths[j], size) for j in idx])
            return x, self.labels[idx]

        def on_epoch_end(self) -> None:
            if shuffle:
                self.rng.shuffle(self.order)

    return ImageDataset()
