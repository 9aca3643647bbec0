"""Training benchmark: a folder of label folders imported into a throw-away project, trained
cold (empty feature cache), changed a little, trained again warm, then evaluated on a holdout.

    python -m bench.train ../shared/datasets/clothing-small/train \
        --holdout ../shared/datasets/clothing-small/validation

Runs use the same code path as a training worker (`training_run_start` +
`training_run_execute`, in this process) with the real backbone weights of
settings.AIMAKER_BACKBONE_WEIGHTS. The last line printed is one JSON object: cold_s, warm_s,
extract_runtime, extract_images_per_s, val_accuracy, holdout_accuracy, peak_rss_mb, each
phase's time and backbone_limit (the bare backbone's images/s per runtime, same machine, same
run) to show how far extraction is from what the hardware does.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import use_throwaway_data_dir

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif"}


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _train(project: Any, owner: Any, params: dict[str, Any]) -> tuple[Any, float]:
    from training.services import training_run_execute, training_run_start

    t = time.perf_counter()
    run = training_run_start(project=project, user=owner, params=params, enqueue=False)
    last = [""]

    def show(state: dict[str, Any]) -> None:
        if state["phase"] != last[0]:
            last[0] = state["phase"]
            print(f"  run #{run.number}: {state['text']}", file=sys.stderr)

    run = training_run_execute(run_id=run.pk, on_progress=show)
    seconds = time.perf_counter() - t
    if run.status != "succeeded":
        raise SystemExit(f"run #{run.number} {run.status}: {run.error}")
    return run, seconds


def _change_a_few(project: Any, owner: Any) -> dict[str, int]:
    """Move 5 images to another label, delete 5, add 5 new ones (mirrored copies)."""
    from PIL import Image as PILImage
    from PIL import ImageOps

    from datasets.models import Image
    from datasets.services import image_delete_many, image_ingest, image_move_many

    labels = list(project.labels.order_by("pk"))
    ids = list(Image.objects.filter(project=project).order_by("pk").values_list("pk", flat=True))
    move, delete, source = ids[:5], ids[5:10], ids[10:15]
    image_move_many(project=project, image_ids=move, label=labels[-1])
    added = 0
    for image in Image.objects.filter(pk__in=source).select_related("label"):
        with image.original.open("rb") as f, PILImage.open(f) as img:
            buf = io.BytesIO()
            ImageOps.mirror(img.convert("RGB")).save(buf, "JPEG", quality=90)
        outcome = image_ingest(
            project=project, label=image.label, data=buf.getvalue(), source="upload",
            added_by=owner, original_name="mirrored.jpg",
        )  # fmt: skip
        added += outcome.status == "added"
    image_delete_many(project=project, image_ids=delete)
    return {"moved": len(move), "deleted": len(delete), "added": added}


def _holdout(run: Any, holdout: Path) -> dict[str, Any]:
    """The saved model (from storage, as serving loads it) on label folders it never saw:
    accuracy, the share its unknown-detector calls "not sure" (these are the project's own
    kind of images: the fewer the better), and calibration before and after temperature."""
    import numpy as np
    from django.core.files.storage import default_storage
    from PIL import Image as PILImage

    from training.ml import load_predictor
    from training.ml.unknown import UnknownDetector, calibrate, expected_calibration_error

    t = time.perf_counter()
    local = Path(tempfile.mkdtemp(prefix="aimaker-bench-model-")) / "model.keras"
    with default_storage.open(run.artifact_prefix + "model.keras", "rb") as src:
        local.write_bytes(src.read())
    labels = json.loads(default_storage.open(run.artifact_prefix + "labels.json").read())
    with default_storage.open(run.artifact_prefix + "unknown.npz", "rb") as f:
        detector = UnknownDetector.from_bytes(f.read())
    predictor = load_predictor(str(local))
    index = {name.lower(): i for i, name in enumerate(labels)}
    files = [
        (p, index[p.parent.name.lower()])
        for p in sorted(holdout.rglob("*"))
        if p.suffix.lower() in IMAGE_SUFFIXES and p.parent.name.lower() in index
    ]
    probs, scores = [], []
    for start in range(0, len(files), 32):  # decoded in small batches, never all at once
        images = []
        for path, _ in files[start : start + 32]:
            with PILImage.open(path) as img:
                images.append(img.convert("RGB"))
        p, features = predictor.predict_both(predictor.preprocess(images))
        probs.append(p)
        scores.append(detector.scores(features))
    shutil.rmtree(local.parent, ignore_errors=True)
    raw, y = np.concatenate(probs), np.array([label for _, label in files])
    calibrated = calibrate(raw, detector.temperature)
    return {
        "holdout_accuracy": round(float((raw.argmax(1) == y).mean()), 4),
        "holdout_images": len(files),
        "holdout_s": round(time.perf_counter() - t, 2),
        "holdout_not_sure": round(float((np.concatenate(scores) > detector.threshold).mean()), 4),
        "holdout_ece_raw": round(expected_calibration_error(raw, y), 4),
        "holdout_ece_calibrated": round(expected_calibration_error(calibrated, y), 4),
        "temperature": detector.temperature,
    }


def _backbone_limit(*, backbone: str, weights: str, cache_dir: Path, batches: int = 6) -> dict:
    """The backbone alone at batch 32 on random pixels, per runtime: the ceiling of the
    'extracting' phase on this machine (no decoding, no cache writes)."""
    import numpy as np

    from training.ml.backbones import build_feature_model, get_spec
    from training.ml.extractor import feature_extractor

    spec = get_spec(backbone)
    size = spec.input_size
    model = build_feature_model(spec, weights)[0]
    converted = sorted((cache_dir / "onnx").glob(f"{backbone}-*.onnx"))  # the run's own file
    namespace = converted[0].stem if converted else f"{backbone}-limit"
    x = np.random.default_rng(0).uniform(0, 255, (32, size, size, 3)).astype(np.float32)
    limit: dict[str, Any] = {"batch": 32}
    for runtime in ("onnx", "keras"):
        ex = feature_extractor(
            model, cache_dir=str(cache_dir), namespace=namespace, runtime=runtime
        )
        ex.predict(x)  # warm: compile/trace outside the clock
        t = time.perf_counter()
        for _ in range(batches):
            ex.predict(x)
        limit[f"{ex.runtime}_images_per_s"] = round(32 * batches / (time.perf_counter() - t), 1)
    return limit


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="folder of label folders")
    parser.add_argument("--holdout", type=Path, help="folder of label folders never trained on")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    args = parser.parse_args(argv)
    if not args.path.is_dir():
        parser.error(f"{args.path} is not a folder")

    tmp = use_throwaway_data_dir("train")
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.contrib.auth.models import User
        from django.core.management import call_command

        from datasets.services import dataset_import_folder
        from projects.services import project_create
        from training.management.commands.train import parse_param

        if not settings.AIMAKER_BACKBONE_WEIGHTS:
            raise SystemExit("No backbone weights: set AIMAKER_BACKBONE_WEIGHTS.")
        call_command("migrate", verbosity=0)
        owner = User.objects.create_user("bench")
        project = project_create(owner=owner, name="Training benchmark")
        t = time.perf_counter()
        report = dataset_import_folder(project=project, folder=args.path, user=owner)
        import_s = time.perf_counter() - t
        print(f"imported {report.accepted_count} images in {import_s:.1f} s", file=sys.stderr)
        params = dict(parse_param(p) for p in args.param)

        rss = {"import": _rss_mb()}  # the process's peak so far, after each step
        cold, cold_s = _train(project, owner, params)
        rss["cold"] = _rss_mb()
        changes = _change_a_few(project, owner)
        warm, warm_s = _train(project, owner, params)
        rss["warm"] = _rss_mb()
        result: dict[str, Any] = {
            "bench": "train",
            "images": cold.image_count,
            "labels": len(cold.labels),
            "params": cold.params,
            "import_s": round(import_s, 2),
            "cold_s": round(cold_s, 2),
            "warm_s": round(warm_s, 2),
            "extract_runtime": cold.metrics.get("extract_runtime"),
            "extract_images_per_s": cold.metrics.get("extract_images_per_s"),
            # Backbone passes: with augmentation each image is also run mirrored.
            "extract_passes_per_s": round(
                (cold.metrics.get("extract_images_per_s") or 0)
                * (2 if cold.params.get("augmentation") else 1),
                1,
            ),
            "val_accuracy": round(warm.metrics["val_accuracy"], 4),
            "cold_val_accuracy": round(cold.metrics["val_accuracy"], 4),
            "cold_phases_s": cold.timings,
            "warm_phases_s": warm.timings,
            "warm_cache_hits": warm.metrics.get("cache_hits"),
            "warm_cache_misses": warm.metrics.get("cache_misses"),
            "changes": changes,
        }
        unknown = warm.metrics.get("unknown") or {}
        result["unknown"] = {
            "seconds": unknown.get("seconds"),
            "held_out_auroc": (unknown.get("held_out") or {}).get("auroc"),
            "held_out_rejected": (unknown.get("held_out") or {}).get("rejected"),
        }
        result["calibration"] = warm.metrics.get("calibration")
        if args.holdout:
            result.update(_holdout(warm, args.holdout))
        result["peak_rss_mb"] = _rss_mb()  # the runs' peak, before the limit check below
        result["peak_rss_mb_after"] = rss
        result["backbone_limit"] = _backbone_limit(
            backbone=cold.params["backbone"],
            weights=settings.AIMAKER_BACKBONE_WEIGHTS,
            cache_dir=Path(settings.AIMAKER_FEATURE_CACHE_DIR),
        )
        result.update(
            cpus=os.cpu_count(),
            load_average=round(os.getloadavg()[0], 2),
            python=platform.python_version(),
        )
        print(json.dumps(result))
        return result
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
