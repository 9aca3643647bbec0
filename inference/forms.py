from django import forms

from inference.models import ModelVersion


class PredictForm(forms.Form):
    image = forms.FileField(
        label="Image",
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )
    version = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    explain = forms.BooleanField(required=False, label="Show what the answer rests on")

    def __init__(self, *args, versions: list[ModelVersion] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].choices = [("", "Default")] + [(v.number, v.name) for v in versions]


class SetDefaultForm(forms.Form):
    note = forms.CharField(
        max_length=500,
        label="Why this version?",
        help_text="A short note for the history, e.g. “more hat photos, fewer mix-ups”.",
        widget=forms.TextInput(attrs={"placeholder": "Why switch?"}),
    )


class RerunForm(forms.Form):
    version = forms.TypedChoiceField(coerce=int, label="Version")

    def __init__(self, *args, versions: list[ModelVersion] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["version"].choices = [(v.number, v.name) for v in versions]


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Token name",
        help_text="What will use it, e.g. “shop scanner script”.",
    )


class ReviewForm(forms.Form):
    """The owner's answer for one prediction: the right label, and whether its image joins
    the training set."""

    label = forms.ModelChoiceField(queryset=None, label="The right label")
    add = forms.BooleanField(required=False, label="Add the image to the training set")

    def __init__(self, *args, project, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["label"].queryset = project.labels.all()


class UnknownThresholdForm(forms.Form):
    reject_percent = forms.IntegerField(  # the range is the service's to check, once
        required=False,
        label="Own images called “not sure”",
        help_text="In percent; empty: the default (keeps at least 95 % of new own images).",
    )
