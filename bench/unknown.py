"""Unknown-detector benchmark: does "not sure" catch photos of things the model never saw, and
leave the project's own photos alone? Real MobileNetV2 features (mirrored mean, as the served
model computes them) of clothing-small through the product's own path (training.ml.embed, the
feature cache) and training.ml.unknown.

    python -m bench.unknown [--data ../shared/datasets/clothing-small] [--repeats 10] [--compare]

1. held out: each of the 10 garments in turn is a label the model never saw; the detector is
   fitted on the other 9 (train/); rejection of their validation photos (own, new), of the
   held-out garment's photos (near: another garment), and of unrelated photos (the photos that
   ship with scikit-image and scikit-learn, and 100 LFW face crops from scikit-image);
2. small projects: 2 labels x 8 photos up to 10 x 300, --repeats random draws each: own new
   photos (validation/) and unrelated photos rejected;
3. --compare: the same held-out test for the methods considered (Mahalanobis with Ledoit-Wolf
   shrinkage, maximum softmax probability and energy of a logistic-regression head, k-NN).

The last line printed is one JSON object.
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
SKIMAGE_PHOTOS = (
    "astronaut.png", "brick.png", "camera.png", "chelsea.png", "coffee.png", "coins.png",
    "grass.png", "gravel.png", "horse.png", "hubble_deep_field.jpg", "ihc.png", "moon.png",
    "motorcycle_left.png", "page.png", "retina.jpg", "rocket.jpg", "color.png", "text.png",
)  # fmt: skip
SIZES = ((2, 8), (2, 20), (3, 50), (5, 100), (10, 300))


def _unrelated(folder: Path) -> dict[str, list[Path]]:
    import skimage
    import sklearn
    from PIL import Image

    data = Path(skimage.__file__).parent / "data"
    photos = [data / n for n in SKIMAGE_PHOTOS]
    photos += sorted((Path(sklearn.__file__).parent / "datasets" / "images").glob("*.jpg"))
    out: dict[str, list[Path]] = {"photos": [], "faces": []}
    for src in photos:
        dest = folder / f"{src.stem}.jpg"
        Image.open(src).convert("RGB").save(dest, quality=92)
        out["photos"].append(dest)
    for i, face in enumerate(np.load(data / "lfw_subset.npy")[:100]):
        dest = folder / f"face{i:03d}.jpg"
        img = Image.fromarray((face * 255).astype("uint8")).convert("RGB").resize((224, 224))
        img.save(dest, quality=92)
        out["faces"].append(dest)
    return out


def _held_out(x_tr, y_tr, x_va, y_va, far, fit) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    aurocs, own, near, rejected_far = [], [], [], {k: [] for k in far}
    for c in np.unique(y_tr):
        score, threshold = fit(x_tr[y_tr != c], y_tr[y_tr != c])
        known = score(x_va[y_va != c])
        unknown = score(np.concatenate([x_va[y_va == c], x_tr[y_tr == c]]))
        truth = np.r_[np.zeros(len(known)), np.ones(len(unknown))]
        aurocs.append(roc_auc_score(truth, np.r_[known, unknown]))
        threshold = np.quantile(known, 0.95) if threshold is None else threshold
        own.append((known > threshold).mean())
        near.append((unknown > threshold).mean())
        for name, feats in far.items():
            rejected_far[name].append((score(feats) > threshold).mean())
    return {
        "auroc_held_out_label": round(float(np.mean(aurocs)), 3),
        "own_new_rejected": round(float(np.mean(own)), 3),
        "held_out_label_rejected": round(float(np.mean(near)), 3),
        **{f"{k}_rejected": round(float(np.mean(v)), 3) for k, v in rejected_far.items()},
    }


def _product(x, y):
    from training.ml.unknown import fit_unknown_detector

    detector, _ = fit_unknown_detector(x, y, [str(i) for i in range(int(y.max()) + 1)])
    return detector.scores, detector.threshold


def _alternatives() -> dict[str, Any]:
    """The other methods, each with a threshold at 95 % of the known validation photos (an
    oracle threshold: it flatters them)."""
    from scipy.special import logsumexp
    from sklearn.covariance import LedoitWolf
    from sklearn.linear_model import LogisticRegression

    def l2(v):
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def mahalanobis(x, y):
        x = l2(x)
        classes = np.unique(y)
        means = np.stack([x[y == c].mean(0) for c in classes])
        cov = LedoitWolf().fit(x - means[np.searchsorted(classes, y)]).covariance_
        w = np.linalg.cholesky(np.linalg.inv(cov))
        m = means @ w

        def score(v):
            z = l2(v) @ w
            return ((z**2).sum(1)[:, None] - 2 * z @ m.T + (m**2).sum(1)[None]).min(1)

        return score, None

    def head(x, y):
        mu, sd = x.mean(0), x.std(0) + 1e-6
        return mu, sd, LogisticRegression(C=0.003, max_iter=300).fit((x - mu) / sd, y)

    def msp(x, y):
        mu, sd, lr = head(x, y)
        return (lambda v: -lr.predict_proba((v - mu) / sd).max(1)), None

    def energy(x, y):
        mu, sd, lr = head(x, y)
        return (lambda v: -logsumexp(lr.decision_function((v - mu) / sd), axis=1)), None

    def knn(k):
        def fit(x, y):
            t = l2(x)
            return (lambda v: 1 - np.sort(l2(v) @ t.T, axis=1)[:, -k]), None

        return fit

    return {"mahalanobis_ledoit_wolf": mahalanobis, "max_softmax": msp, "energy": energy,
            "knn1_oracle": knn(1), "knn3_oracle": knn(3)}  # fmt: skip


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared/datasets/clothing-small"))
    parser.add_argument("--weights", default=None, help="MobileNetV2 weights (.h5)")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--compare", action="store_true", help="also measure other methods")
    args = parser.parse_args()
    weights = args.weights or str(
        ROOT.parent / "shared/models/mobilenet_v2_1.0_224_imagenet_no_top.weights.h5"
    )
    from training.ml import Sample, TrainParams, embed
    from training.ml.unknown import fit_unknown_detector

    tmp = Path(tempfile.mkdtemp(prefix="aimaker-bench-unknown-"))
    t0 = time.perf_counter()

    def features(paths: list[Path]) -> np.ndarray:
        samples = [Sample(str(p), 0, hashlib.sha256(p.read_bytes()).hexdigest()) for p in paths]
        return embed(samples=samples, params=TrainParams(), backbone_weights=weights,
                     cache_dir=str(tmp / "cache"), mirrored=True)  # fmt: skip

    try:
        root = Path(args.data)
        labels = sorted(p.name for p in (root / "train").iterdir() if p.is_dir())
        split: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name in ("train", "validation"):
            files = [
                (p, i)
                for i, lb in enumerate(labels)
                for p in sorted((root / name / lb).glob("*.jpg"))
            ]
            split[name] = features([p for p, _ in files]), np.array([i for _, i in files])
        (tmp / "unrelated").mkdir()
        far = {k: features(v) for k, v in _unrelated(tmp / "unrelated").items()}
        extract_s = time.perf_counter() - t0
        (x_tr, y_tr), (x_va, y_va) = split["train"], split["validation"]

        t = time.perf_counter()
        held = _held_out(x_tr, y_tr, x_va, y_va, far, _product)
        held["seconds"] = round(time.perf_counter() - t, 2)

        rng = np.random.default_rng(0)
        small: dict[str, Any] = {}
        unrelated = np.concatenate([far["photos"], far["faces"]])
        for n_labels, per in SIZES:
            own, photos, both, fit_s = [], [], [], []
            for _ in range(args.repeats):
                chosen = rng.choice(len(labels), n_labels, replace=False)
                pools = [np.flatnonzero(y_tr == c) for c in chosen]
                rows = np.concatenate(
                    [rng.choice(pool, min(per, len(pool)), replace=False) for pool in pools]
                )
                t = time.perf_counter()
                detector, _ = fit_unknown_detector(x_tr[rows], y_tr[rows], labels)
                fit_s.append(time.perf_counter() - t)
                mine = np.isin(y_va, chosen)
                own.append((detector.scores(x_va[mine]) > detector.threshold).mean())
                photos.append((detector.scores(far["photos"]) > detector.threshold).mean())
                both.append((detector.scores(unrelated) > detector.threshold).mean())
            small[f"{n_labels}x{per}"] = {
                "own_new_rejected": round(float(np.mean(own)), 3),
                "own_new_rejected_worst": round(float(np.max(own)), 3),
                "photos_rejected": round(float(np.mean(photos)), 3),
                "photos_and_faces_rejected": round(float(np.mean(both)), 3),
                "fit_ms": round(1000 * float(np.mean(fit_s)), 1),
            }
        result: dict[str, Any] = {
            "bench": "unknown",
            "method": "knn_cosine k=3, threshold keeps 95% of own images (leave-one-out)",
            "held_out": held,
            "small_projects": small,
            "unrelated_photos": len(far["photos"]),
            "unrelated_faces": len(far["faces"]),
        }
        if args.compare:
            result["compare"] = {name: _held_out(x_tr, y_tr, x_va, y_va, far, fit)
                                 for name, fit in _alternatives().items()}  # fmt: skip
        result["extract_seconds"] = round(extract_s, 1)
        result["seconds"] = round(time.perf_counter() - t0, 1)
        result.update(machine())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
