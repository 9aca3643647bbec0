"""Registry of pretrained backbones and how their inputs are scaled.

Scaling lives inside the saved model (a Rescaling layer) so every consumer feeds raw RGB 0..255.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


class BackboneUnavailable(Exception):
    """The pretrained backbone cannot be loaded. We never fall back to random weights."""


# Bump when resizing/cropping/scaling changes: it is part of the feature-cache key.
PREPROCESSING_VERSION = "1"
# Explicit opt-in for the tiny random-init backbone used by the test-suite only.
TEST_ONLY_WEIGHTS = "random:test-only"


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    constructor: str  # attribute of keras.applications ("" for the test-only net)
    input_size: int
    scaling: str  # "minus_one_to_one" | "zero_to_one" | "none" (backbone rescales itself)
    description: str
    test_only: bool = False


BACKBONES: dict[str, BackboneSpec] = {
    "mobilenet_v2": BackboneSpec(
        "mobilenet_v2", "MobileNetV2", 224, "minus_one_to_one", "MobileNetV2 1.0 ImageNet"
    ),
    "efficientnet_v2_b0": BackboneSpec(
        "efficientnet_v2_b0", "EfficientNetV2B0", 224, "none", "EfficientNetV2-B0 ImageNet"
    ),
    "resnet50_v2": BackboneSpec(
        "resnet50_v2", "ResNet50V2", 224, "minus_one_to_one", "ResNet50V2 ImageNet"
    ),
    "tiny_test": BackboneSpec(
        "tiny_test", "", 32, "zero_to_one", "TEST ONLY: tiny random conv net", test_only=True
    ),
}

_SCALING_TEXT = {
    "minus_one_to_one": "x / 127.5 - 1 (Rescaling layer inside the model)",
    "zero_to_one": "x / 255 (Rescaling layer inside the model)",
    "none": "raw 0..255 (the backbone normalises internally)",
}


def get_spec(name: str) -> BackboneSpec:
    try:
        return BACKBONES[name]
    except KeyError:
        raise ValueError(f"Unknown backbone {name!r}; choose one of {sorted(BACKBONES)}") from None


def preprocessing_info(spec: BackboneSpec) -> dict[str, Any]:
    """What a caller must do to an image before feeding the saved model (save it with the model)."""
    return {
        "version": PREPROCESSING_VERSION,
        "input_size": spec.input_size,
        "input_shape": [spec.input_size, spec.input_size, 3],
        "color": "RGB",
        "resize": "shorter_side_then_center_crop",
        "resample": "bilinear",
        "input_range": [0, 255],
        "dtype": "float32",
        "scaling": _SCALING_TEXT[spec.scaling],
        "mean": None,
        "std": None,
    }


def scaling_layer(spec: BackboneSpec) -> Any:
    import keras

    if spec.scaling == "minus_one_to_one":
        return keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="scaling")
    if spec.scaling == "zero_to_one":
        return keras.layers.Rescaling(1.0 / 255.0, name="scaling")
    return keras.layers.Identity(name="scaling")


def _tiny_test_net(size: int) -> Any:
    import keras

    inp = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(inp)
    x = keras.layers.Conv2D(32, 3, strides=2, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, x, name="tiny_test")


def build_backbone(spec: BackboneSpec, weights: str | None) -> Any:
    """Backbone with global average pooling, weights loaded; raises BackboneUnavailable.

    weights: a local weights file (Keras .weights.h5), or None to let Keras download ImageNet
    weights. Random initialisation is only possible for the test-only backbone, on explicit opt-in.
    """
    import keras

    if spec.test_only or weights == TEST_ONLY_WEIGHTS:
        if not (spec.test_only and weights == TEST_ONLY_WEIGHTS):
            raise BackboneUnavailable(
                f"Backbone {spec.name!r} with weights {weights!r}: random weights are only allowed "
                f"for the test-only backbone 'tiny_test' with weights={TEST_ONLY_WEIGHTS!r}."
            )
        return _tiny_test_net(spec.input_size)

    constructor = getattr(keras.applications, spec.constructor)
    shape = (spec.input_size, spec.input_size, 3)
    if weights:
        if not os.path.isfile(weights):
            raise BackboneUnavailable(
                f"Weights file for backbone {spec.name!r} not found: {weights}. Point the backbone "
                "weights setting at an existing .weights.h5 file (or leave it empty to let Keras "
                "download ImageNet weights on a machine with internet access)."
            )
        try:
            model = constructor(input_shape=shape, include_top=False, weights=None, pooling="avg")
            model.load_weights(weights)
        except Exception as exc:  # wrong file, wrong architecture, corrupt h5...
            raise BackboneUnavailable(
                f"Cannot load weights file {weights} into backbone {spec.name!r}: {exc}"
            ) from exc
        return model
    try:
        return constructor(input_shape=shape, include_top=False, weights="imagenet", pooling="avg")
    except Exception as exc:  # typically no internet access
        raise BackboneUnavailable(
            f"No weights file configured for backbone {spec.name!r} and downloading the ImageNet "
            f"weights failed ({type(exc).__name__}: {exc}). Configure a local weights file; "
            "training from random weights is never done."
        ) from exc


def build_feature_model(spec: BackboneSpec, weights: str | None) -> tuple[Any, Any, Any]:
    """(feature model, backbone, scaling): raw 0..255 RGB in, pooled features out, frozen.
    The parts are returned too: the saved end-to-end model shares their layers."""
    import keras

    backbone = build_backbone(spec, weights)
    backbone.trainable = False
    scaling = scaling_layer(spec)
    inp = keras.Input((spec.input_size, spec.input_size, 3), name="image")
    return keras.Model(inp, backbone(scaling(inp)), name="features"), backbone, scaling


def backbone_info(spec: BackboneSpec, weights: str | None, feature_dim: int) -> dict[str, Any]:
    if weights == TEST_ONLY_WEIGHTS:
        source = "random (test only)"
    elif weights:
        source = os.path.abspath(weights)
    else:
        source = "keras download (imagenet)"
    return {
        "name": spec.name,
        "description": spec.description,
        "input_size": spec.input_size,
        "feature_dim": int(feature_dim),
        "weights": source,
        "test_only": spec.test_only,
    }
