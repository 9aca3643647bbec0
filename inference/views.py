"""Pages for using a model: versions and the default, predicting, history, re-runs, exports,
API tokens. Every view starts with the access helper (others get 404)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from aimaker.http import wants_json
from inference import services
from inference.export import FORMATS
from inference.forms import (
    PredictForm,
    RerunForm,
    SetDefaultForm,
    TokenForm,
    UnknownThresholdForm,
)
from inference.models import ModelVersion, PersonalToken, Prediction, Rerun
from projects.access import get_project_for_owner, get_project_for_viewer
from projects.models import Project


def _version(project: Project, number: int) -> ModelVersion:
    return get_object_or_404(
        ModelVersion.objects.select_related("run", "project"), project=project, number=number
    )


def versions(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project_for_viewer(request, pk)
    is_owner = request.user == project.owner
    context = {
        "project": project,
        "is_owner": is_owner,
        "versions": services.model_versions_list(project=project),
        "switches": project.default_switches.select_related("user")[:50],
        "formats": FORMATS,
    }
    return render(request, "inference/versions.html", context)


def version_detail(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """A version side by side with the current default; the owner makes it the default here
    (publishing a new one or rolling back to an older one is the same action)."""
    project = get_project_for_viewer(request, pk)
    is_owner = request.user == project.owner
    if request.method == "POST" and not is_owner:
        raise Http404("No such project.")
    version = _version(project, number)
    default = services.model_version_default(project=project)
    form = SetDefaultForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.model_version_set_default(
                    version=version, user=request.user, note=form.cleaned_data["note"]
                )
            except ValidationError as exc:
                form.add_error("note", exc.messages[0])
            else:
                verb = (
                    "Rolled back to" if default and version.number < default.number else "Published"
                )
                messages.success(request, f"{verb} {version.name}: it is now the default.")
                return redirect("inference:versions", pk=project.pk)
        status = 400
    baseline = default if default and default.pk != version.pk else None
    context = {
        "project": project,
        "is_owner": is_owner,
        "version": version,
        "default": default,
        "baseline": baseline,
        "diff": services.model_version_compare(version=version, baseline=baseline),
        "form": form,
        "is_rollback": bool(default and version.number < default.number),
        "formats": FORMATS,
        "unknown": _unknown_context(version),
    }
    return render(request, "inference/version_detail.html", context, status=status)


def _unknown_context(version: ModelVersion) -> dict | None:
    info = version.unknown
    if not info:
        return None
    threshold = version.threshold
    rejects = services.unknown_rejects(info=info, threshold=threshold)
    return {
        "info": info,
        "rejects": rejects,
        "percent": round(100 * rejects["own"]),
        "custom": version.unknown_threshold is not None,
        # What the slider needs to say what each position would reject, without a round trip.
        "levels": {
            "own": info["own_quantiles"],
            "held_out": (info.get("held_out") or {}).get("quantiles"),
        },
    }


@require_POST
def version_unknown(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """The owner moves the version's "not sure" threshold."""
    project = get_project_for_owner(request, pk)
    version = _version(project, number)
    form = UnknownThresholdForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a whole number of percent.")
        return redirect(version)
    percent = form.cleaned_data["reject_percent"]
    share = None if percent is None or "reset" in request.POST else percent / 100
    try:
        services.model_version_set_unknown_threshold(version=version, reject_share=share)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        rejects = services.unknown_rejects(info=version.unknown, threshold=version.threshold)
        messages.success(
            request,
            f"{version.name} now says “not sure” for about {rejects['own']:.0%} of your own "
            "images.",
        )
    return redirect(version)


def export(request: HttpRequest, pk: int, number: int, fmt: str) -> HttpResponse:
    project = get_project_for_owner(request, pk)
    version = _version(project, number)
    if fmt not in FORMATS:
        raise Http404("No such export format.")
    polling = request.GET.get("state") == "1"  # the waiting page asks whether it is ready
    try:
        name = services.export_request(version=version, fmt=fmt, user=request.user)
    except ValidationError as exc:
        if polling:
            return JsonResponse({"state": "failed", "message": exc.messages[0]})
        messages.error(request, exc.messages[0])
        return redirect("inference:version", pk=project.pk, number=version.number)
    if polling:
        return JsonResponse({"state": "building" if name is None else "ready"})
    if name is None:
        # Built in the background: the page polls (or, without JavaScript, reloads) until
        # it is ready, starts the download and then says so, instead of spinning on.
        context = {
            "project": project,
            "version": version,
            "fmt": fmt,
            "title": FORMATS[fmt],
            "filename": services.export_filename(version=version, fmt=fmt),
        }
        return render(request, "inference/export_building.html", context, status=202)
    return FileResponse(
        default_storage.open(name, "rb"),
        as_attachment=True,
        filename=services.export_filename(version=version, fmt=fmt),
        content_type="application/zip",
    )


def predict(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project_for_viewer(request, pk)
    is_owner = request.user == project.owner
    version_list = services.model_versions_list(project=project)
    default = next((v for v in version_list if v.is_default), None)
    form = PredictForm(request.POST or None, request.FILES or None, versions=version_list)
    outcome, error, status = None, "", 200
    if request.method == "POST":
        if not form.is_valid():
            error = (
                "Choose an image file to predict."
                if "image" in form.errors
                else ("Choose one of the listed versions.")
            )
            status = 400
        else:
            try:
                version = None
                if form.cleaned_data.get("version"):
                    version = services.model_version_get(
                        project=project, ref=form.cleaned_data["version"]
                    )
                # Limits count valid requests only, per client and per AI.
                services.prediction_admit(request=request, project=project, version=version)
                upload = form.cleaned_data["image"]
                outcome = services.prediction_create(
                    project=project,
                    data=services.image_read_upload(upload),
                    user=request.user,
                    version=version,
                    original_name=upload.name,
                    explain=form.cleaned_data["explain"],
                )
            except services.PredictionError as exc:
                error, status = exc.message, exc.status
        if wants_json(request):
            if error:
                return JsonResponse({"error": error}, status=status)
            return JsonResponse(outcome.as_dict())
    context = {
        "project": project,
        "is_owner": is_owner,
        "form": form,
        "default": default,
        "versions": version_list,
        "outcome": outcome.as_dict() if outcome else None,
        "error": error,
    }
    return render(request, "inference/predict.html", context, status=status)


def history(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project_for_owner(request, pk)
    version_list = services.model_versions_list(project=project)
    predictions = project.predictions.select_related("user")
    page = Paginator(predictions, 50).get_page(request.GET.get("page"))
    context = {
        "project": project,
        "is_owner": True,
        "page": page,
        "total": predictions.count(),
        "labels": list(project.labels.all()),
        "to_review": services.predictions_to_review(project=project).count(),
        "kept": settings.AIMAKER_PREDICTIONS_KEPT,
        "rerun_form": RerunForm(versions=version_list),
        # Re-runs show their state in their own list; the page has no generic live job box,
        # which would also show the project's imports and collections.
        "reruns": project.reruns.select_related("job", "created_by")[:10],
    }
    return render(request, "inference/history.html", context)


@require_POST
def rerun_start(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project_for_owner(request, pk)
    form = RerunForm(request.POST, versions=services.model_versions_list(project=project))
    if not form.is_valid():
        messages.error(request, "Choose a version to re-run the history with.")
        return redirect("inference:history", pk=project.pk)
    version = _version(project, form.cleaned_data["version"])
    try:
        rerun = services.rerun_start(project=project, version=version, user=request.user)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("inference:history", pk=project.pk)
    messages.info(request, f"Re-running {rerun.total} prediction(s) with {version.name}.")
    return redirect("inference:rerun", pk=project.pk, rerun_pk=rerun.pk)


def rerun_detail(request: HttpRequest, pk: int, rerun_pk: int) -> HttpResponse:
    project = get_project_for_owner(request, pk)
    rerun = get_object_or_404(Rerun.objects.select_related("job"), pk=rerun_pk, project=project)
    items = rerun.items.select_related("prediction")
    show_all = request.GET.get("all") == "1"
    if not show_all:
        items = items.filter(changed=True)
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    context = {
        "project": project,
        "is_owner": True,
        "rerun": rerun,
        "page": page,
        "show_all": show_all,
        "query": "all=1" if show_all else "",
        "jobs": [rerun.job] if rerun.job else [],
    }
    return render(request, "inference/rerun.html", context)


def prediction_image(request: HttpRequest, pk: int, prediction_pk: int) -> HttpResponse:
    project = get_project_for_owner(request, pk)
    prediction = get_object_or_404(Prediction, pk=prediction_pk, project=project)
    if not prediction.image.name:
        raise Http404("This visitor's image was not kept.")
    try:
        name = prediction.image.name
        if request.GET.get("thumb"):
            name = services.prediction_thumbnail(prediction=prediction)  # made on first view
        handle = default_storage.open(name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404("The image is gone.") from None
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- API tokens (a settings page of the signed-in user) -----------------------------------


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    secret, status = None, 200
    if request.method == "POST":
        if form.is_valid():
            try:
                token, secret = services.token_create(
                    user=request.user, name=form.cleaned_data["name"]
                )
            except ValidationError as exc:
                form.add_error("name", exc.messages[0])
                status = 400
            else:
                form = TokenForm()
                messages.success(request, f"Token “{token.name}” created. Copy it now.")
        else:
            status = 400
    context = {
        "form": form,
        "secret": secret,
        "tokens": request.user.api_tokens.all(),
    }
    response = render(request, "inference/tokens.html", context, status=status)
    if secret:
        response["Cache-Control"] = "no-store"  # the secret must not linger in caches
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_pk: int) -> HttpResponse:
    token = get_object_or_404(PersonalToken, pk=token_pk, user=request.user)
    services.token_revoke(token=token)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("tokens:list")
