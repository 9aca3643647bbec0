"""Dataset export pages: start an export (small ones are built at once, large ones by a job
with progress) and download the finished ZIP. Owner only: anyone else gets 404."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from datasets.exporting import dataset_export_file, dataset_export_latest, dataset_export_start
from datasets.models import Image
from projects.access import get_project_for_owner
from projects.models import Job, Project


@require_http_methods(["GET", "POST"])
def export(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project_for_owner(request, pk)
    if request.method == "POST":
        try:
            job = dataset_export_start(project=project, user=request.user)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            if job.status == Job.Status.FAILED:
                messages.error(request, f"The export failed: {job.error}")
            elif job.is_active:
                messages.success(  # tagged: job-notes.js removes it once the export ends
                    request,
                    f"Exporting {job.total} image(s) in the background: watch the progress.",
                    extra_tags=f"job:{job.pk}",
                )
        return redirect("datasets:export", pk=project.pk)
    job = dataset_export_latest(project=project)
    context = {
        "project": project,
        "job": job,
        "jobs": [job] if job is not None and job.is_active else [],
        "ready": dataset_export_file(job=job) if job is not None else None,
        "image_count": Image.objects.filter(project=project).count(),
    }
    return render(request, "datasets/export.html", context)


def export_file_response(project: Project, job_pk: int) -> FileResponse:
    """The finished export's ZIP as a download (the page's and the API's); 404 otherwise."""
    job = get_object_or_404(Job, project=project, pk=job_pk, kind=Job.Kind.EXPORT)
    name = dataset_export_file(job=job)
    if name is None:
        raise Http404("This export is not ready, or a newer one replaced it.")
    return FileResponse(
        default_storage.open(name, "rb"),
        as_attachment=True,
        filename=job.result.get("filename") or "dataset.zip",
        content_type="application/zip",
    )


@require_GET
def export_download(request: HttpRequest, pk: int, job_pk: int) -> HttpResponse:
    return export_file_response(get_project_for_owner(request, pk), job_pk)
