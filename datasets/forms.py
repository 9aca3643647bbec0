"""Forms of the data pages: bulk image actions, the ZIP plan, and the web collection."""

from typing import Any

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator

from aimaker.ids import parse_id
from datasets.collect import QUERY_MAX_LENGTH, collect_provider_choices
from projects.models import Label, Project

MAX_SELECTED = 1000  # images per bulk action; a page shows far fewer


class IdsModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Refuses ids out of the database range as invalid choices instead of crashing."""

    def _check_values(self, value):
        for pk in value:
            if parse_id(pk) is None:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)


class ImagesActionForm(forms.Form):
    """Delete, move, release (from quarantine) or keep (flagged off-topic) a selection of
    images (the gallery's checkboxes, or one image)."""

    action = forms.ChoiceField(
        choices=[("delete", "Delete"), ("move", "Move"), ("release", "Release"), ("keep", "Keep")]
    )
    ids = forms.CharField(required=False)  # filled from getlist() in __init__
    label = forms.ModelChoiceField(queryset=Label.objects.none(), required=False)
    confirmed = forms.BooleanField(required=False)
    next = forms.CharField(required=False)

    def __init__(self, data, *, project: Project) -> None:
        super().__init__(data)
        self.fields["label"].queryset = project.labels.all()
        self._raw_ids = data.getlist("ids") if hasattr(data, "getlist") else data.get("ids", [])

    def clean_ids(self) -> list[int]:
        ids: list[int] = []
        for raw in self._raw_ids:
            for piece in str(raw).split(","):
                piece = piece.strip()
                if not piece:
                    continue
                number = parse_id(piece)
                if number is None:
                    raise forms.ValidationError("Invalid image selection.")
                ids.append(number)
        if not ids:
            raise forms.ValidationError("Select at least one image.")
        if len(ids) > MAX_SELECTED:
            raise forms.ValidationError(f"Select at most {MAX_SELECTED} images at once.")
        return list(dict.fromkeys(ids))

    def clean(self):
        data = super().clean()
        if data.get("action") == "move" and not data.get("label"):
            self.add_error("label", "Pick the label to move the images to.")
        return data


class ZipPlanForm(forms.Form):
    """Which label folders of an archive to import, and where loose files go."""

    folders = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    loose_label = forms.ModelChoiceField(
        queryset=Label.objects.none(), required=False, empty_label="Skip them"
    )

    def __init__(self, *args, project: Project, folders: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["folders"].choices = [(f, f) for f in folders]
        self.fields["loose_label"].queryset = project.labels.all()

    def clean(self):
        data = super().clean()
        if not data.get("folders") and not data.get("loose_label") and not self.errors:
            raise forms.ValidationError("Nothing to import: tick a folder or pick a label.")
        return data


class CollectForm(forms.Form):
    labels = IdsModelMultipleChoiceField(
        queryset=Label.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Pick at least one label.",
            "invalid_choice": "One of the chosen labels is not in this AI any more.",
            "invalid_pk_value": "One of the chosen labels is not in this AI.",
        },
    )
    per_label = forms.IntegerField(
        label="Images per label",
        min_value=1,
        error_messages={
            "required": "Say how many images to collect per label.",
            "invalid": "Images per label must be a whole number.",
            "min_value": "Collect at least %(limit_value)s image per label.",
            "max_value": "At most %(limit_value)s images per label.",
        },
    )
    provider = forms.ChoiceField(
        label="Source",
        error_messages={
            "required": "Pick where to collect from.",
            "invalid_choice": "“%(value)s” is not an available image source.",
        },
    )

    def __init__(self, *args: Any, project: Project, labels: list[Label], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.label_list = labels
        self.fields["labels"].queryset = project.labels.all()
        self.fields["labels"].initial = [label.pk for label in labels]
        limit = settings.AIMAKER_COLLECT_PER_LABEL_MAX
        self.fields["per_label"].max_value = limit
        # The limit is a setting (tests change it), so the validator is added per form.
        self.fields["per_label"].validators.append(MaxValueValidator(limit))
        self.fields["per_label"].widget.attrs.update({"min": 1, "max": limit})
        self.fields["per_label"].initial = settings.AIMAKER_COLLECT_PER_LABEL_DEFAULT
        self.fields[
            "per_label"
        ].help_text = f"Up to {limit}. Running it again only fetches what is missing."
        choices = collect_provider_choices()
        self.fields["provider"].choices = choices
        self.fields["provider"].initial = choices[0][0] if choices else None
        for label in labels:
            self.fields[f"query_{label.pk}"] = forms.CharField(
                required=False,
                max_length=QUERY_MAX_LENGTH,
                error_messages={
                    "max_length": f"The search for “{label.name}” is too long "
                    f"(at most {QUERY_MAX_LENGTH} characters)."
                },
            )

    def rows(self) -> list[dict[str, Any]]:
        """One row per label for the template: its checkbox state and its search box."""
        if self.is_bound:
            chosen = {str(v) for v in self.data.getlist("labels")}
        else:
            chosen = {str(label.pk) for label in self.label_list}
        return [
            {"label": label, "checked": str(label.pk) in chosen, "query": self[f"query_{label.pk}"]}
            for label in self.label_list
        ]

    def queries(self) -> dict[int, str]:
        return {
            label.pk: self.cleaned_data.get(f"query_{label.pk}") or "" for label in self.label_list
        }
