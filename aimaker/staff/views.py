"""The staff operations page (/ops/) and its cancel actions. Everyone but staff gets 404."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache

from aimaker.staff.services import ops_snapshot
from projects import services as projects_services
from projects.models import Job
from training import services as training_services
from training.models import TrainingRun


def _staff_or_404(request: HttpRequest) -> None:
    if not (request.user.is_authenticated and request.user.is_staff):
        raise Http404("No such page.")


@never_cache
def dashboard(request: HttpRequest) -> HttpResponse:
    _staff_or_404(request)
    return render(request, "staff/ops.html", {"snapshot": ops_snapshot()})


def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    _staff_or_404(request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    run = get_object_or_404(TrainingRun.objects.select_related("project"), pk=pk)
    if run.is_active:
        training_services.training_run_cancel(run=run, by=request.user)
        messages.info(request, f"Cancelling run #{run.number} of “{run.project.name}”.")
    else:
        messages.warning(request, f"Run #{run.number} of “{run.project.name}” already ended.")
    return redirect("ops:dashboard")


def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    _staff_or_404(request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    job = get_object_or_404(Job.objects.select_related("project"), pk=pk)
    if job.is_active:
        projects_services.job_cancel(job=job, by=request.user)
        messages.info(request, f"Cancelling “{job.title}” of “{job.project.name}”.")
    else:
        messages.warning(request, f"“{job.title}” already ended.")
    return redirect("ops:dashboard")
