from django import forms

from projects.models import Label, Project

MAX_SELECTED = 1000  # images per bulk action; a page shows far fewer
ID_MAX = 2**63 - 1  # a BIGINT: larger values overflow SQLite's driver in `pk__in` lookups


def parse_id(value: object) -> int | None:
    """A database id typed by a user, or None. ASCII digits only: "²".isdigit() is True, yet
    int("²") raises."""
    text = str(value).strip() if value is not None else ""
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= ID_MAX else None


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
    """Delete or move a selection of images (the gallery's checkboxes, or one image)."""

    action = forms.ChoiceField(choices=[("delete", "Delete"), ("move", "Move")])
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
