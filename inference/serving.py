"""The serving process's model cache: a bounded LRU of loaded models, keyed by version.

Loading is slow (seconds) and a model is big, so each process keeps the few most used ones.
One lock per key makes concurrent first requests load a model once; predictions on a loaded
model are thread-safe (training.ml's Predictor serialises calls into the Keras graph, ONNX
Runtime sessions are thread-safe). Keras is imported only when a model is first loaded.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from training.ml import ONNX_FILENAME, UNKNOWN_FILENAME  # no Keras import
from training.ml.unknown import UnknownDetector, calibrate

log = logging.getLogger(__name__)

CacheKey = tuple[int, str]


class ModelUnavailable(Exception):
    """The version's model file is missing or cannot be loaded."""


@dataclass
class LoadedModel:
    key: CacheKey
    labels: list[str]
    input_size: int
    runtime: str  # "keras" | "onnx"
    _keras: Any = None  # training.ml Predictor
    _onnx: Any = None  # onnxruntime.InferenceSession
    _onnx_input: str = ""
    detector: UnknownDetector | None = None  # from unknown.npz, when the model has features
    loaded_at: float = field(default_factory=time.monotonic)

    def preprocess(self, images: Sequence[Image.Image]) -> np.ndarray:
        from training.ml.data import preprocess_images

        return preprocess_images(images, self.input_size)

    def predict_array(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for preprocessed images."""
        return self.predict_open(x)[0]

    def predict_open(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Calibrated probabilities and unknown scores (None: the version has no detector)."""
        if self._onnx is not None:
            out = self._onnx.run(None, {self._onnx_input: x})
            probs, feats = np.asarray(out[0]), (np.asarray(out[1]) if len(out) > 1 else None)
        else:
            probs, feats = self._keras.predict_both(x)
        if self.detector is None or feats is None:
            return probs, None
        return calibrate(probs, self.detector.temperature), self.detector.scores(feats)

    def predict(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Probabilities, shape (len(images), len(labels))."""
        if not images:
            return np.zeros((0, len(self.labels)), np.float32)
        return self.predict_array(self.preprocess(images))


def _local_copy(name: str) -> tuple[str, bool]:
    """A local file path for a storage name (a temporary copy for remote storages)."""
    try:
        return default_storage.path(name), False
    except NotImplementedError:
        suffix = os.path.splitext(name)[1]
        fd, tmp = tempfile.mkstemp(suffix=suffix)
        with os.fdopen(fd, "wb") as out, default_storage.open(name, "rb") as src:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                out.write(chunk)
        return tmp, True


def onnx_artifact_path(model_path: str) -> str:
    """Where the ONNX form of a model.keras lives: next to it, written when the version is made."""
    return f"{model_path.rsplit('/', 1)[0]}/{ONNX_FILENAME}"


def _storage_write_atomic(name: str, data: bytes) -> None:
    """Readers see the whole file or none: write a temporary file, then rename it (local
    storage); a remote storage's single PUT is atomic already."""
    try:
        final = default_storage.path(name)
    except NotImplementedError:
        if not default_storage.exists(name):
            default_storage.save(name, ContentFile(data))
        return
    os.makedirs(os.path.dirname(final), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(final), prefix=".onnx-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def onnx_artifact_write(*, model_path: str) -> str:
    """Convert model.keras to ONNX once and store it next to it (the slow part of the first
    prediction: seconds). Returns the artifact's storage name; does nothing if it exists."""
    from inference.export import keras_to_onnx_bytes
    from training.ml.predictor import load_predictor, with_features

    name = onnx_artifact_path(model_path)
    if default_storage.exists(name):
        return name
    local, temporary = _local_copy(model_path)
    try:
        model = load_predictor(local, warm_up=False).model
    finally:
        if temporary:
            os.unlink(local)
    _storage_write_atomic(name, keras_to_onnx_bytes(with_features(model)))
    return name


def _session_options(ort: Any) -> Any:
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.AIMAKER_SERVING_THREADS
    # Idle threads sleep instead of spinning: the web processes share the cores. 2 processes
    # on 2 cores, 4 clients: 39 -> 56 predictions/s, explanations 326 -> 255-290 ms.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _load_onnx_artifact(key: CacheKey, name: str, labels: list[str]) -> LoadedModel:
    """Serve straight from the stored ONNX file: no Keras, no conversion."""
    import onnxruntime as ort

    with default_storage.open(name, "rb") as f:
        data = f.read()
    options = _session_options(ort)
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    size = int(session.get_inputs()[0].shape[1])
    if int(session.get_outputs()[0].shape[-1]) != len(labels):
        raise ModelUnavailable("The model does not match the labels of its training run.")
    loaded = LoadedModel(key=key, labels=labels, input_size=size, runtime="onnx")
    loaded._onnx, loaded._onnx_input = session, session.get_inputs()[0].name
    loaded.predict_array(np.zeros((1, size, size, 3), np.float32))  # warm
    return loaded


def unknown_artifact_path(model_path: str) -> str:
    return f"{model_path.rsplit('/', 1)[0]}/{UNKNOWN_FILENAME}"


def unknown_detector_read(model_path: str) -> UnknownDetector | None:
    """The version's unknown-detector (None for versions trained before there was one)."""
    try:
        with default_storage.open(unknown_artifact_path(model_path), "rb") as f:
            return UnknownDetector.from_bytes(f.read())
    except (FileNotFoundError, OSError):
        return None
    except Exception:  # noqa: BLE001 - a broken file: the model still predicts, unjudged
        log.warning("cannot read the unknown-detector of %s", model_path, exc_info=True)
        return None


def load_model(*, key: CacheKey, model_path: str, labels: list[str], runtime: str) -> LoadedModel:
    """Load an app-produced model and its unknown-detector."""
    loaded = _load_model(key=key, model_path=model_path, labels=labels, runtime=runtime)
    loaded.detector = unknown_detector_read(model_path)
    return loaded


def _load_model(*, key: CacheKey, model_path: str, labels: list[str], runtime: str) -> LoadedModel:
    """Its stored ONNX form when serving with ONNX Runtime, else model.keras (safe_mode: no
    arbitrary code) from storage."""
    from training.ml.predictor import load_predictor

    if not default_storage.exists(model_path):
        raise ModelUnavailable("The model file of this version is missing.")
    onnx_name = onnx_artifact_path(model_path)
    if runtime == "onnx" and default_storage.exists(onnx_name):
        try:
            return _load_onnx_artifact(key, onnx_name, labels)
        except ModelUnavailable:
            raise
        except Exception:  # noqa: BLE001 - a broken artifact: serve from model.keras instead
            log.warning("cannot load %s; converting again", onnx_name, exc_info=True)
    local, temporary = _local_copy(model_path)
    try:
        predictor = load_predictor(local, warm_up=runtime == "keras")
    except Exception as exc:  # noqa: BLE001 - a broken file must not become a 500
        log.exception("cannot load %s", model_path)
        raise ModelUnavailable("The model of this version cannot be loaded.") from exc
    finally:
        if temporary:
            os.unlink(local)
    if predictor.num_labels != len(labels):
        raise ModelUnavailable("The model does not match the labels of its training run.")
    loaded = LoadedModel(key=key, labels=labels, input_size=predictor.input_size, runtime="keras")
    loaded._keras = predictor
    if runtime == "onnx":
        try:
            _attach_onnx(loaded, predictor.model, store_as=onnx_name)
        except Exception:  # noqa: BLE001 - the Keras model still serves, only slower
            log.warning("ONNX conversion of %s failed; serving with Keras", model_path,
                        exc_info=True)  # fmt: skip
            predictor.predict_array(np.zeros((1,) + (loaded.input_size,) * 2 + (3,), np.float32))
    return loaded


def _attach_onnx(loaded: LoadedModel, model: Any, *, store_as: str) -> None:
    """Convert to ONNX and serve with ONNX Runtime (faster per request on CPU). Only versions
    made before the artifact existed (or whose artifact broke) get here: the result is stored,
    so this happens once."""
    import onnxruntime as ort

    from inference.export import keras_to_onnx_bytes
    from training.ml.predictor import with_features

    data = keras_to_onnx_bytes(with_features(model))
    try:
        _storage_write_atomic(store_as, data)
    except Exception:  # noqa: BLE001 - storing is an optimisation; serving goes on
        log.warning("could not store %s", store_as, exc_info=True)
    options = _session_options(ort)
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    size = loaded.input_size
    loaded._onnx = session
    loaded._onnx_input = session.get_inputs()[0].name
    loaded.runtime = "onnx"
    loaded.predict_array(np.zeros((1, size, size, 3), np.float32))  # warm


class ModelCache:
    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._models: OrderedDict[CacheKey, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()
        self._load_locks: dict[CacheKey, threading.Lock] = {}

    def get(
        self, *, key: CacheKey, model_path: str, labels: list[str], runtime: str
    ) -> LoadedModel:
        with self._lock:
            model = self._models.get(key)
            if model is not None:
                self._models.move_to_end(key)
                return model
            load_lock = self._load_locks.setdefault(key, threading.Lock())
        with load_lock:  # one load per key; other requests for it wait for that one
            with self._lock:
                model = self._models.get(key)
                if model is not None:
                    return model
            model = load_model(key=key, model_path=model_path, labels=labels, runtime=runtime)
            with self._lock:
                self._models[key] = model
                self._models.move_to_end(key)
                while len(self._models) > self.max_size:
                    evicted, _ = self._models.popitem(last=False)
                    self._load_locks.pop(evicted, None)
            return model

    def holds(self, key: CacheKey) -> bool:
        with self._lock:
            return key in self._models

    def keys(self) -> list[CacheKey]:
        with self._lock:
            return list(self._models)

    def clear(self) -> None:
        with self._lock:
            self._models.clear()
            self._load_locks.clear()


cache = ModelCache(settings.AIMAKER_SERVING_CACHE_SIZE)


def _key(version: Any) -> CacheKey:
    # The storage location is part of the key: ids can repeat across databases (tests).
    location = str(getattr(default_storage, "location", "") or default_storage.__class__.__name__)
    return (version.pk, f"{location}|{version.model_path}")


def get_model(version: Any, *, runtime: str | None = None) -> LoadedModel:
    """The loaded model of a ModelVersion, from the cache or loaded now."""
    return cache.get(
        key=_key(version),
        model_path=version.model_path,
        labels=version.labels,
        runtime=runtime or settings.AIMAKER_SERVING_RUNTIME,
    )


def is_loaded(version: Any) -> bool:
    """True when predicting with `version` needs no model load in this process."""
    return cache.holds(_key(version))


def warm_in_background(version: Any) -> threading.Thread:
    """Load a version into this process's cache without making anyone wait for it."""
    kwargs = {
        "key": _key(version),
        "model_path": version.model_path,
        "labels": version.labels,
        "runtime": settings.AIMAKER_SERVING_RUNTIME,
    }

    def run() -> None:
        try:
            cache.get(**kwargs)
        except Exception:  # noqa: BLE001 - warming is an optimisation; the request will retry
            log.warning("warming model %s failed", kwargs["key"], exc_info=True)

    thread = threading.Thread(target=run, name=f"warm-model-{version.pk}", daemon=True)
    thread.start()
    return thread


def warm_defaults() -> None:
    """Load the default versions of the most recently changed projects into this process's
    cache (as many as it holds). Never raises: requests load whatever this could not."""
    from django.db import close_old_connections

    from inference.models import ModelVersion

    try:
        defaults = list(
            ModelVersion.objects.filter(is_default=True)
            .select_related("run")
            .order_by("-project__updated_at")[: cache.max_size]
        )
        for version in defaults:
            try:
                get_model(version)
            except Exception:  # noqa: BLE001 - one broken model must not stop the others
                log.warning("warming model %s failed", version.pk, exc_info=True)
    except Exception as exc:  # noqa: BLE001 - e.g. not migrated yet: requests load them
        log.warning("warming the default models failed: %s", exc)
    finally:
        close_old_connections()


def warm_defaults_in_background() -> threading.Thread:
    """warm_defaults() in a thread, for callers that must not wait."""
    thread = threading.Thread(target=warm_defaults, name="warm-default-models", daemon=True)
    thread.start()
    return thread
