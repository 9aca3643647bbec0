"""What this worker trains on: the Keras backend and its accelerator, for the run's details
("trained on NVIDIA H200 (141 GB) with jax", or "CPU with tensorflow"). No Django imports."""

from __future__ import annotations

from typing import Any


def device_info() -> dict[str, Any]:
    import keras

    backend = keras.backend.backend()
    info: dict[str, Any] = {"backend": backend, "device": "CPU", "memory_gb": None}
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                details = tf.config.experimental.get_device_details(gpus[0])
                info["device"] = details.get("device_name") or "GPU"
        elif backend == "jax":
            import jax

            device = jax.devices()[0]
            if device.platform != "cpu":
                info["device"] = device.device_kind
                stats = device.memory_stats() or {}
                if stats.get("bytes_limit"):
                    info["memory_gb"] = round(stats["bytes_limit"] / 1e9, 1)
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                props = torch.cuda.get_device_properties(0)
                info["device"] = props.name
                info["memory_gb"] = round(props.total_memory / 1e9, 1)
    except Exception:  # noqa: BLE001 - a missing detail must never fail a run
        pass
    return info


def device_text(info: dict[str, Any] | None) -> str:
    if not info:
        return ""
    memory = f" ({info['memory_gb']:g} GB)" if info.get("memory_gb") else ""
    return f"{info.get('device', 'CPU')}{memory} with {info.get('backend', '?')}"
