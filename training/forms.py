from typing import Any

from django import forms

from training.ml.types import TrainParams
from training.models import TrainingRun

_DEFAULTS = TrainParams()


class TrainingStartForm(forms.Form):
    mode = forms.ChoiceField(
        choices=TrainingRun.Mode.choices,
        initial=TrainingRun.Mode.QUICK,
        widget=forms.RadioSelect,
        help_text="Quick trains only a small head on cached features: seconds to a minute, and "
        "repeat runs are fast. Fine-tune also adapts the top of the network: slower, "
        "sometimes better.",
    )
    epochs = forms.IntegerField(
        min_value=1, max_value=1000, initial=_DEFAULTS.epochs,
        help_text="At most this many passes over the images; stops early when it stops improving.",
    )  # fmt: skip
    batch_size = forms.IntegerField(
        min_value=1, max_value=1024, initial=_DEFAULTS.batch_size,
        help_text="Images per training step.",
    )  # fmt: skip
    learning_rate = forms.FloatField(
        min_value=1e-7, max_value=1, initial=_DEFAULTS.learning_rate,
        help_text="Step size of the head's optimizer; 0.001 suits most data.",
    )  # fmt: skip
    validation_split = forms.IntegerField(
        label="Validation images (%)", min_value=1, max_value=50,
        initial=round(_DEFAULTS.validation_split * 100),
        help_text="Held out to measure accuracy, picked per label (at least 1 per label).",
    )  # fmt: skip
    augmentation = forms.BooleanField(
        required=False, initial=_DEFAULTS.augmentation,
        help_text="Also learn from mirrored (and, when fine-tuning, slightly rotated or zoomed) "
        "images.",
    )  # fmt: skip
    finetune_layers = forms.IntegerField(
        label="Top layers to fine-tune", min_value=1, max_value=1000,
        initial=_DEFAULTS.finetune_layers, help_text="Fine-tune mode only.",
    )  # fmt: skip
    finetune_epochs = forms.IntegerField(
        label="Fine-tune epochs", min_value=1, max_value=1000,
        initial=_DEFAULTS.finetune_epochs, help_text="Fine-tune mode only.",
    )  # fmt: skip
    seed = forms.IntegerField(
        min_value=0, max_value=2**31 - 1, initial=_DEFAULTS.seed,
        help_text="Same seed, same images and parameters: the same split and a comparable run.",
    )  # fmt: skip

    def params(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["validation_split"] = data["validation_split"] / 100
        return data
