"""Label-check benchmark: does "Check these labels" find planted mistakes and stay quiet on
clean photos? Real MobileNetV2 features of clothing-small photos, the same find_doubts the
training job runs.

    python -m bench.doubts [--data ../shared/datasets/clothing-small/train] [--full]

1. planted: 5 labels x 60 photos, 5 % of them (15) moved to another label at random; repeated
   with --repeats different plantings, for two label sets: five distinct garments, and the
   first five labels alphabetically (longsleeve/outwear/dress look alike);
2. clean: 3 labels x 25 photos, nothing planted (like the issue's 76-photo example), for
   --repeats different photo samples;
3. --full: the time for every photo of the folder (3,068 x 1,280 features for clothing-small).

Features come from a feature cache (--cache-dir, default a temporary one), keyed like the
training job's. The last line printed is one JSON object: precision, recall, flagged counts,
seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DISTINCT = ["dress", "hat", "pants", "shoes", "skirt"]
CLEAN = ["hat", "pants", "shoes"]


def _samples(folder: Path, labels: list[str], per: int | None, seed: int) -> list[Any]:
    from training.ml import Sample

    rng = np.random.default_rng(seed)
    samples = []
    for y, name in enumerate(labels):
        files = sorted((folder / name).glob("*.jpg"))
        if per is not None:
            files = [files[i] for i in sorted(rng.choice(len(files), per, replace=False))]
        for f in files:
            samples.append(Sample(str(f), y, hashlib.sha256(f.read_bytes()).hexdigest()))
    return samples


class Extractor:
    def __init__(self, weights: str, cache_dir: str) -> None:
        import keras

        from training.ml.backbones import (
            PREPROCESSING_VERSION,
            build_backbone,
            get_spec,
            scaling_layer,
        )
        from training.ml.features import FeatureCache, weights_digest

        spec = get_spec("mobilenet_v2")
        inp = keras.Input((spec.input_size, spec.input_size, 3))
        self.model = keras.Model(inp, build_backbone(spec, weights)(scaling_layer(spec)(inp)))
        namespace = f"{spec.name}-p{PREPROCESSING_VERSION}-{spec.input_size}-"
        self.cache = FeatureCache(cache_dir, namespace + weights_digest(weights))
        self.seconds = 0.0

    def __call__(self, samples: list[Any]) -> np.ndarray:
        from training.ml.features import extract_features

        t = time.perf_counter()
        feats = extract_features(
            self.model.predict_on_batch, samples, self.cache, 224, 32, False,
            lambda: False, lambda _: None,
        )  # fmt: skip
        self.seconds += time.perf_counter() - t
        return feats.orig


def _plant(y: np.ndarray, k: int, fraction: float, seed: int) -> tuple[np.ndarray, set[int]]:
    rng = np.random.default_rng(seed)
    noisy = y.copy()
    planted = rng.choice(len(y), int(round(fraction * len(y))), replace=False)
    noisy[planted] = (y[planted] + rng.integers(1, k, len(planted))) % k
    return noisy, {int(i) for i in planted}


def planted_run(x: np.ndarray, y: np.ndarray, k: int, repeats: int) -> dict[str, Any]:
    from training.ml.evaluate import find_doubts

    flagged = hits = planted_total = right_suggestion = 0
    per_repeat, seconds = [], []
    for seed in range(repeats):
        noisy, planted = _plant(y, k, 0.05, seed)
        t = time.perf_counter()
        doubts, _ = find_doubts(x, noisy, k, seed)
        seconds.append(time.perf_counter() - t)
        found = {d["index"]: d for d in doubts}
        caught = planted & set(found)
        flagged += len(found)
        hits += len(caught)
        planted_total += len(planted)
        right_suggestion += sum(int(found[i]["suggested"] == y[i]) for i in caught)
        per_repeat.append(f"{len(caught)}/{len(planted)} in {len(found)}")
    return {
        "precision": round(hits / flagged, 3) if flagged else None,
        "recall": round(hits / planted_total, 3),
        "flagged": flagged,
        "planted": planted_total,
        "caught": hits,
        "right_suggestion": right_suggestion,
        "per_repeat": per_repeat,
        "find_doubts_s": round(float(np.mean(seconds)), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared/datasets/clothing-small/train"))
    parser.add_argument("--weights", default=None, help="MobileNetV2 weights (.h5)")
    parser.add_argument("--cache-dir", default=None, help="feature cache (default: temporary)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--full", action="store_true", help="also time every photo of --data")
    args = parser.parse_args()
    weights = args.weights or str(
        ROOT.parent / "shared/models/mobilenet_v2_1.0_224_imagenet_no_top.weights.h5"
    )
    folder = Path(args.data)
    cache_dir = args.cache_dir or tempfile.mkdtemp(prefix="aimaker-bench-doubts-")
    t0 = time.perf_counter()
    try:
        from training.ml.evaluate import find_doubts

        extract = Extractor(weights, cache_dir)
        out: dict[str, Any] = {"bench": "doubts", "planted": {}, "clean": {}}
        alphabetical = sorted(p.name for p in folder.iterdir() if p.is_dir())[:5]
        for name, labels in (("distinct", DISTINCT), ("alphabetical", alphabetical)):
            samples = _samples(folder, labels, 60, seed=0)
            x, y = extract(samples), np.array([s.label for s in samples])
            out["planted"][name] = {"labels": labels, **planted_run(x, y, 5, args.repeats)}
            print(f"planted {name}: {out['planted'][name]}", file=sys.stderr)
        counts, seconds = [], []
        for seed in range(args.repeats):
            samples = _samples(folder, CLEAN, 25, seed=seed)
            x, y = extract(samples), np.array([s.label for s in samples])
            t = time.perf_counter()
            counts.append(len(find_doubts(x, y, 3, seed)[0]))
            seconds.append(time.perf_counter() - t)
        out["clean"] = {"labels": CLEAN, "images": 75, "flagged_per_sample": counts,
                        "find_doubts_s": round(float(np.mean(seconds)), 3)}  # fmt: skip
        print(f"clean: {out['clean']}", file=sys.stderr)
        if args.full:
            labels = sorted(p.name for p in folder.iterdir() if p.is_dir())
            samples = _samples(folder, labels, None, seed=0)
            x, y = extract(samples), np.array([s.label for s in samples])
            t = time.perf_counter()
            doubts, info = find_doubts(x, y, len(labels), 0)
            out["full"] = {"images": len(y), "features": int(x.shape[1]),
                           "find_doubts_s": round(time.perf_counter() - t, 2),
                           "flagged": len(doubts), "C": info["C"],
                           "oof_accuracy": info["oof_accuracy"]}  # fmt: skip
        out["extract_s"] = round(extract.seconds, 1)
        out["total_s"] = round(time.perf_counter() - t0, 1)
        out["cpus"] = os.cpu_count()
        out["load_average"] = round(os.getloadavg()[0], 2)
        out["python"] = platform.python_version()
        print(json.dumps(out))
    finally:
        if not args.cache_dir:
            shutil.rmtree(cache_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
