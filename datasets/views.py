"""Training data pages: upload (images in batches, ZIP archives through a plan), gallery per
label, image detail, and the access-checked image files. Thin: the work is in services."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from aimaker.http import wants_json
from aimaker.ids import parse_id
from datasets import services
from datasets.archive import ArchiveRejected
from datasets.forms import ImagesActionForm, ZipPlanForm
from datasets.models import Image
from datasets.uploads import ArchiveUploadHandler, StoredArchive, archive_path, sweep_stale
from projects.access import get_project_for_owner, get_project_for_viewer
from projects.models import Job, Project

FILE_KINDS = ("thumbnail", "normalized", "original")
IDS_FILTER_MAX = 500


# --- Gallery ------------------------------------------------------------------------------


def _parse_ids(raw: str) -> list[int]:
    return [i for p in raw.split(",") if (i := parse_id(p)) is not None][:IDS_FILTER_MAX]


def _viewable(request: HttpRequest, project: Project) -> QuerySet[Image]:
    """The project's images this viewer may see: quarantined ones only to the owner and staff
    (the admin's moderation list shows them)."""
    qs = Image.objects.filter(project=project)
    if request.user != project.owner and not request.user.is_staff:
        qs = qs.filter(quarantined=False)
    return qs


@require_GET
def gallery(request: HttpRequest, pk: int) -> HttpResponse:
    """Thumbnails per label, newest first, keyset-paginated on the (project, label, -id) index
    (?before=<id> older, ?after=<id> newer): page 100 costs what page 1 costs."""
    project = get_project_for_viewer(request, pk)
    is_owner = request.user == project.owner
    summary = services.dataset_summary(project)
    labels = list(project.labels.all())
    label = None
    label_id = parse_id(request.GET.get("label"))
    if label_id is not None:
        label = next((lb for lb in labels if lb.pk == label_id), None)
        if label is None:
            raise Http404("No such label.")
    ids = _parse_ids(request.GET.get("ids", ""))
    near = request.GET.get("near") == "1"
    quarantine = is_owner and request.GET.get("quarantined") == "1"
    offtopic = is_owner and request.GET.get("offtopic") == "1"

    qs = Image.objects.filter(project=project)
    if not is_owner:
        qs = qs.filter(quarantined=False)  # never shown to anyone but the owner (and staff)
    elif quarantine:
        qs = qs.filter(quarantined=True)
    elif offtopic:
        qs = qs.filter(offtopic=True)
    if label is not None:
        qs = qs.filter(label=label)
    if ids:
        qs = qs.filter(pk__in=ids)
    if near:
        qs = qs.filter(near_duplicate_of__isnull=False)
    size = settings.AIMAKER_GALLERY_PAGE_SIZE
    before = parse_id(request.GET.get("before"))
    after = parse_id(request.GET.get("after"))
    if after is not None:
        rows = list(qs.filter(pk__gt=after).order_by("id").select_related("label")[: size + 1])
        has_newer = len(rows) > size
        images = list(reversed(rows[:size]))
        has_older = bool(images) and qs.filter(pk__lt=images[-1].pk).exists()
    else:
        if before is not None:
            qs_page = qs.filter(pk__lt=before)
        else:
            qs_page = qs
        rows = list(qs_page.order_by("-id").select_related("label")[: size + 1])
        has_older = len(rows) > size
        images = rows[:size]
        has_newer = before is not None and bool(images) and qs.filter(pk__gt=images[0].pk).exists()

    base = {k: v for k, v in (("label", label_id), ("ids", ",".join(map(str, ids)))) if v}
    if near:
        base["near"] = "1"
    if quarantine:
        base["quarantined"] = "1"
    if offtopic:
        base["offtopic"] = "1"
    older_url = f"?{urlencode({**base, 'before': images[-1].pk})}" if has_older else ""
    newer_url = f"?{urlencode({**base, 'after': images[0].pk})}" if has_newer else ""
    if quarantine or offtopic:
        count = summary["quarantined" if quarantine else "offtopic"]
    elif label is not None:
        count = next(row["count"] for row in summary["labels"] if row["id"] == label.pk)
    else:
        count = summary["total"]
    context = {
        "project": project,
        "is_owner": is_owner,
        "summary": summary,
        "labels": labels,
        "label": label,
        "images": images,
        "count": count,
        "ids_filter": ids,
        "near_filter": near,
        "quarantine_filter": quarantine,
        "offtopic_filter": offtopic,
        "older_url": older_url,
        "newer_url": newer_url,
        "here": request.get_full_path(),
    }
    return render(request, "datasets/gallery.html", context)


@require_GET
def image_detail(request: HttpRequest, pk: int, image_pk: int) -> HttpResponse:
    project = get_project_for_viewer(request, pk)
    image = get_object_or_404(
        _viewable(request, project).select_related("label", "added_by", "near_duplicate_of"),
        pk=image_pk,
    )
    context = {
        "project": project,
        "is_owner": request.user == project.owner,
        "image": image,
        "labels": project.labels.all(),
    }
    return render(request, "datasets/image_detail.html", context)


@require_GET
def image_file(request: HttpRequest, pk: int, image_pk: int, kind: str) -> HttpResponse:
    """Streams an image file from storage after the access check: media is never public."""
    project = get_project_for_viewer(request, pk)
    if kind not in FILE_KINDS:
        raise Http404("No such file.")
    image = get_object_or_404(_viewable(request, project), pk=image_pk)
    name = getattr(image, kind).name
    if not name:
        raise Http404("No such file.")
    try:
        fh = default_storage.open(name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404("The file is missing.") from None
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(fh, content_type=content_type)
    # Content-addressed paths never change content; private: shared caches must not keep them.
    response["Cache-Control"] = "private, max-age=86400"
    response["Content-Disposition"] = "inline"
    return response


@require_POST
def images_action(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete or move the selected images. Deleting asks for confirmation first (a page) unless
    the request says it was confirmed (the gallery asks in the browser)."""
    project = get_project_for_owner(request, pk)
    form = ImagesActionForm(request.POST, project=project)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = reverse("datasets:gallery", args=[project.pk])
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(next_url)
    ids = form.cleaned_data["ids"]
    if form.cleaned_data["action"] == "move":
        target = form.cleaned_data["label"]
        moved = services.image_move_many(project=project, image_ids=ids, label=target)
        messages.success(request, f"Moved {moved} image(s) to “{target.name}”.")
        return redirect(next_url)
    if form.cleaned_data["action"] == "keep":
        kept = services.image_keep_many(project=project, image_ids=ids)
        messages.success(request, f"Kept {kept} image(s): they are no longer flagged.")
        return redirect(next_url)
    if form.cleaned_data["action"] == "release":
        released = services.image_release_many(project=project, image_ids=ids)
        messages.success(request, f"Released {released} image(s): they are trained on again.")
        return redirect(next_url)
    if not form.cleaned_data["confirmed"]:
        images = Image.objects.filter(project=project, pk__in=ids).select_related("label")
        context = {"project": project, "images": images[:60], "count": images.count()}
        context |= {"ids": ",".join(map(str, ids)), "next": next_url}
        return render(request, "datasets/images_confirm_delete.html", context)
    deleted = services.image_delete_many(project=project, image_ids=ids)
    messages.success(request, f"Deleted {deleted} image(s).")
    if f"/images/{ids[0]}/" in next_url:  # came from the detail page of a deleted image
        next_url = reverse("datasets:gallery", args=[project.pk])
    return redirect(next_url)


# --- Near-duplicates ----------------------------------------------------------------------


@require_GET
def near_duplicates(request: HttpRequest, pk: int) -> HttpResponse:
    """Each pair of images that look almost the same, side by side: keep both or delete one."""
    project = get_project_for_owner(request, pk)
    pairs = services.near_duplicate_pairs(project=project)
    page = Paginator(pairs, 20).get_page(request.GET.get("page"))
    context = {"project": project, "is_owner": True, "page": page, "here": request.get_full_path()}
    return render(request, "datasets/near_duplicates.html", context)


@require_POST
def near_duplicate_keep(request: HttpRequest, pk: int, image_pk: int) -> HttpResponse:
    project = get_project_for_owner(request, pk)
    if services.near_duplicate_keep_both(project=project, image_id=image_pk):
        messages.success(request, "Kept both images: that pair will not be shown again.")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = reverse("datasets:near_duplicates", args=[project.pk])
    return redirect(next_url)


# --- Upload -------------------------------------------------------------------------------


def _jobs(project: Project) -> list[Job]:
    return list(project.jobs.filter(kind=Job.Kind.IMPORT)[:5])


@require_GET
def upload(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project_for_owner(request, pk)
    labels = list(project.labels.all())
    selected = parse_id(request.GET.get("label"))
    context = {
        "project": project,
        "labels": labels,
        "selected": selected,
        "open_camera": request.GET.get("camera") == "1",
        "summary": services.dataset_summary(project),
        "jobs": _jobs(project),
        "batch_size": 20,
        "max_mb": settings.AIMAKER_IMAGE_MAX_BYTES // 2**20,
        "zip_max_mb": settings.AIMAKER_ZIP_MAX_BYTES // 2**20,
    }
    return render(request, "datasets/upload.html", context)


def _json_error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@require_POST
def upload_files(request: HttpRequest, pk: int) -> JsonResponse:
    """One batch of loose images for one label. JSON in, JSON out, per-file outcomes."""
    project = get_project_for_owner(request, pk)
    try:
        files = request.FILES.getlist("files")
        label_id = parse_id(request.POST.get("label"))
    except (SuspiciousOperation, RequestDataTooBig):  # e.g. > 100 files in one request
        return _json_error("The server refused this batch: too many files at once. Send fewer.")
    if not project.labels.exists():
        return _json_error("Add labels to this project first.")
    label = project.labels.filter(pk=label_id).first() if label_id else None
    if label is None:
        return _json_error("Pick the label these images belong to.")
    if not files:
        return _json_error("No files received.")
    # Frames from the page's camera are uploads too; only their provenance differs.
    camera = request.POST.get("source") == Image.Source.CAMERA
    source = Image.Source.CAMERA if camera else Image.Source.UPLOAD
    accepted, duplicates, rejected = [], [], []
    max_bytes = settings.AIMAKER_IMAGE_MAX_BYTES
    for upload_file in files:
        name = Path(upload_file.name or "file").name[:255]
        if name.lower().endswith(".zip"):
            rejected.append({"name": name, "reason": "ZIP archives go through the ZIP import"})
            continue
        if upload_file.size > max_bytes:
            # Refused before reading it: no point loading 2 GB to say "too large".
            mb = upload_file.size / 2**20
            reason = f"file too large ({mb:.1f} MB, limit {max_bytes // 2**20} MB)"
            rejected.append({"name": name, "reason": reason})
            continue
        outcome = services.image_ingest(
            project=project,
            label=label,
            data=upload_file.read(),
            source=source,
            added_by=request.user,
            original_name=name,
        )
        if outcome.status == "added":
            image = outcome.image
            accepted.append(
                {
                    "name": name,
                    "id": image.pk,
                    "label": label.name,
                    "thumbnail": reverse(
                        "datasets:image_file", args=[project.pk, image.pk, "thumbnail"]
                    ),
                    "url": reverse("datasets:image_detail", args=[project.pk, image.pk]),
                    "near_duplicate": image.near_duplicate_of_id is not None,
                    "quarantined": image.quarantined,
                }
            )
        elif outcome.status == "duplicate":
            duplicates.append({"name": name, "reason": outcome.reason})
        else:
            rejected.append({"name": name, "reason": outcome.reason})
    summary = services.dataset_summary(project)
    counts = {row["name"]: row["count"] for row in summary["labels"]}
    if accepted:
        services.dataset_notify(project, summary)
    return JsonResponse(
        {"accepted": accepted, "duplicates": duplicates, "rejected": rejected, "counts": counts}
    )


@csrf_exempt  # the CSRF check runs in _zip_upload, after our upload handler is installed
@require_POST
def zip_upload(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_project_for_owner(request, pk)
    handler = ArchiveUploadHandler(request, project_id=project.pk)
    request.upload_handlers = [handler]  # must happen before anything reads request.POST
    return _zip_upload(request, project, handler)


@csrf_protect
def _zip_upload(request: HttpRequest, project: Project, handler: ArchiveUploadHandler):
    def fail(message: str) -> HttpResponse:
        if wants_json(request):
            return _json_error(message)
        messages.error(request, message)
        return redirect("datasets:upload", pk=project.pk)

    sweep_stale()
    try:
        stored = request.FILES.get("archive")
    except (SuspiciousOperation, RequestDataTooBig):
        return fail("The server refused this upload: send one ZIP file on its own.")
    limit_mb = settings.AIMAKER_ZIP_MAX_BYTES // 2**20
    if handler.too_large:
        return fail(f"The ZIP file is too large (limit {limit_mb} MB).")
    if not isinstance(stored, StoredArchive):
        return fail("Choose a ZIP file to upload.")
    try:
        if (stored.name or "").lower().endswith(".csv"):  # a table of image URLs on its own
            services.dataset_archive_from_table(path=stored.path, name=Path(stored.name).name)
        plan = services.dataset_scan_archive(archive_path=stored.path)
    except ArchiveRejected as exc:
        stored.path.unlink(missing_ok=True)
        return fail(f"“{stored.name}” can't be imported: {exc.reason}.")
    if not plan.image_count:
        stored.path.unlink(missing_ok=True)
        return fail(f"“{stored.name}” contains no images we can import.")
    url = reverse("datasets:zip_plan", args=[project.pk, stored.token])
    url += "?" + urlencode({"name": Path(stored.name or "archive.zip").name[:200]})
    if wants_json(request):
        return JsonResponse({"plan_url": url, "images": plan.image_count})
    return redirect(url)


@require_http_methods(["GET", "POST"])
def zip_plan(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    """Shows what the archive holds and imports it once the user confirms the label folders."""
    project = get_project_for_owner(request, pk)
    path = archive_path(project.pk, token)
    if path is None:
        messages.error(request, "That upload has expired or was already imported. Upload it again.")
        return redirect("datasets:upload", pk=project.pk)
    archive_name = request.GET.get("name", "archive.zip")[:200]
    try:
        plan = services.dataset_scan_archive(archive_path=path)
    except ArchiveRejected as exc:  # it passed at upload; only a changed limit gets here
        path.unlink(missing_ok=True)
        messages.error(request, f"The archive can't be imported: {exc.reason}.")
        return redirect("datasets:upload", pk=project.pk)
    existing = {label.name.lower(): label for label in project.labels.all()}
    folders = list(plan.labels)
    form = ZipPlanForm(
        request.POST or None,
        project=project,
        folders=folders,
        initial={"folders": folders},
    )
    if request.method == "POST" and form.is_valid():
        try:
            outcome = services.dataset_plan_import(
                project=project,
                user=request.user,
                plan=plan,
                archive_path=path,
                archive_name=archive_name,
                folders=form.cleaned_data["folders"],
                loose_label=form.cleaned_data["loose_label"],
            )
        except ValidationError as exc:
            for error in exc.messages:
                form.add_error(None, error)
        except ArchiveRejected as exc:
            messages.error(request, f"The archive can't be imported: {exc.reason}.")
            return redirect("datasets:upload", pk=project.pk)
        else:
            if outcome.created_labels:
                messages.info(request, f"Created label(s): {', '.join(outcome.created_labels)}.")
            if outcome.job is not None:
                messages.success(  # tagged: job-notes.js removes it once the import ends
                    request,
                    f"Importing {outcome.count} image(s) in the background: watch the progress.",
                    extra_tags=f"job:{outcome.job.pk}",
                )
                return redirect(reverse("datasets:upload", args=[project.pk]) + "#jobs")
            report = outcome.report.as_dict()
            context = {"project": project, "report": report, "title": archive_name}
            return render(request, "datasets/import_result.html", context)
    rows = [
        {
            "folder": folder,
            "count": n,
            "exists": services.label_for_folder(folder).lower() in existing,
        }
        for folder, n in plan.labels.items()
    ]
    context = {
        "project": project,
        "plan": plan,
        "rows": rows,
        "form": form,
        "archive_name": archive_name,
        "chosen": set(form["folders"].value() or []),
        "inline_max": settings.AIMAKER_INLINE_IMPORT_MAX,
        "max_labels": settings.AIMAKER_PROJECT_MAX_LABELS,
        "label_count": len(existing),
    }
    return render(request, "datasets/zip_plan.html", context)


@require_GET
def import_result(request: HttpRequest, pk: int, job_pk: int) -> HttpResponse:
    project = get_project_for_owner(request, pk)
    job = get_object_or_404(Job, project=project, pk=job_pk, kind=Job.Kind.IMPORT)
    context = {"project": project, "job": job, "report": job.result, "title": job.title}
    return render(request, "datasets/import_result.html", context)
