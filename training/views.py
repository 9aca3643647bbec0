"""Training pages: start form, run page (live curves, evaluation), history, doubts."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from datasets.models import Image
from projects.access import get_project_for_owner, get_project_for_viewer
from projects.events import visitor_run
from projects.models import Project
from training import doubts as doubt_services
from training import services
from training.describe import (
    training_params_describe,
    training_params_summary,
    training_timings_describe,
)
from training.forms import TrainingStartForm
from training.ml.device import device_text
from training.models import TrainingRun
from training.presets import training_preset_choices

HISTORY_LIMIT = 50


def project_panel(request: HttpRequest, project: Project) -> dict[str, Any]:
    """Context of the "3. Train" card on the project page."""
    latest = project.runs.defer("snapshot", "metrics").first()
    return {
        "training_latest": latest,
        "training_latest_state": services.training_run_state(run=latest) if latest else None,
        "training_problems": services.training_problems(project=project),
        "training_run_count": project.runs.count(),
    }


def _run(project: Project, number: int) -> TrainingRun:
    return get_object_or_404(TrainingRun, project=project, number=number)


def training_start(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project_for_owner(request, pk)
    form = TrainingStartForm(request.POST or None)
    problems = services.training_problems(project=project)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                run = services.training_run_start(
                    project=project, user=request.user, params=form.params()
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                messages.success(request, f"Run #{run.number} is queued: watch it learn here.")
                return redirect("training:run", pk=project.pk, number=run.number)
        status = 400
    counts = services.training_label_counts(project=project)
    presets = training_preset_choices(image_count=sum(n for _label, n in counts))
    return render(
        request,
        "training/start.html",
        {
            "project": project,
            "form": form,
            "problems": problems,
            "counts": counts,
            "presets": presets,
            "preset_params": {p.value: p.params for p in presets},
        },
        status=status,
    )


def _image_links(project_id: int, image_ids: list[int]) -> dict[int, dict[str, str | None]]:
    """Detail and thumbnail links of images, None for images deleted since the run."""
    existing = set(
        Image.objects.filter(project_id=project_id, pk__in=image_ids).values_list("pk", flat=True)
    )
    links: dict[int, dict[str, str | None]] = {}
    for image_id in image_ids:
        if image_id not in existing:
            links[image_id] = {"detail": None, "thumb": None}
            continue
        kwargs = {"pk": project_id, "image_pk": image_id}
        links[image_id] = {
            "detail": reverse("datasets:image_detail", kwargs=kwargs),
            "thumb": reverse("datasets:image_file", kwargs={**kwargs, "kind": "thumbnail"}),
        }
    return links


def _gallery_url(project_id: int, query: str) -> str:
    return f"{reverse('datasets:gallery', kwargs={'pk': project_id})}?{query}"


def _image_id(run: TrainingRun, index: int) -> int | None:
    ids = run.metrics.get("image_ids") or [image_id for image_id, _ in run.snapshot]
    return ids[index] if 0 <= index < len(ids) else None


def _evaluation(run: TrainingRun) -> dict[str, Any] | None:
    m = run.metrics or {}
    if run.status != TrainingRun.Status.SUCCEEDED or not m:
        return None
    labels = run.labels
    matrix = m.get("confusion_matrix") or []
    rows = []
    for i, counts in enumerate(matrix):
        total = sum(counts) or 1
        cells = [
            {"n": n, "alpha": round(n / total, 2), "diag": i == j} for j, n in enumerate(counts)
        ]
        rows.append({"label": labels[i] if i < len(labels) else i, "cells": cells})
    wrong = m.get("misclassified") or []
    ids = [_image_id(run, w["index"]) for w in wrong]
    links = _image_links(run.project_id, [i for i in ids if i is not None])
    misclassified = [
        {
            **w,
            "image_id": image_id,
            "true_label": labels[w["true"]],
            "predicted_label": labels[w["predicted"]],
            "links": links.get(image_id, {}) if image_id else {},
        }
        for w, image_id in zip(wrong, ids, strict=True)
    ]
    return {
        "val_accuracy": m.get("val_accuracy"),
        "val_loss": m.get("val_loss"),
        "val_count": m.get("val_count"),
        "train_count": m.get("train_count"),
        "macro_f1": m.get("macro_f1"),
        "labels": labels,
        "confusion": rows,
        "per_label": m.get("per_label") or [],
        "misclassified": misclassified,
        "unknown": m.get("unknown") if "threshold" in (m.get("unknown") or {}) else None,
        "calibration": m.get("calibration")
        if "ece_after" in (m.get("calibration") or {})
        else None,
        # None: no label check to link to (trained before it existed, or it could not run).
        "doubt_count": None
        if doubt_services.training_run_doubts_problem(run=run)
        else len(m.get("doubts") or []),
    }


def run_detail(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    project = get_project_for_viewer(request, pk)
    run = _run(project, number)
    is_owner = request.user == project.owner
    state = services.training_run_state(run=run)
    context = {
        "project": project,
        "run": run,
        "is_owner": is_owner,
        "state": state if is_owner else visitor_run(state),
        "epochs": services.training_run_epochs(run=run),
        "evaluation": _evaluation(run),
        "params": training_params_describe(params=run.params),
        "timings": training_timings_describe(timings=run.timings or {}),
        "raw_params": sorted(run.params.items()),
        "trained_on": device_text((run.metrics or {}).get("device")),
    }
    return render(request, "training/run_detail.html", context)


@require_POST
def run_cancel(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    project = get_project_for_owner(request, pk)
    run = _run(project, number)
    if run.is_active:
        services.training_run_cancel(run=run, by=request.user)
        messages.info(request, f"Cancelling run #{run.number}.")
    return redirect("training:run", pk=project.pk, number=run.number)


@require_POST
def run_retry(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    project = get_project_for_owner(request, pk)
    run = _run(project, number)
    try:
        new = services.training_run_retry(run=run, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("training:run", pk=project.pk, number=run.number)
    messages.success(request, f"Run #{new.number} retries run #{run.number}.")
    return redirect("training:run", pk=project.pk, number=new.number)


def history(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project_for_viewer(request, pk)
    runs = list(
        project.runs.select_related("retry_of")
        .defer("snapshot", "metrics", "retry_of__snapshot", "retry_of__metrics")
        .prefetch_related("epochs")[:HISTORY_LIMIT]
    )
    for r in runs:
        r.params_summary = training_params_summary(params=r.params)
    curves = {
        str(r.pk): {"number": r.number, "epochs": services.training_run_epochs(run=r)} for r in runs
    }
    is_owner = request.user == project.owner
    state = (lambda s: s) if is_owner else visitor_run  # visitors never see error texts
    context = {
        "project": project,
        "runs": runs,
        "states": {r.pk: state(services.training_run_state(run=r)) for r in runs},
        "curves": curves,
        "is_owner": is_owner,
    }
    return render(request, "training/history.html", context)


def doubts(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """ "Check these labels": the training images that look like another label."""
    project = get_project_for_viewer(request, pk)
    run = _run(project, number)
    items = doubt_services.training_run_doubts(run=run)
    links = _image_links(project.pk, [d.image.pk for d in items])
    context = {
        "project": project,
        "run": run,
        "items": [{"doubt": d, "links": links[d.image.pk]} for d in items],
        "problem": doubt_services.training_run_doubts_problem(run=run),
        "flagged_count": len((run.metrics or {}).get("doubts") or []),
        "is_owner": request.user == project.owner,
        "gallery_url": _gallery_url(project.pk, "ids=" + ",".join(str(d.image.pk) for d in items))
        if items
        else None,
    }
    return render(request, "training/doubts.html", context)


@require_POST
def doubt_resolve(request: HttpRequest, pk: int, number: int, image_pk: int) -> HttpResponse:
    """Move one flagged image to its suggested label, or remove it (owner only)."""
    project = get_project_for_owner(request, pk)
    run = _run(project, number)
    try:
        done = doubt_services.training_doubt_resolve(
            run=run, image_id=image_pk, action=request.POST.get("action", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect("training:doubts", pk=project.pk, number=run.number)
