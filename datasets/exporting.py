"""Dataset export: a ZIP of label folders with the original image files and `attribution.csv`
(so CC-BY credit travels with the images). The same ZIP imports back through the ZIP upload.

Built by a job (datasets.jobs.export_dataset) into a temporary file, streamed from storage
image by image, then stored as one file: memory stays flat however large the dataset is."""

from __future__ import annotations

import csv
import io
import logging
import os
import shutil
import tempfile
import unicodedata
import zipfile
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.template.defaultfilters import pluralize
from django.utils.text import slugify

from datasets.models import Image
from datasets.services import storage_files_delete
from projects.models import Job, Project
from projects.services import JobReporter, job_create, job_run

log = logging.getLogger(__name__)

__all__ = [
    "ATTRIBUTION_CSV",
    "ATTRIBUTION_COLUMNS",
    "dataset_export_build",
    "dataset_export_filename",
    "dataset_export_latest",
    "dataset_export_start",
]

ATTRIBUTION_CSV = "attribution.csv"
# The first six are what people read; the last three let an import restore everything.
ATTRIBUTION_COLUMNS = (
    "file", "label", "source", "creator", "licence", "licence URL",
    "image URL", "provider", "attribution", "sha256",
)  # fmt: skip
_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif")
_NAME_MAX = 120


def _safe_part(text: str, fallback: str) -> str:
    """One path component: no separators, control characters or leading dots."""
    text = unicodedata.normalize("NFC", text)
    text = "".join("_" if ch in "/\\" or unicodedata.category(ch)[0] == "C" else ch for ch in text)
    text = text.strip().lstrip(".").strip()
    return text or fallback


def _stored_extension(image: Image) -> str:
    ext = os.path.splitext(image.original.name or "")[1].lower()
    return ext if ext in _IMAGE_EXTENSIONS else f".{(image.format or 'jpg').lower()}"


def _file_name(image: Image) -> str:
    """The image's own name where it has one (basename of the upload or ZIP entry), with the
    extension of its stored bytes."""
    base = (image.original_name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = base.split("?", 1)[0]
    stem, ext = os.path.splitext(base)
    stored = _stored_extension(image)
    if ext.lower() not in _IMAGE_EXTENSIONS or (ext.lower() in (".jpg", ".jpeg")) != (
        stored in (".jpg", ".jpeg")
    ):
        stem, ext = base, stored
    stem = _safe_part(stem, fallback=image.sha256[:12])[:_NAME_MAX]
    return stem + ext.lower()


def _unique(name: str, taken: set[str], sha: str) -> str:
    if name.lower() not in taken:
        taken.add(name.lower())
        return name
    stem, ext = os.path.splitext(name)
    for candidate in (f"{stem}-{sha[:8]}{ext}", f"{stem}-{sha}{ext}"):
        if candidate.lower() not in taken:
            taken.add(candidate.lower())
            return candidate
    raise AssertionError("sha256 is unique per project")  # pragma: no cover


def _attribution_row(path: str, image: Image) -> list[str]:
    return [
        path,
        image.label.name,
        image.landing_url or image.source_url,
        image.creator,
        image.license,
        image.license_url,
        image.source_url,
        image.provider,
        image.attribution,
        image.sha256,  # of the bytes first imported: a re-import spots its duplicates by it
    ]


def dataset_export_build(
    *, project: Project, out: str | os.PathLike, reporter: Any = None
) -> dict[str, Any]:
    """Write the dataset ZIP to the local file `out`; returns {"images", "labels"}."""
    qs = Image.objects.filter(project=project, quarantined=False)
    qs = qs.select_related("label").order_by("label__name", "id")
    total = qs.count()
    if reporter is not None:
        reporter.progress(0, total, "Exporting…")
    folders: dict[int, str] = {}
    taken_folders: set[str] = set()
    taken: dict[str, set[str]] = {}
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(ATTRIBUTION_COLUMNS)
    done = missing = 0
    # Images are already compressed: stored, not deflated (fast, and no bigger).
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for image in qs.iterator(chunk_size=500):
            folder = folders.get(image.label_id)
            if folder is None:
                folder = _unique(_safe_part(image.label.name, "label"), taken_folders, "")
                folders[image.label_id] = folder
            name = _unique(_file_name(image), taken.setdefault(folder, set()), image.sha256)
            path = f"{folder}/{name}"
            info = zipfile.ZipInfo(path, date_time=image.created_at.timetuple()[:6])
            info.external_attr = 0o644 << 16
            try:
                src = default_storage.open(image.original.name, "rb")
            except OSError:  # deleted since the export started: leave it out
                log.info("export of project %s: %s is gone", project.pk, image.original.name)
                missing += 1
                continue
            with src, zf.open(info, "w", force_zip64=True) as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
            writer.writerow(_attribution_row(path, image))
            done += 1
            if reporter is not None:
                reporter.progress(done + missing, total, f"{done} of {total}: {path}"[:200])
        zf.writestr(ATTRIBUTION_CSV, table.getvalue(), compress_type=zipfile.ZIP_DEFLATED)
    return {"images": done, "labels": len(folders), "missing": missing}


def dataset_export_filename(*, project: Project) -> str:
    return f"{slugify(project.name) or 'project'}-dataset.zip"


def _export_name(job: Job) -> str:
    return f"projects/{job.project_id}/exports/dataset-{job.pk}.zip"


def _exports_older(job: Job) -> list[Job]:
    return list(
        Job.objects.filter(project_id=job.project_id, kind=Job.Kind.EXPORT)
        .exclude(pk=job.pk)
        .exclude(status__in=Job.ACTIVE)
    )


def dataset_export_run(*, job: Job, reporter: JobReporter) -> dict[str, Any]:
    """The body of an export job: build to a temporary file, store it, drop older exports."""
    with tempfile.TemporaryDirectory(prefix="aimaker-export-") as tmp:
        out = os.path.join(tmp, "dataset.zip")
        result = dataset_export_build(project=job.project, out=out, reporter=reporter)
        name = _export_name(job)
        if default_storage.exists(name):
            default_storage.delete(name)
        with open(out, "rb") as fh:
            name = default_storage.save(name, File(fh, name=os.path.basename(name)))
        result["bytes"] = os.path.getsize(out)
    result["file"] = name
    result["filename"] = dataset_export_filename(project=job.project)
    for old in _exports_older(job):  # only the newest export is kept
        stored = (old.result or {}).get("file")
        if stored:
            storage_files_delete([stored])
            Job.objects.filter(pk=old.pk).update(result={**old.result, "file": ""})
    images, labels = result["images"], result["labels"]
    reporter.job.message = (
        f"{images:,} image{pluralize(images)} in {labels} label folder{pluralize(labels)}"
    )
    return result


def dataset_export_start(*, project: Project, user: User | None) -> Job:
    """Export the dataset: small ones at once (the job row is run here), large ones as a
    background job. Raises ValidationError when there is nothing to export or one runs."""
    count = Image.objects.filter(project=project, quarantined=False).count()
    if not count:
        raise ValidationError("There are no images to export yet.")
    if project.jobs.filter(kind=Job.Kind.EXPORT, status__in=Job.ACTIVE).exists():
        raise ValidationError("An export of this dataset is already running.")
    title = f"Export {count:,} image{pluralize(count)}"
    if count > settings.AIMAKER_INLINE_IMPORT_MAX:
        return job_create(
            project=project,
            user=user,
            kind=Job.Kind.EXPORT,
            title=title,
            func="datasets.jobs.export_dataset",
            queue="collect",
            total=count,
            timeout=3600,
        )
    job = Job.objects.create(
        project=project, created_by=user, kind=Job.Kind.EXPORT, title=title, total=count
    )
    return job_run(
        job_id=job.pk, work=lambda job, reporter: dataset_export_run(job=job, reporter=reporter)
    )


def dataset_export_latest(*, project: Project) -> Job | None:
    return project.jobs.filter(kind=Job.Kind.EXPORT).order_by("-id").first()


def dataset_export_file(*, job: Job) -> str | None:
    """The storage name of a finished export's ZIP, or None (not done, failed, replaced)."""
    if job.kind != Job.Kind.EXPORT or job.status != Job.Status.SUCCEEDED:
        return None
    name = (job.result or {}).get("file") or ""
    return name if name and default_storage.exists(name) else None
