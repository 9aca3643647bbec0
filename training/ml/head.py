"""Classifier head and the Keras callbacks shared by head training and fine-tuning."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .types import TrainingCancelled

HEAD_STEPS_PER_EXECUTION = 32


def build_head(num_labels: int, dropout: float) -> tuple[Any, Any]:
    """(dropout, dense) layers; reused verbatim in the saved end-to-end model."""
    import keras

    return (
        keras.layers.Dropout(dropout, name="head_dropout"),
        keras.layers.Dense(num_labels, activation="softmax", name="predictions"),
    )


def _f(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def make_callbacks(
    *,
    phase: str,
    epochs: int,
    batches: int,
    progress: Callable[[dict[str, Any]], None],
    should_stop: Callable[[], bool],
    elapsed: Callable[[], float],
    history: list[dict[str, Any]],
    restore_best: bool,
    patience: int | None,
    on_epoch_saved: Callable[[int], None] | None = None,
) -> Any:
    """One callback: progress per batch/epoch, cancellation, early stopping with best weights."""
    import keras

    class RunCallback(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.cancelled = False
            self.epoch = 0
            self.epoch_started = 0.0
            self.epoch_seconds: list[float] = []
            self.best_loss = math.inf
            self.best_weights: list[np.ndarray] | None = None
            self.best_epoch: int | None = None
            self.wait = 0

        def _eta(self, batch_fraction: float) -> float | None:
            if self.epoch_seconds:
                per_epoch = sum(self.epoch_seconds) / len(self.epoch_seconds)
            elif batch_fraction > 0:
                per_epoch = (time.monotonic() - self.epoch_started) / batch_fraction
            else:
                return None
            return max(0.0, (epochs - self.epoch - batch_fraction) * per_epoch)

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch = epoch
            self.epoch_started = time.monotonic()

        def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
            if not self.cancelled and should_stop():
                self.cancelled = True
                self.model.stop_training = True

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            logs = logs or {}
            progress(
                {
                    "phase": phase,
                    "epoch": self.epoch + 1,
                    "epochs": epochs,
                    "batch": batch + 1,
                    "batches": batches,
                    "loss": _f(logs.get("loss")),
                    "accuracy": _f(logs.get("accuracy")),
                    "elapsed": elapsed(),
                    "eta": self._eta((batch + 1) / max(1, batches)),
                }
            )

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if self.cancelled:
                return  # an interrupted epoch is not a completed one: no history, no checkpoint
            logs = logs or {}
            self.epoch_seconds.append(time.monotonic() - self.epoch_started)
            row = {
                "phase": phase,
                "epoch": epoch + 1,
                "loss": _f(logs.get("loss")),
                "accuracy": _f(logs.get("accuracy")),
                "val_loss": _f(logs.get("val_loss")),
                "val_accuracy": _f(logs.get("val_accuracy")),
                "seconds": round(self.epoch_seconds[-1], 3),
            }
            history.append(row)
            progress(
                {
                    **row,
                    "event": "epoch",
                    "epochs": epochs,
                    "elapsed": elapsed(),
                    "eta": self._eta(1.0),
                }
            )
            if on_epoch_saved is not None:
                on_epoch_saved(epoch + 1)
            val_loss = row["val_loss"]
            if patience is None or val_loss is None:
                return
            if val_loss < self.best_loss:
                self.best_loss, self.best_epoch, self.wait = val_loss, epoch + 1, 0
                if restore_best:
                    self.best_weights = self.model.get_weights()
            else:
                self.wait += 1
                if self.wait >= patience:
                    self.model.stop_training = True

        def on_train_end(self, logs: dict | None = None) -> None:
            if self.best_weights is not None and not self.cancelled:
                self.model.set_weights(self.best_weights)

        def raise_if_cancelled(self) -> None:
            if self.cancelled:
                raise TrainingCancelled(f"Cancelled during {phase}")

    return RunCallback()


def _epochs_data(
    x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, batch: int
) -> tuple[Any, dict[str, Any]]:
    """fit()'s data: on TensorFlow a tf.data pipeline, reshuffled every epoch. Keras' own
    pipeline for NumPy arrays took 2.8 s for 12 epochs of 6,100 features, this one 2.1 s."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return (x_train, y_train), {"validation_data": (x_val, y_val), "batch_size": batch,
                                    "shuffle": True}  # fmt: skip
    import tensorflow as tf

    seed = int(np.random.randint(2**31))  # follows keras.utils.set_random_seed
    train = tf.data.Dataset.from_tensor_slices((x_train, y_train))
    train = train.shuffle(len(x_train), seed=seed, reshuffle_each_iteration=True).batch(batch)
    val = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(batch)
    # shuffle=False: the pipeline reshuffles itself (fit's default would warn every run).
    return (train.prefetch(2),), {"validation_data": val, "shuffle": False}


def fit_head(
    *,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    num_labels: int,
    dropout: float,
    learning_rate: float,
    batch_size: int,
    epochs: int,
    patience: int,
    progress: Callable[[dict[str, Any]], None],
    should_stop: Callable[[], bool],
    elapsed: Callable[[], float],
    history: list[dict[str, Any]],
) -> tuple[Any, Any, dict[str, Any]]:
    """Train Dropout+Dense on cached features; returns (dropout, dense, info)."""
    import keras

    dropout_layer, dense = build_head(num_labels, dropout)
    inp = keras.Input((x_train.shape[1],), name="features")
    model = keras.Model(inp, dense(dropout_layer(inp)), name="head")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        # Batches per compiled call: a 1,280 x k layer's step is far cheaper than the Python
        # around it (5.7 s -> 3.7 s for 30 epochs of 4,900 features); progress still ticks.
        # Keras's PyTorch trainer accepts only 1.
        steps_per_execution=1 if keras.backend.backend() == "torch" else HEAD_STEPS_PER_EXECUTION,
    )
    batches = math.ceil(len(x_train) / batch_size)
    cb = make_callbacks(
        phase="training",
        epochs=epochs,
        batches=batches,
        progress=progress,
        should_stop=should_stop,
        elapsed=elapsed,
        history=history,
        restore_best=True,
        patience=patience,
    )
    data, options = _epochs_data(x_train, y_train, x_val, y_val, batch_size)
    model.fit(
        *data,
        **options,
        epochs=epochs,
        verbose=0,
        callbacks=[cb],
    )
    cb.raise_if_cancelled()
    return dropout_layer, dense, {"best_epoch": cb.best_epoch, "epochs_run": len(history)}
