from typing import Any

from django import forms

from training.models import TrainingRun
from training.presets import DEFAULT_PRESET, Preset, training_preset_params

FROM_PRESET = "As the preset says"


def plain_number(value: float) -> str:
    """0.00001, not 1e-05; 10, not 10.000000000000002."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.10f}".rstrip("0")


class TrainingStartForm(forms.Form):
    """A preset, and optional overrides under "Advanced": an empty field keeps the preset's
    value, so the form works the same with or without JavaScript."""

    preset = forms.ChoiceField(
        choices=Preset.choices, initial=DEFAULT_PRESET, required=False, widget=forms.RadioSelect
    )
    mode = forms.ChoiceField(
        label="Training mode",
        choices=[("", FROM_PRESET), *TrainingRun.Mode.choices],
        required=False,
        help_text="Quick trains only a small head on cached features. Fine-tune also adapts "
        "the top of the network: slower, sometimes better.",
    )
    epochs = forms.IntegerField(
        label="Epochs", min_value=1, max_value=1000, required=False,
        help_text="At most this many passes over the images; stops early when it stops improving.",
    )  # fmt: skip
    batch_size = forms.IntegerField(
        label="Batch size", min_value=1, max_value=1024, required=False,
        help_text="Images per training step.",
    )  # fmt: skip
    learning_rate = forms.FloatField(
        label="Learning rate", min_value=1e-7, max_value=1, required=False,
        help_text="Step size of the head's optimizer; 0.001 suits most data.",
    )  # fmt: skip
    validation_split = forms.IntegerField(
        label="Validation images (%)", min_value=1, max_value=50, required=False,
        help_text="Held out to measure accuracy, picked per label (at least 1 per label).",
    )  # fmt: skip
    augmentation = forms.ChoiceField(
        label="Mirrored images",
        choices=[("", FROM_PRESET), ("on", "Yes"), ("off", "No")],
        required=False,
        help_text="Also learn from mirrored (and, when fine-tuning, slightly rotated or zoomed) "
        "images.",
    )
    finetune_layers = forms.IntegerField(
        label="Top layers to fine-tune", min_value=1, max_value=1000, required=False,
    )  # fmt: skip
    finetune_epochs = forms.IntegerField(
        label="Fine-tune epochs", min_value=1, max_value=1000, required=False
    )
    finetune_learning_rate = forms.FloatField(
        label="Fine-tune learning rate", min_value=1e-7, max_value=1, required=False
    )
    seed = forms.IntegerField(
        label="Random seed", min_value=0, max_value=2**31 - 1, required=False,
        help_text="Same seed, same images and parameters: the same split and a comparable run.",
    )  # fmt: skip

    ADVANCED = ("mode", "epochs", "batch_size", "learning_rate", "validation_split",
                "augmentation", "seed")  # fmt: skip
    FINETUNE = ("finetune_layers", "finetune_epochs", "finetune_learning_rate")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Placeholders show the chosen preset's values (static/js/training_start.js keeps
        # them in step when another preset is picked).
        values = training_preset_params(preset=self._chosen_preset())
        for name in (*self.ADVANCED, *self.FINETUNE):
            field = self.fields[name]
            if isinstance(field, forms.ChoiceField):
                # The empty choice names the preset's value: "As the preset says (Yes)".
                value = values[name]
                value = {True: "on", False: "off"}.get(value, value)
                shown = str(dict(field.choices).get(value, value)).split(" (")[0]
                field.choices = [("", f"{FROM_PRESET} ({shown})"), *field.choices[1:]]
                continue
            value = values[name] * 100 if name == "validation_split" else values[name]
            field.widget.attrs["placeholder"] = plain_number(value)

    def _chosen_preset(self) -> str:
        chosen = self.data.get("preset") if self.is_bound else None
        return chosen if chosen in Preset.values else DEFAULT_PRESET

    @property
    def advanced_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.ADVANCED]

    @property
    def finetune_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.FINETUNE]

    @property
    def advanced_changed(self) -> bool:
        """Open "Advanced" again when the user had filled or got wrong something in it."""
        names = (*self.ADVANCED, *self.FINETUNE)
        return self.is_bound and any(self.data.get(n) or n in self.errors for n in names)

    def params(self) -> dict[str, Any]:
        data = self.cleaned_data
        params = training_preset_params(preset=data.get("preset") or DEFAULT_PRESET)
        for name in (*self.ADVANCED, *self.FINETUNE):
            value = data.get(name)
            if value in (None, ""):
                continue
            if name == "validation_split":
                value = value / 100
            elif name == "augmentation":
                value = value == "on"
            params[name] = value
        return params
