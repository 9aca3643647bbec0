from django import forms

from projects.models import Label, Project


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name", "description", "visibility", "keep_visitor_images", "screen_uploads"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "visibility": forms.RadioSelect,
            "keep_visitor_images": forms.CheckboxInput(attrs={"class": "form-check-input"}),
        }
        help_texts = {"name": "What does your AI recognise? e.g. “Cats or dogs”."}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give your AI a name.")
        return name


class LabelsAddForm(forms.Form):
    names = forms.CharField(
        label="New labels",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "cat, dog\nbird"}),
        help_text="One per line or separated by commas.",
        max_length=20000,
        error_messages={"required": "Type at least one label name."},
    )


class LabelRenameForm(forms.ModelForm):
    class Meta:
        model = Label
        fields = ["name"]
        error_messages = {"name": {"required": "A label needs a name."}}
