"""The correction loop's pages: "review these" (the predictions the model was least sure of)
and the review action used there and in the history. Owner only: anyone else gets 404."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from aimaker.http import wants_json
from inference import services
from inference.forms import ReviewForm
from inference.models import Prediction
from projects.access import get_project_for_owner

PAGE_SIZE = 24


def review_list(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project_for_owner(request, pk)
    include_sure = request.GET.get("all") == "1"
    todo = services.predictions_to_review(project=project, include_sure=include_sure)
    page = Paginator(todo.select_related("user"), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "project": project,
        "is_owner": True,
        "page": page,
        "include_sure": include_sure,
        "query": "all=1" if include_sure else "",
        "below": settings.AIMAKER_REVIEW_BELOW,
        "labels": list(project.labels.all()),
    }
    return render(request, "inference/review.html", context)


def prediction_review(request: HttpRequest, pk: int, prediction_pk: int) -> HttpResponse:
    project = get_project_for_owner(request, pk)
    prediction = get_object_or_404(
        Prediction.objects.select_related("project", "training_image__label"),
        pk=prediction_pk,
        project=project,
    )
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = ReviewForm(request.POST, project=project)
    if not form.is_valid():
        error = "Choose one of this AI's labels."
        if wants_json(request):
            return JsonResponse({"error": error}, status=400)
        messages.error(request, error)
        return _back(request, project.pk)
    outcome = services.prediction_review(
        prediction=prediction,
        label=form.cleaned_data["label"],
        add=form.cleaned_data["add"],
        user=request.user,
    )
    if wants_json(request):
        return JsonResponse(outcome.as_dict())
    if prediction.verdict == Prediction.Verdict.RIGHT:
        text = f"Prediction #{prediction.pk} marked right (“{prediction.label}”)."
    else:
        text = (
            f"Prediction #{prediction.pk} marked wrong: it is “{prediction.correct_label}”, "
            f"not “{prediction.label}”."
        )
    level = messages.SUCCESS if outcome.added or not outcome.note else messages.INFO
    messages.add_message(request, level, f"{text} {outcome.note}".strip())
    return _back(request, project.pk)


def _back(request: HttpRequest, project_id: int) -> HttpResponse:
    """To the page the form was on (history or review), else the history."""
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return redirect("inference:history", pk=project_id)
