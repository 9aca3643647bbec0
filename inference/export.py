"""Export a version's model as a ZIP: Keras, TensorFlow SavedModel, TFLite or ONNX.

Each ZIP holds the model, labels.json, preprocessing.json and a README with a working example.
Django-free apart from the arguments: the caller passes local paths and metadata.
TensorFlow/Keras are imported inside the functions (the web process stays light).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from training.ml.extractor import ensure_called, export_onnx

FORMATS = {
    "keras": "Keras 3 (.keras)",
    "savedmodel": "TensorFlow SavedModel",
    "tflite": "TensorFlow Lite (float32, float16, dynamic-range int8)",
    "onnx": "ONNX",
}

_PREPROCESS_SNIPPET = '''from PIL import Image
import json
import numpy as np

pre = json.load(open("preprocessing.json"))
labels = json.load(open("labels.json"))
size = pre["input_size"]


def load(path):
    """RGB, shorter side to `size`, centre crop; float32 0..255 (scaling is inside the model)."""
    img = Image.open(path).convert("RGB")
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) / 2, (h - side) / 2
    img = img.resize((size, size), Image.BILINEAR, box=(left, top, left + side, top + side))
    return np.asarray(img, dtype=np.float32)[None]  # (1, size, size, 3)


x = load("photo.jpg")
'''

_PREDICT = {
    "keras": """import keras

model = keras.saving.load_model("model.keras", safe_mode=True, compile=False)
probs = model.predict(x, verbose=0)[0]
""",
    "savedmodel": """import tensorflow as tf

model = tf.saved_model.load("saved_model")
probs = model.serve(tf.constant(x)).numpy()[0]
""",
    "tflite": """import tensorflow as tf  # or: from ai_edge_litert.interpreter import Interpreter

interpreter = tf.lite.Interpreter(model_path="model.tflite")
interpreter.allocate_tensors()
inp = interpreter.get_input_details()[0]
out = interpreter.get_output_details()[0]
interpreter.set_tensor(inp["index"], x)
interpreter.invoke()
probs = interpreter.get_tensor(out["index"])[0]
""",
    "onnx": """import onnxruntime as ort

session = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
probs = session.run(None, {session.get_inputs()[0].name: x})[0][0]
""",
}

# "Not sure": the formats whose model gives the pooled features too (the detector's input).
UNKNOWN_FORMATS = ("keras", "onnx")
_FEATURES = {
    "keras": """both = keras.Model(model.inputs, [model.outputs[0], model.layers[-1].input])
probs, features = (np.asarray(a) for a in both.predict(x, verbose=0))
""",
    "onnx": """probs, features = session.run(None, {session.get_inputs()[0].name: x})
""",
}
_UNKNOWN = """
# "Not sure": cosine distance to the k-th nearest training image, above the threshold = unknown.
detector = np.load("unknown.npz")
threshold = json.load(open("unknown.json"))["threshold"]
f = features / np.linalg.norm(features, axis=1, keepdims=True)
similarity = f @ detector["reference"].astype(np.float32).T
score = 1 - np.sort(similarity, axis=1)[:, -int(detector["k"])]
unknown = bool(score[0] > threshold)
# Calibrated probabilities (temperature scaling): the same ranking, honest confidence.
logits = np.log(np.clip(probs[0], 1e-12, 1)) / float(detector["temperature"])
probs = np.exp(logits - logits.max())
probs /= probs.sum()
"""

_FILES = {
    "keras": "- `model.keras`: the Keras 3 model (load with `safe_mode=True`).",
    "savedmodel": "- `saved_model/`: a TensorFlow SavedModel; its `serve` function takes images.",
    "tflite": (
        "- `model.tflite`: float32.\n"
        "- `model_float16.tflite`: float16 weights (half the size, nearly the same results).\n"
        "- `model_dynamic_range.tflite`: int8 weights (a quarter of the size, slightly "
        "different results)."
    ),
    "onnx": "- `model.onnx`: ONNX (opset chosen by the converter); input `image`, NHWC float32.",
}


def readme(
    *,
    fmt: str,
    project: str,
    version: str,
    labels: list[str],
    pre: dict[str, Any],
    unknown: bool = False,
) -> str:
    if unknown:
        example = (
            _PREPROCESS_SNIPPET + "\n" + _PREDICT[fmt].rsplit("\n", 2)[0] + "\n"
            + _FEATURES[fmt] + _UNKNOWN
            + "best = int(probs.argmax())\n"
            + 'said = ("not sure, closest: " if unknown else "") + labels[best]\n'
            + "print(said, float(probs[best]))\n"
        )  # fmt: skip
    else:
        example = (
            _PREPROCESS_SNIPPET
            + "\n"
            + _PREDICT[fmt]
            + ("best = int(probs.argmax())\nprint(labels[best], float(probs[best]))\n")
        )
    files = _FILES[fmt]
    if unknown:
        files += (
            "\n- `unknown.npz`, `unknown.json`: the “not sure” detector (unit-length features "
            "of training images, k, temperature) and its threshold; see the example."
        )
    return f"""# {project}, {version} — {FORMATS[fmt]}

Exported from AI Maker. The model classifies an image into one of {len(labels)} labels:
{", ".join(labels)}.

## Files

{files}
- `labels.json`: label names; index i is output i.
- `preprocessing.json`: how to prepare an image.

## Input and output

Input: a batch of RGB images, float32, shape (N, {pre.get("input_size")}, \
{pre.get("input_size")}, 3), values 0..255. Resize the shorter side to \
{pre.get("input_size")} px and crop the centre square (bilinear). Scaling
({pre.get("scaling", "inside the model")}) happens inside the model: do not normalise yourself.
Output: probabilities (softmax), shape (N, {len(labels)}).

## Example

```python
{example}```
"""


def keras_to_onnx_bytes(model: Any) -> bytes:
    """ONNX bytes of a Keras model via Keras' own exporter (tf2onnx under the hood)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        export_onnx(model, path)
        return Path(path).read_bytes()


def _savedmodel(model: Any, path: str) -> None:
    ensure_called(model)
    model.export(path, format="tf_saved_model", verbose=False)


def _tflite_variants(saved_model_dir: str) -> dict[str, bytes]:
    import tensorflow as tf

    def convert(optimize: bool, float16: bool) -> bytes:
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
        if optimize:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if float16:
            converter.target_spec.supported_types = [tf.float16]
        return converter.convert()

    return {
        "model.tflite": convert(False, False),
        "model_float16.tflite": convert(True, True),
        "model_dynamic_range.tflite": convert(True, False),
    }


def build_export(
    *,
    model_path: str,
    fmt: str,
    out_zip: str,
    labels: list[str],
    preprocessing: dict[str, Any],
    project: str,
    version: str,
    onnx_bytes: bytes | None = None,
    unknown: dict[str, Any] | None = None,
) -> str:
    """Write the ZIP for `fmt` to `out_zip` (atomically) and return its path. `onnx_bytes`:
    the version's stored ONNX model (what serves it), used as is instead of converting.
    `unknown`: {"detector": unknown.npz bytes, "threshold": float}, shipped with the formats
    that give features."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}; choose one of {', '.join(FORMATS)}.")

    def model() -> Any:  # only the formats that convert need Keras (seconds to import and load)
        import keras

        return keras.saving.load_model(model_path, compile=False, safe_mode=True)

    with tempfile.TemporaryDirectory() as tmp:
        files: dict[str, bytes] = {}
        directories: dict[str, str] = {}
        if fmt == "keras":
            files["model.keras"] = Path(model_path).read_bytes()
        elif fmt == "savedmodel":
            _savedmodel(model(), os.path.join(tmp, "saved_model"))
            directories["saved_model"] = os.path.join(tmp, "saved_model")
        elif fmt == "tflite":
            _savedmodel(model(), os.path.join(tmp, "saved_model"))
            files.update(_tflite_variants(os.path.join(tmp, "saved_model")))
        else:
            from training.ml.predictor import with_features

            files["model.onnx"] = onnx_bytes or keras_to_onnx_bytes(with_features(model()))
        unknown = unknown if fmt in UNKNOWN_FORMATS else None
        if unknown:
            files["unknown.npz"] = unknown["detector"]
            files["unknown.json"] = json.dumps({"threshold": unknown["threshold"]}).encode()
        files["labels.json"] = json.dumps(labels, indent=1).encode()
        files["preprocessing.json"] = json.dumps(preprocessing, indent=1).encode()
        files["README.md"] = readme(
            fmt=fmt,
            project=project,
            version=version,
            labels=labels,
            pre=preprocessing,
            unknown=bool(unknown),
        ).encode()
        partial = out_zip + ".partial"
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in files.items():
                zf.writestr(name, data)
            for arcdir, local in directories.items():
                for root, _dirs, names in os.walk(local):
                    for name in sorted(names):
                        full = os.path.join(root, name)
                        zf.write(full, os.path.join(arcdir, os.path.relpath(full, local)))
        shutil.move(partial, out_zip)
    return out_zip
