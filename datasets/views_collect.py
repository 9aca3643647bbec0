"""The "Collect images from the web" page: pick labels, a number per label, a source and the
searches, then watch per-label progress live (static/js/collect.js)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from datasets.collect import (
    collect_event,
    collection_start,
)
from datasets.forms import CollectForm
from projects.access import get_project_for_owner
from projects.models import Job


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
