"""The serving model as ONNX, built from the cached backbone file and the trained head.

Converting the whole end-to-end Keras model with tf2onnx takes about 8 s on 2 cores (twice the
backbone with mirroring); the frozen backbone is already converted once per (backbone, weights)
for feature extraction, so a quick run only appends its head: mirror, backbone, average, dense,
softmax, the same arithmetic as the Keras model (a test compares them). Fine-tuned backbones
differ from the cached one and are converted whole instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .features import atomic_write_bytes

INPUT = "image"
OUTPUT = "probabilities"
FEATURES = "features"  # the pooled features the head reads: the unknown-detector's input


def serving_onnx_write(
    *, backbone_path: str, kernel: np.ndarray, bias: np.ndarray, tta: bool, out_path: str
) -> None:
    """Write image -> (probabilities, features) ONNX to out_path (atomically).

    tta: average the features of the image and its mirror image, as the Keras model does; the
    mirrored copies go through the backbone in the same batch (one graph, no duplicate weights).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    backbone = onnx.load(backbone_path)
    graph = backbone.graph
    source, features = graph.input[0].name, graph.output[0].name
    size = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim][1:]
    nodes: list[Any] = []
    consts = []

    def const(name: str, value: np.ndarray) -> str:
        consts.append(numpy_helper.from_array(value, name))
        return name

    batch_input = INPUT
    if tta:
        batch_input = "aimaker_pair"
        nodes += [
            helper.make_node(
                "Slice",
                [
                    INPUT,
                    const("aimaker_flip_starts", np.array([-1], np.int64)),
                    const("aimaker_flip_ends", np.array([np.iinfo(np.int64).min], np.int64)),
                    const("aimaker_flip_axes", np.array([2], np.int64)),  # NHWC width
                    const("aimaker_flip_steps", np.array([-1], np.int64)),
                ],
                ["aimaker_mirrored"],
            ),
            helper.make_node("Concat", [INPUT, "aimaker_mirrored"], [batch_input], axis=0),
        ]
    for node in graph.node:
        node.input[:] = [batch_input if name == source else name for name in node.input]
    nodes += list(graph.node)
    pooled = features
    if tta:
        dim = int(kernel.shape[0])
        shape = const("aimaker_pair_shape", np.array([2, -1, dim], np.int64))
        opset = next(o.version for o in backbone.opset_import if o.domain in ("", "ai.onnx"))
        if opset >= 18:  # axes became an input (torch's exporter writes opset 18+)
            mean = helper.make_node(
                "ReduceMean",
                ["aimaker_pairs", const("aimaker_mean_axes", np.array([0], np.int64))],
                ["aimaker_mean"],
                keepdims=0,
            )
        else:
            mean = helper.make_node(
                "ReduceMean", ["aimaker_pairs"], ["aimaker_mean"], axes=[0], keepdims=0
            )
        nodes += [helper.make_node("Reshape", [features, shape], ["aimaker_pairs"]), mean]
        pooled = "aimaker_mean"
    nodes += [
        helper.make_node(
            "Gemm",
            [
                pooled,
                const("aimaker_kernel", np.asarray(kernel, np.float32)),
                const("aimaker_bias", np.asarray(bias, np.float32)),
            ],
            ["aimaker_logits"],
        ),
        helper.make_node("Softmax", ["aimaker_logits"], [OUTPUT], axis=-1),
        helper.make_node("Identity", [pooled], [FEATURES]),
    ]
    model = helper.make_model(
        helper.make_graph(
            nodes,
            "aimaker_serving",
            [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", *size])],
            [
                helper.make_tensor_value_info(
                    OUTPUT, TensorProto.FLOAT, ["N", int(kernel.shape[1])]
                ),
                helper.make_tensor_value_info(
                    FEATURES, TensorProto.FLOAT, ["N", int(kernel.shape[0])]
                ),
            ],
            initializer=[*graph.initializer, *consts],
        ),
        opset_imports=backbone.opset_import,
        ir_version=backbone.ir_version,
    )
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    atomic_write_bytes(out_path, lambda f: f.write(data))
