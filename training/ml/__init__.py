"""Django-free learning core of AI Maker: transfer-learning image classifiers.

Keras is imported lazily inside functions so importing this package keeps the web process light.
"""

from .backbones import (
    BACKBONES,
    PREPROCESSING_VERSION,
    TEST_ONLY_WEIGHTS,
    BackboneUnavailable,
    preprocessing_info,
)
from .data import load_image, preprocess_image, stratified_split
from .device import device_info, device_text
from .predictor import Predictor, load_predictor
from .train import META_FILENAME, MODEL_FILENAME, ONNX_FILENAME, UNKNOWN_FILENAME, embed, train
from .types import (
    Sample,
    TrainingCancelled,
    TrainParams,
    TrainResult,
)

__all__ = [
    "device_info",
    "embed",
    "UNKNOWN_FILENAME",
    "device_text",
    "BACKBONES",
    "META_FILENAME",
    "MODEL_FILENAME",
    "ONNX_FILENAME",
    "PREPROCESSING_VERSION",
    "TEST_ONLY_WEIGHTS",
    "BackboneUnavailable",
    "Predictor",
    "Sample",
    "TrainParams",
    "TrainResult",
    "TrainingCancelled",
    "load_image",
    "load_predictor",
    "preprocess_image",
    "preprocessing_info",
    "stratified_split",
    "train",
]
