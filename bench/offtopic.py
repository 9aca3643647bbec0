"""Off-topic check benchmark: does it catch photos of other things slipped into a label, and
stay quiet on clean labels? Real MobileNetV2 features of clothing-small photos through the
product's own path (training.ml.embed, the feature cache) and offtopic_scores.

    python -m bench.offtopic [--data ../shared/datasets/clothing-small/train] [--repeats 3]

1. planted: for each of five garments, 40 of its photos plus 4 photos of the other labels (a
   web search that brought back other garments: the hard case), --repeats different samples;
   and plus the two photos that ship with scikit-learn (a temple, a flower: unrelated things);
2. clean: the same garments, 12 photos each and nothing planted (a small, clean label), and
   40 photos each, nothing planted.

The last line printed is one JSON object: recall on the planted photos, false flags.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import machine

ROOT = Path(__file__).resolve().parents[1]
LABELS = ["dress", "hat", "pants", "shoes", "skirt"]


def _files(folder: Path, name: str) -> list[Path]:
    return sorted((folder / name).glob("*.jpg"))


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared/datasets/clothing-small/train"))
    parser.add_argument("--weights", default=None, help="MobileNetV2 weights (.h5)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    weights = args.weights or str(
        ROOT.parent / "shared/models/mobilenet_v2_1.0_224_imagenet_no_top.weights.h5"
    )
    from training.ml import Sample, TrainParams, embed
    from training.ml.offtopic import Z_CUTOFF, offtopic_scores

    folder = Path(args.data)
    cache_dir = tempfile.mkdtemp(prefix="aimaker-bench-offtopic-")
    extract_s = 0.0

    def features(paths: list[Path]) -> np.ndarray:
        nonlocal extract_s
        samples = [Sample(str(p), 0, hashlib.sha256(p.read_bytes()).hexdigest()) for p in paths]
        t = time.perf_counter()
        x = embed(samples=samples, params=TrainParams(), backbone_weights=weights,
                  cache_dir=cache_dir)  # fmt: skip
        extract_s += time.perf_counter() - t
        return x

    def flagged(paths: list[Path]) -> np.ndarray:
        scores = offtopic_scores(features(paths), np.zeros(len(paths), int))
        return np.flatnonzero(scores >= Z_CUTOFF)

    try:
        import sklearn

        unrelated = sorted((Path(sklearn.__file__).parent / "datasets" / "images").glob("*.jpg"))
        planted = caught = false_planted = 0
        far_planted = far_caught = 0
        per_label: dict[str, str] = {}
        clean12 = clean40 = 0
        t0 = time.perf_counter()
        for seed in range(args.repeats):
            rng = np.random.default_rng(seed)
            for name in LABELS:
                own = _files(folder, name)
                own = [own[i] for i in sorted(rng.choice(len(own), 40, replace=False))]
                others = [p for other in LABELS if other != name for p in _files(folder, other)]
                strays = [others[i] for i in rng.choice(len(others), 4, replace=False)]
                hits = set(flagged(own + strays).tolist())
                caught_here = len(hits & {40, 41, 42, 43})
                planted += 4
                caught += caught_here
                false_planted += len(hits - {40, 41, 42, 43})
                per_label[f"{name}#{seed}"] = f"{caught_here}/4, {len(hits) - caught_here} false"
                far = set(flagged(own + unrelated).tolist())
                far_caught += len(far & {40, 41})
                far_planted += len(unrelated)
                clean40 += len(flagged(own))
                clean12 += len(flagged(own[:12]))
        seconds = time.perf_counter() - t0
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    groups = args.repeats * len(LABELS)
    result = {
        "bench": "offtopic",
        "z_cutoff": Z_CUTOFF,
        "unrelated_recall": round(far_caught / far_planted, 3) if far_planted else None,
        "unrelated_caught": far_caught,
        "unrelated_planted": far_planted,
        "planted_recall": round(caught / planted, 3),
        "planted_caught": caught,
        "planted": planted,
        "false_flags_with_plants": false_planted,
        "false_flag_rate_with_plants": round(false_planted / (groups * 40), 4),
        "clean_40_false_flags": clean40,
        "clean_40_false_flag_rate": round(clean40 / (groups * 40), 4),
        "clean_12_false_flags": clean12,
        "clean_12_false_flag_rate": round(clean12 / (groups * 12), 4),
        "per_label": per_label,
        "extract_seconds": round(extract_s, 1),
        "seconds": round(seconds, 1),
        **machine(),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
