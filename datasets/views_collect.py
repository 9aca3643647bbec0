"""The "Collect images from the web" page: pick labels, a number per label, a source and the
searches, then watch per-label progress live (static/js/collect.js)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from datasets.collect import (
    QUERY_MAX_LENGTH,
    collect_event,
    collect_provider_choices,
    collection_start,
)
from datasets.forms import IdsModelMultipleChoiceField
from projects.access import get_project_for_owner
from projects.models import Job, Label, Project


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


def collect_start(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project_for_owner(request, pk)
    labels = list(project.labels.all())
    form = CollectForm(request.POST or None, project=project, labels=labels)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                job = collection_start(
                    project=project,
                    user=request.user,
                    label_ids=[label.pk for label in form.cleaned_data["labels"]],
                    per_label=form.cleaned_data["per_label"],
                    provider=form.cleaned_data["provider"],
                    queries=form.queries(),
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                # Tagged with the job: job-notes.js removes it once the job ends.
                messages.success(
                    request,
                    f"{job.title}: watch each label fill up below.",
                    extra_tags=f"job:{job.pk}",
                )
                return redirect(reverse("datasets:collect", args=[project.pk]))
        status = 400
    latest = project.jobs.filter(kind=Job.Kind.COLLECT).first()
    context = {
        "project": project,
        "form": form,
        "labels": labels,
        "latest": latest,
        "latest_event": collect_event(latest) if latest else None,
        "has_providers": bool(form.fields["provider"].choices),
    }
    return render(request, "datasets/collect.html", context, status=status)
