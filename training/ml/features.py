"""Frozen-backbone feature extraction with an on-disk cache keyed by image content."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .data import prefetched_batches
from .types import Sample, TrainingCancelled

_SAFE_KEY = re.compile(r"[A-Za-z0-9_-]{1,128}")
_weights_digest_memo: dict[tuple[str, int, int], str] = {}


def weights_digest(path: str) -> str:
    """Short content hash of a weights file: swapping weights must not reuse stale features."""
    st = os.stat(path)
    memo_key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    if memo_key not in _weights_digest_memo:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _weights_digest_memo[memo_key] = h.hexdigest()[:12]
    return _weights_digest_memo[memo_key]


def atomic_write_bytes(path: str, write: Callable[[Any], None]) -> None:
    """Write via a temp file in the same directory then os.replace: readers never see halves."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_path(path: str, write: Callable[[str], None]) -> None:
    """`write(tmp)` a file beside `path` with the same suffixes (Keras' savers pick the format
    by them: ".keras", ".weights.h5", ".onnx"), then os.replace: readers never see halves."""
    directory, name = os.path.split(path)
    os.makedirs(directory or ".", exist_ok=True)
    suffix = name[name.index(".") :] if "." in name else ""
    tmp = os.path.join(directory, f".tmp-{uuid.uuid4().hex}{suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class FeatureCache:
    """One .npy per (image key, variant) under cache_dir/<namespace>/<key[:2]>/."""

    def __init__(self, cache_dir: str, namespace: str) -> None:
        self.root = os.path.join(cache_dir, "features", namespace)

    def path(self, key: str, variant: str) -> str:
        name = key if _SAFE_KEY.fullmatch(key) else hashlib.sha256(key.encode()).hexdigest()
        suffix = ".npy" if variant == "orig" else f".{variant}.npy"
        return os.path.join(self.root, name[:2], name + suffix)

    def has(self, key: str, variant: str) -> bool:
        return os.path.isfile(self.path(key, variant))

    def get(self, key: str, variant: str) -> np.ndarray | None:
        try:
            return np.load(self.path(key, variant), allow_pickle=False)
        except (FileNotFoundError, ValueError, OSError):
            return None  # missing or corrupt: recompute

    def put(self, key: str, variant: str, vector: np.ndarray) -> None:
        atomic_write_bytes(
            self.path(key, variant),
            lambda f: np.save(f, np.ascontiguousarray(vector, dtype=np.float32)),
        )


@dataclass
class Features:
    orig: np.ndarray  # (N, D) features of the images as given
    flip: np.ndarray | None  # (N, D) features of the horizontally flipped images
    hits: int
    misses: int
    extract_seconds: float
    images_per_s: float | None  # over computed images only (None when all were cached)


def extract_features(
    predict: Callable[[np.ndarray], np.ndarray],
    samples: Sequence[Sample],
    cache: FeatureCache,
    size: int,
    batch_size: int,
    with_flip: bool,
    should_stop: Callable[[], bool],
    progress: Callable[[dict[str, Any]], None],
) -> Features:
    """Features for every sample; cache hits never touch the image file."""
    variants = ["orig", "flip"] if with_flip else ["orig"]
    n = len(samples)
    out: dict[str, list[np.ndarray | None]] = {v: [None] * n for v in variants}
    missing: dict[str, list[int]] = {}  # key -> sample indices (duplicates computed once)
    for i, s in enumerate(samples):
        if s.key in missing:
            missing[s.key].append(i)
            continue
        vectors = [cache.get(s.key, v) for v in variants]
        if all(v is not None for v in vectors):
            for v, vec in zip(variants, vectors, strict=True):
                out[v][i] = vec
        else:
            missing[s.key] = [i]
    # Samples sharing a key with a hit still need filling in.
    first_hit: dict[str, int] = {}
    for i, s in enumerate(samples):
        if out["orig"][i] is not None:
            first_hit.setdefault(s.key, i)
        elif s.key in first_hit:
            for v in variants:
                out[v][i] = out[v][first_hit[s.key]]

    keys = list(missing)
    todo = [missing[k][0] for k in keys]
    misses = len(todo)
    hits = n - sum(len(missing[k]) for k in keys)
    t0 = time.monotonic()
    done = 0
    progress({"phase": "extracting", "done": 0, "total": misses, "cache_hits": hits})
    for start, images in prefetched_batches([samples[i].path for i in todo], size, batch_size):
        if should_stop():
            raise TrainingCancelled("Cancelled during feature extraction")
        if with_flip:
            feats = np.asarray(predict(np.concatenate([images, images[:, :, ::-1]])))
            chunks = {"orig": feats[: len(images)], "flip": feats[len(images) :]}
        else:
            chunks = {"orig": np.asarray(predict(images))}
        for j in range(len(images)):
            key = keys[start + j]
            for v in variants:
                vec = chunks[v][j].astype(np.float32)
                cache.put(key, v, vec)
                for i in missing[key]:
                    out[v][i] = vec
        done += len(images)
        elapsed = time.monotonic() - t0
        rate = done / elapsed if elapsed > 0 else None
        progress(
            {
                "phase": "extracting",
                "done": done,
                "total": misses,
                "images_per_s": rate,
                "eta": (misses - done) / rate if rate else None,
            }
        )
    seconds = time.monotonic() - t0
    return Features(
        orig=np.stack(out["orig"]).astype(np.float32),
        flip=np.stack(out["flip"]).astype(np.float32) if with_flip else None,
        hits=hits,
        misses=misses,
        extract_seconds=seconds,
        images_per_s=(misses / seconds) if misses and seconds > 0 else None,
    )
