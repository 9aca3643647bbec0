"""train(): features (cached) -> head -> optional fine-tuning -> evaluation -> saved model."""

from __future__ import annotations

import dataclasses
import functools
import glob
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from .backbones import (
    PREPROCESSING_VERSION,
    TEST_ONLY_WEIGHTS,
    BackboneSpec,
    backbone_info,
    build_feature_model,
    get_spec,
    preprocessing_info,
)
from .data import make_image_dataset, stratified_split
from .evaluate import classification_metrics, find_doubts
from .extractor import backbone_onnx_path, feature_extractor, resolve_runtime
from .features import (
    FeatureCache,
    atomic_write_bytes,
    atomic_write_path,
    extract_features,
    weights_digest,
)
from .head import build_head, fit_head, make_callbacks
from .onnx_model import serving_onnx_write
from .types import Sample, TrainingCancelled, TrainParams, TrainResult
from .unknown import fit_temperature, fit_unknown_detector

log = logging.getLogger(__name__)

MODEL_FILENAME = "model.keras"
ONNX_FILENAME = "model.onnx"
META_FILENAME = "model.json"
UNKNOWN_FILENAME = "unknown.npz"
# Backbone passes per inference batch (images + mirrors), per runtime: on 2 CPU cores ONNX
# Runtime runs 16 as fast as 32 with 0.2 GB less memory; Keras (GPUs) gets 32.
EXTRACT_BATCH = {"onnx": 16, "keras": 32}
_STATE_FILE = "finetune_state.json"


def _noop(_: dict[str, Any]) -> None:
    pass


def _never() -> bool:
    return False


def _weights_id(spec: BackboneSpec, weights: str | None, seed: int) -> str:
    if weights == TEST_ONLY_WEIGHTS:
        return f"random{seed}"  # random init depends on the seed
    return weights_digest(weights) if weights else "imagenet"


def _check_inputs(samples: list[Sample], labels: list[str]) -> None:
    if len(labels) < 2:
        raise ValueError("At least 2 labels are needed to train a classifier.")
    if len(set(labels)) != len(labels):
        raise ValueError("Labels must be unique.")
    if not samples:
        raise ValueError("No images to train on.")
    for s in samples:
        if not (isinstance(s.label, int) and 0 <= s.label < len(labels)):
            raise ValueError(f"Sample {s.path!r} has label index {s.label!r} outside labels.")


def _atomic_json(path: str, data: Any) -> None:
    atomic_write_bytes(path, lambda f: f.write(json.dumps(data, indent=1).encode()))


def _augmentation_layers(seed: int) -> list[Any]:
    import keras

    # Built-in layers only: they are identity at inference and load under safe_mode.
    return [
        keras.layers.RandomFlip("horizontal", seed=seed, name="aug_flip"),
        keras.layers.RandomRotation(0.05, fill_mode="reflect", seed=seed, name="aug_rotation"),
        keras.layers.RandomZoom(0.1, fill_mode="reflect", seed=seed, name="aug_zoom"),
        keras.layers.RandomContrast(0.1, seed=seed, name="aug_contrast"),
    ]


def _horizontal_flip(size: int) -> Any:
    """A deterministic mirror from built-in layers only (loads under safe_mode, no Lambda).

    Width is moved last and multiplied by the anti-identity matrix: exact in float32 and about
    10% of MobileNetV2's compute.
    """
    import keras

    reverse = keras.layers.Dense(size, use_bias=False, trainable=False, name="tta_reverse_width")
    reverse.build((None, size, 3, size))
    reverse.set_weights([np.eye(size, dtype=np.float32)[::-1]])
    to_hcw = keras.layers.Permute((1, 3, 2), name="tta_width_last")
    to_hwc = keras.layers.Permute((1, 3, 2), name="tta_width_back")
    return lambda x: to_hwc(reverse(to_hcw(x)))


def _served_features(
    spec: BackboneSpec, backbone: Any, scaling: Any, aug: list[Any], tta: bool
) -> tuple[Any, Any]:
    """(image input, pooled features) as the served model computes them; shares layers."""
    import keras

    inp = keras.Input((spec.input_size, spec.input_size, 3), name="image")
    x = inp
    for layer in aug:
        x = layer(x)
    x = scaling(x)
    features = backbone(x)
    if tta:
        mirrored = backbone(_horizontal_flip(spec.input_size)(x))
        features = keras.layers.Average(name="tta_average")([features, mirrored])
    return inp, features


def _end_to_end(
    spec: BackboneSpec,
    backbone: Any,
    scaling: Any,
    head: tuple[Any, Any],
    aug: list[Any],
    tta: bool = False,
) -> Any:
    """Raw 0..255 RGB image in, probabilities out; shares layers (weights) with the parts.

    tta: average the backbone features of the image and its mirror image (test-time
    augmentation inside the model, so every consumer gets it): +1.5 points holdout accuracy on
    clothing-small for twice the inference cost.
    """
    import keras

    inp, features = _served_features(spec, backbone, scaling, aug, tta)
    dropout, dense = head
    return keras.Model(inp, dense(dropout(features)), name=f"aimaker_{spec.name}")


class _Checkpoints:
    """Per-epoch fine-tuning checkpoints in resume_dir; the state JSON is the commit marker.

    The weights file (model + optimizer variables) is named by epoch and written before the
    state that points at it, so a crash at any moment leaves a consistent pair.
    """

    def __init__(self, resume_dir: str | None, fingerprint: str) -> None:
        self.dir = resume_dir
        self.fingerprint = fingerprint

    def load(self) -> dict[str, Any] | None:
        if not self.dir:
            return None
        try:
            with open(os.path.join(self.dir, _STATE_FILE)) as f:
                state = json.load(f)
        except (FileNotFoundError, ValueError):
            return None
        if state.get("fingerprint") != self.fingerprint:
            return None  # different data or parameters: start over
        return state if os.path.isfile(os.path.join(self.dir, state["weights"])) else None

    def save(self, model: Any, epoch: int, extra: dict[str, Any]) -> None:
        if not self.dir:
            return
        weights = f"finetune-e{epoch}.weights.h5"
        atomic_write_path(os.path.join(self.dir, weights), model.save_weights)
        state = {"fingerprint": self.fingerprint, "epoch": epoch, "weights": weights, **extra}
        _atomic_json(os.path.join(self.dir, _STATE_FILE), state)
        for old in glob.glob(os.path.join(self.dir, "finetune-e*.weights.h5")):
            if os.path.basename(old) != weights:
                os.unlink(old)

    def restore(self, model: Any, state: dict[str, Any]) -> None:
        assert self.dir
        # Built optimizer first: the weights file also holds Adam's moments and step count.
        model.optimizer.build(model.trainable_variables)
        model.load_weights(os.path.join(self.dir, state["weights"]))


class _Clock:
    """Elapsed time, per-phase timings, progress events and cancellation points of one run."""

    def __init__(
        self, progress: Callable[[dict[str, Any]], None], should_stop: Callable[[], bool]
    ) -> None:
        self.start = self.mark = time.monotonic()
        self.timings: dict[str, float] = {}
        self.progress, self.should_stop = progress, should_stop

    def elapsed(self) -> float:
        return round(time.monotonic() - self.start, 3)

    def emit(self, event: dict[str, Any]) -> None:
        self.progress({**event, "elapsed": self.elapsed()})

    def stop_point(self, phase: str) -> None:
        if self.should_stop():
            raise TrainingCancelled(f"Cancelled before {phase}")

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.timings[name] = round(self.timings.get(name, 0.0) + now - self.mark, 3)
        self.mark = now


@dataclass
class _Backbone:
    spec: BackboneSpec
    model: Any  # the backbone layer (fine-tuning unfreezes its top)
    scaling: Any
    namespace: str  # feature-cache key: backbone, preprocessing, weights
    predict: Callable[[Any], Any]  # batch -> features
    runtime: str | None  # the runtime that extracts, None when every feature was cached


def train(
    *,
    samples: list[Sample],
    labels: list[str],
    params: TrainParams,
    backbone_weights: str | None,
    cache_dir: str,
    out_dir: str,
    progress: Callable[[dict[str, Any]], None] = _noop,
    should_stop: Callable[[], bool] = _never,
    resume_dir: str | None = None,
    extract_runtime: str = "auto",
) -> TrainResult:
    """Train an image classifier by transfer learning and save it as out_dir/model.keras.

    extract_runtime: "auto" (ONNX Runtime on a CPU-only TensorFlow worker, else Keras), "onnx"
    or "keras"; it changes the speed of feature extraction, never the features.

    Raises ValueError (bad input), BackboneUnavailable, TrainingCancelled.
    """
    clock = _Clock(progress, should_stop)
    params.validate()
    _check_inputs(samples, labels)
    k = len(labels)
    y = np.array([s.label for s in samples], dtype=np.int64)
    train_idx, val_idx = stratified_split(
        y, [s.key for s in samples], params.validation_split, params.seed, k
    )

    bb = _prepare_backbone(params, samples, backbone_weights, cache_dir, extract_runtime, clock)
    clock.stop_point("extracting")
    feats = _extract(bb, samples, cache_dir, with_flip=params.augmentation, clock=clock)
    clock.lap("extracting")
    clock.stop_point("training")
    # The label check needs only the features: it runs beside the head training (both release
    # the GIL in their numeric kernels), hiding most of its seconds. So does the
    # unknown-detector, on a thread of its own: in series the two outlasted the head.
    label_check_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="aimaker-doubts")
    label_check = label_check_pool.submit(find_doubts, feats.orig, y, k, params.seed)
    tta = feats.flip is not None
    unknown_fit = None
    if params.mode == "quick":  # the served features are the frozen ones
        seen = (feats.orig + feats.flip) / 2 if tta else feats.orig
        unknown_fit = label_check_pool.submit(
            fit_unknown_detector, seen, y, labels, seed=params.seed
        )
    label_check_pool.shutdown(wait=False)

    fingerprint = hashlib.sha256(
        json.dumps(
            [params.to_dict(), labels, bb.namespace, [(s.key, s.label) for s in samples]]
        ).encode()
    ).hexdigest()
    ckpt = _Checkpoints(resume_dir if params.mode == "finetune" else None, fingerprint)
    state = ckpt.load()
    # With mirrored features at hand the saved model averages image+mirror (TTA); validate that.
    x_val = (feats.orig[val_idx] + feats.flip[val_idx]) / 2 if tta else feats.orig[val_idx]
    head, head_history, head_info = _train_head(
        params=params, feats=feats, y=y, train_idx=train_idx, x_val=x_val,
        y_val=y[val_idx], k=k, state=state, clock=clock,
    )  # fmt: skip
    clock.lap("training")

    finetune_history: list[dict[str, Any]] = []
    serving = _end_to_end(bb.spec, bb.model, bb.scaling, head, [], tta=tta)
    if params.mode == "finetune":
        clock.stop_point("finetuning")
        finetune_history = _finetune(
            spec=bb.spec,
            backbone=bb.model,
            scaling=bb.scaling,
            head=head,
            samples=samples,
            y=y,
            train_idx=train_idx,
            val_idx=val_idx,
            params=params,
            ckpt=ckpt,
            state=state,
            extra_state={"head_history": head_history, "head_info": head_info},
            emit=clock.emit,
            should_stop=should_stop,
            elapsed=clock.elapsed,
        )
        clock.lap("finetuning")

    clock.stop_point("evaluating")
    clock.emit({"phase": "evaluating"})
    val_probs = _validation_probabilities(
        params=params, serving=serving, head=head, samples=samples, val_idx=val_idx,
        y_val=y[val_idx], x_val=x_val, size=bb.spec.input_size,
    )  # fmt: skip
    metrics = classification_metrics(val_probs, y[val_idx], labels, val_idx)
    metrics["train_count"] = int(len(train_idx))
    metrics["best_epoch"] = head_info.get("best_epoch")
    metrics["doubts"], metrics["doubts_info"] = _label_check_result(label_check)
    history = head_history + finetune_history
    metrics["history"] = history
    temperature, metrics["calibration"] = fit_temperature(val_probs, y[val_idx])
    metrics["calibration"]["temperature"] = temperature
    if unknown_fit is not None:
        detector, metrics["unknown"] = _unknown_result(unknown_fit.result)
    else:  # fine-tuning changed the backbone: the features come from the model
        clock.emit({"phase": "evaluating", "event": "features"})
        seen = _model_features(bb, tta, samples, params.batch_size)
        detector, metrics["unknown"] = _unknown_result(
            functools.partial(fit_unknown_detector, seen, y, labels, seed=params.seed)
        )
    if detector is not None:
        detector.temperature = temperature
    clock.lap("evaluating")
    clock.stop_point("saving")

    clock.emit({"phase": "saving"})
    model_path, onnx_path, preprocessing, backbone_dict = _save(
        params=params, bb=bb, serving=serving, head=head, tta=tta, labels=labels,
        detector=detector,
        backbone_weights=backbone_weights, feature_dim=feats.orig.shape[1],
        cache_dir=cache_dir, out_dir=out_dir, extract_runtime=extract_runtime,
    )  # fmt: skip
    clock.lap("saving")
    clock.timings["total"] = clock.elapsed()
    clock.emit({"phase": "done", "val_accuracy": metrics["val_accuracy"]})
    return TrainResult(
        model_path=model_path,
        onnx_path=onnx_path,
        unknown_path=os.path.join(out_dir, UNKNOWN_FILENAME) if detector is not None else None,
        labels=list(labels),
        preprocessing=preprocessing,
        backbone=backbone_dict,
        metrics=metrics,
        history=history,
        timings=clock.timings,
        extract_images_per_s=feats.images_per_s,
        extract_runtime=bb.runtime,
        cache_hits=feats.hits,
        cache_misses=feats.misses,
        params=params.to_dict(),
    )


def embed(
    *,
    samples: list[Sample],
    params: TrainParams,
    backbone_weights: str | None,
    cache_dir: str,
    extract_runtime: str = "auto",
    progress: Callable[[dict[str, Any]], None] = _noop,
    should_stop: Callable[[], bool] = _never,
    mirrored: bool = False,
) -> np.ndarray:
    """The frozen backbone's features of `samples` (N, D), through the same feature cache as
    training (a later run with these parameters finds them there).

    mirrored: the mean of the image's and its mirror image's features, as a model trained with
    augmentation computes them when it serves."""
    clock = _Clock(progress, should_stop)
    flat = dataclasses.replace(params, augmentation=mirrored)
    bb = _prepare_backbone(flat, samples, backbone_weights, cache_dir, extract_runtime, clock)
    feats = _extract(bb, samples, cache_dir, with_flip=mirrored, clock=clock)
    return (feats.orig + feats.flip) / 2 if mirrored else feats.orig


def _extract(
    bb: _Backbone, samples: list[Sample], cache_dir: str, *, with_flip: bool, clock: _Clock
) -> Any:
    """Features of `samples` through the feature cache (mirrored ones too with `with_flip`)."""
    batch = EXTRACT_BATCH[bb.runtime or "keras"] // (2 if with_flip else 1)
    return extract_features(
        bb.predict,
        samples,
        FeatureCache(cache_dir, bb.namespace),
        bb.spec.input_size,
        batch,
        with_flip=with_flip,
        should_stop=clock.should_stop,
        progress=clock.emit,
    )


def _prepare_backbone(
    params: TrainParams,
    samples: list[Sample],
    backbone_weights: str | None,
    cache_dir: str,
    extract_runtime: str,
    clock: _Clock,
) -> _Backbone:
    """Load the pretrained backbone; convert it for fast extraction only if a feature is missing."""
    clock.emit({"phase": "preparing"})
    import keras

    keras.utils.set_random_seed(params.seed)
    spec = get_spec(params.backbone)
    feature_model, backbone, scaling = build_feature_model(spec, backbone_weights)
    weights_id = _weights_id(spec, backbone_weights, params.seed)
    namespace = f"{spec.name}-p{PREPROCESSING_VERSION}-{spec.input_size}-{weights_id}"
    cache = FeatureCache(cache_dir, namespace)
    variants = ("orig", "flip") if params.augmentation else ("orig",)
    bb = _Backbone(spec, backbone, scaling, namespace, feature_model.predict_on_batch, None)
    clock.lap("preparing")
    if not all(cache.has(s.key, v) for s in samples for v in variants):
        extractor = feature_extractor(
            feature_model,
            cache_dir=cache_dir,
            namespace=namespace,
            runtime=extract_runtime,
            on_convert=lambda: clock.emit({"phase": "converting"}),
        )
        bb.predict, bb.runtime = extractor.predict, extractor.runtime
        clock.lap("converting" if extractor.convert_seconds is not None else "preparing")
    return bb


def _train_head(
    *,
    params: TrainParams,
    feats: Any,
    y: np.ndarray,
    train_idx: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    k: int,
    state: dict[str, Any] | None,
    clock: _Clock,
) -> tuple[tuple[Any, Any], list[dict[str, Any]], dict[str, Any]]:
    """The classifier head on the features: (dropout, dense), its epoch history, its info."""
    if state is not None:
        # Resuming fine-tuning: the head (and more) comes back with the checkpointed weights.
        return build_head(k, params.dropout), list(state["head_history"]), dict(state["head_info"])
    x_tr, y_tr = feats.orig[train_idx], y[train_idx]
    if feats.flip is not None:  # mirrored photos are as valid as the originals
        x_tr = np.concatenate([x_tr, feats.flip[train_idx]])
        y_tr = np.concatenate([y_tr, y[train_idx]])
    history: list[dict[str, Any]] = []
    *head, info = fit_head(
        x_train=x_tr,
        y_train=y_tr,
        x_val=x_val,
        y_val=y_val,
        num_labels=k,
        dropout=params.dropout,
        learning_rate=params.learning_rate,
        batch_size=params.batch_size,
        epochs=params.epochs,
        patience=params.patience,
        progress=clock.emit,
        should_stop=clock.should_stop,
        elapsed=clock.elapsed,
        history=history,
    )
    return tuple(head), history, info


def _validation_probabilities(
    *,
    params: TrainParams,
    serving: Any,
    head: tuple[Any, Any],
    samples: list[Sample],
    val_idx: np.ndarray,
    y_val: np.ndarray,
    x_val: np.ndarray,
    size: int,
) -> np.ndarray:
    import keras

    if params.mode == "finetune":  # the backbone changed: run the images end to end
        val_ds = make_image_dataset(
            [samples[i].path for i in val_idx], y_val, size, params.batch_size, False, 0
        )
        return np.asarray(serving.predict(val_ds, verbose=0))
    dropout, dense = head
    # Backend-agnostic: a torch tensor that tracks gradients refuses np.asarray.
    return keras.ops.convert_to_numpy(dense(dropout(x_val, training=False), training=False))


def _model_features(bb: _Backbone, tta: bool, samples: list[Sample], batch_size: int) -> np.ndarray:
    """The pooled features of every sample as the (fine-tuned) served model computes them."""
    import keras

    features = keras.Model(*_served_features(bb.spec, bb.model, bb.scaling, [], tta))
    size = bb.spec.input_size
    ds = make_image_dataset([s.path for s in samples], np.zeros(len(samples), np.int64), size,
                            batch_size, False, 0)  # fmt: skip
    return np.asarray(features.predict(ds, verbose=0))


def _unknown_result(fit: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    try:
        return fit()
    except Exception as exc:  # noqa: BLE001 - the model is good without it: predictions say null
        log.warning("the unknown-detector could not be fitted", exc_info=True)
        return None, {"method": "knn_cosine", "error": (str(exc) or type(exc).__name__)[:300]}


def _label_check_result(label_check: Any) -> tuple[list[Any], dict[str, Any]]:
    try:
        return label_check.result()
    except Exception as exc:  # noqa: BLE001 - the model is good without it; say why it is missing
        error = (str(exc) or type(exc).__name__)[:300]
        return [], {"method": "confident_learning", "error": error}


def _save(
    *,
    params: TrainParams,
    bb: _Backbone,
    serving: Any,
    head: tuple[Any, Any],
    tta: bool,
    labels: list[str],
    detector: Any,
    backbone_weights: str | None,
    feature_dim: int,
    cache_dir: str,
    out_dir: str,
    extract_runtime: str,
) -> tuple[str, str | None, dict[str, Any], dict[str, Any]]:
    """model.keras, model.onnx (quick mode, when this worker converts), unknown.npz (the
    unknown-detector, when there were enough images) and model.json."""
    model_path = os.path.join(out_dir, MODEL_FILENAME)
    atomic_write_path(model_path, serving.save)
    if detector is not None:
        data = detector.to_bytes()
        atomic_write_bytes(os.path.join(out_dir, UNKNOWN_FILENAME), lambda f: f.write(data))
    onnx_path = None
    if params.mode == "quick":  # fine-tuning changed the backbone: its cached form is stale
        onnx_path = _serving_onnx(
            backbone_path=backbone_onnx_path(cache_dir, bb.namespace),
            head=head,
            tta=tta,
            out_path=os.path.join(out_dir, ONNX_FILENAME),
            runtime=extract_runtime,
        )
    preprocessing = preprocessing_info(bb.spec)
    backbone_dict = backbone_info(bb.spec, backbone_weights, feature_dim)
    _atomic_json(
        os.path.join(out_dir, META_FILENAME),
        {"labels": labels, "preprocessing": preprocessing, "backbone": backbone_dict},
    )
    return model_path, onnx_path, preprocessing, backbone_dict


def _serving_onnx(
    *, backbone_path: str, head: tuple[Any, Any], tta: bool, out_path: str, runtime: str
) -> str | None:
    """The serving model as ONNX from the converted backbone, when this worker converts
    backbones (else the serving side converts model.keras later, slower)."""
    if resolve_runtime(runtime) != "onnx" or not os.path.isfile(backbone_path):
        return None
    kernel, bias = head[1].get_weights()
    try:
        serving_onnx_write(
            backbone_path=backbone_path, kernel=kernel, bias=bias, tta=tta, out_path=out_path
        )
    except Exception:  # noqa: BLE001 - model.keras is saved; serving can still convert it
        log.warning("could not build %s from %s", out_path, backbone_path, exc_info=True)
        return None
    return out_path


def _finetune(
    *,
    spec: BackboneSpec,
    backbone: Any,
    scaling: Any,
    head: tuple[Any, Any],
    samples: list[Sample],
    y: np.ndarray,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    params: TrainParams,
    ckpt: _Checkpoints,
    state: dict[str, Any] | None,
    extra_state: dict[str, Any],
    emit: Callable[[dict[str, Any]], None],
    should_stop: Callable[[], bool],
    elapsed: Callable[[], float],
) -> list[dict[str, Any]]:
    """Unfreeze the top backbone layers (BatchNorm stays frozen) and train end to end."""
    import keras

    backbone.trainable = True
    n_unfrozen = min(params.finetune_layers, len(backbone.layers))
    for i, layer in enumerate(backbone.layers):
        top = i >= len(backbone.layers) - n_unfrozen
        # Frozen BatchNorm runs in inference mode: small batches would wreck its statistics.
        layer.trainable = top and not isinstance(layer, keras.layers.BatchNormalization)
    aug = _augmentation_layers(params.seed) if params.augmentation else []
    model = _end_to_end(spec, backbone, scaling, head, aug)
    model.compile(
        optimizer=keras.optimizers.Adam(params.finetune_learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history: list[dict[str, Any]] = []
    start_epoch = 0
    if state is not None:
        ckpt.restore(model, state)
        start_epoch = int(state["epoch"])
        history = list(state["finetune_history"])
        emit({"phase": "finetuning", "event": "resumed", "epoch": start_epoch})
    if start_epoch >= params.finetune_epochs:
        return history
    size = spec.input_size
    train_ds = make_image_dataset(
        [samples[i].path for i in train_idx],
        y[train_idx],
        size,
        params.batch_size,
        True,
        params.seed + start_epoch,  # a resumed run still sees fresh batch orders
    )
    val_ds = make_image_dataset(
        [samples[i].path for i in val_idx], y[val_idx], size, params.batch_size, False, 0
    )

    def save_checkpoint(epoch: int) -> None:
        ckpt.save(model, epoch, {**extra_state, "finetune_history": history})

    cb = make_callbacks(
        phase="finetuning",
        epochs=params.finetune_epochs,
        batches=len(train_ds),
        progress=emit,
        should_stop=should_stop,
        elapsed=elapsed,
        history=history,
        restore_best=False,
        patience=None,
        on_epoch_saved=save_checkpoint,
    )
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=params.finetune_epochs,
        initial_epoch=start_epoch,
        verbose=0,
        callbacks=[cb],
    )
    cb.raise_if_cancelled()
    return history
