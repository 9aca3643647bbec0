"""Model exports (Keras, ONNX, TFLite...): built once per version and format by a job."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.text import slugify

from inference import serving
from inference.models import (
    ModelVersion,
)
from projects.models import Job
from projects.services import job_create

log = logging.getLogger(__name__)


def export_name(*, version: ModelVersion, fmt: str) -> str:
    return f"{version.exports_prefix}{fmt}.zip"


def export_filename(*, version: ModelVersion, fmt: str) -> str:
    return f"{slugify(version.project.name) or 'model'}-{version.name}-{fmt}.zip"


def version_preprocessing(*, version: ModelVersion) -> dict[str, Any]:
    name = version.artifact("preprocessing.json")
    try:
        with default_storage.open(name, "rb") as f:
            return json.loads(f.read())
    except (FileNotFoundError, OSError, ValueError):
        model = serving.get_model(version)
        return {"input_size": model.input_size, "resize": "shorter_side_then_center_crop",
                "input_range": [0, 255], "color": "RGB", "dtype": "float32"}  # fmt: skip


def export_build(*, version: ModelVersion, fmt: str) -> str:
    """Build the ZIP of `fmt` into storage (if not there yet); returns its storage name."""
    from inference.export import FORMATS, build_export

    if fmt not in FORMATS:
        raise ValidationError(f"Unknown export format {fmt!r}.")
    name = export_name(version=version, fmt=fmt)
    if export_ready(version=version, fmt=fmt):
        return name
    for leftover in (name, _export_marker(name)):  # a write that never finished (disk full...)
        if default_storage.exists(leftover):
            default_storage.delete(leftover)
    onnx_bytes = _stored_onnx(version) if fmt == "onnx" else None
    local_model, temporary = serving._local_copy(version.model_path)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = build_export(
                model_path=local_model,
                fmt=fmt,
                out_zip=os.path.join(tmp, "export.zip"),
                labels=version.labels,
                preprocessing=version_preprocessing(version=version),
                project=version.project.name,
                version=version.name,
                onnx_bytes=onnx_bytes,
                unknown=_unknown_files(version),
            )
            with open(out, "rb") as f:
                saved = default_storage.save(name, File(f, name=os.path.basename(name)))
            if saved != name:  # another build stored it first (a file storage renames ours)
                default_storage.delete(saved)
                return name
            # Complete only once every byte is stored: the marker holds the size to expect.
            size = os.path.getsize(out)
            default_storage.save(_export_marker(name), ContentFile(str(size).encode()))
    finally:
        if temporary:
            os.unlink(local_model)
    return name


def _unknown_files(version: ModelVersion) -> dict[str, Any] | None:
    """The version's unknown-detector and the threshold in force, for the ZIP."""
    if version.threshold is None:
        return None
    try:
        with default_storage.open(serving.unknown_artifact_path(version.model_path), "rb") as f:
            return {"detector": f.read(), "threshold": version.threshold}
    except (FileNotFoundError, OSError):
        return None


def _stored_onnx(version: ModelVersion) -> bytes | None:
    """The ONNX model that serves the version (written at training, or at its first use):
    exporting it as is skips a conversion of seconds, and the download is what serves."""
    name = serving.onnx_artifact_path(version.model_path)
    try:
        with default_storage.open(name, "rb") as f:
            return f.read()
    except (FileNotFoundError, OSError):
        return None


def _export_marker(name: str) -> str:
    return f"{name}.complete"


def export_ready(*, version: ModelVersion, fmt: str) -> bool:
    """True when the ZIP is fully stored (its completion marker names its size)."""
    name = export_name(version=version, fmt=fmt)
    try:
        with default_storage.open(_export_marker(name), "rb") as f:
            expected = int(f.read())
        return default_storage.size(name) == expected
    except (FileNotFoundError, OSError, ValueError):
        return False


def _export_jobs(*, version: ModelVersion, fmt: str) -> Any:
    return Job.objects.filter(
        project_id=version.project_id,
        kind=Job.Kind.MODEL_EXPORT,
        params__version_id=version.pk,
        params__fmt=fmt,
    ).order_by("-pk")


def export_request(*, version: ModelVersion, fmt: str, user: User | None = None) -> str | None:
    """The storage name of a built export, or None after queueing its build (a job row, once).

    Raises ValidationError when the last build failed (asking again retries) or the queue is
    unavailable, so the waiting page never waits forever."""
    from inference.export import FORMATS

    if fmt not in FORMATS:
        raise ValidationError(f"Unknown export format {fmt!r}.")
    if export_ready(version=version, fmt=fmt):
        return export_name(version=version, fmt=fmt)
    with transaction.atomic():
        # One build per export at a time: concurrent requests wait here for each other.
        ModelVersion.objects.select_for_update().filter(pk=version.pk).first()
        latest = _export_jobs(version=version, fmt=fmt).first()
        if latest is not None and latest.is_active:
            return None
        unreported_failure = (
            latest is not None
            and latest.status == Job.Status.FAILED
            and not latest.params.get("reported")
        )
        if not unreported_failure:
            latest = job_create(
                project=version.project,
                user=user,
                kind=Job.Kind.MODEL_EXPORT,
                title=f"{FORMATS[fmt]} export of {version.name}",
                func="inference.jobs.export_build",
                params={"version_id": version.pk, "fmt": fmt},
                total=1,
                timeout=1800,
            )
    latest.refresh_from_db()  # queued on commit: failed now when the queue is unreachable
    if latest.status != Job.Status.FAILED:
        return None
    # A failure is said once; the next request builds the export again.
    Job.objects.filter(pk=latest.pk).update(params={**latest.params, "reported": True})
    if latest.started_at is None:
        raise ValidationError(
            "The job queue is unavailable, so the export cannot be built now. Try again later."
        )
    raise ValidationError(
        f"Building the {FORMATS[fmt]} export of {version.name} failed. Try again, or pick another "
        "format."
    )


def exports_delete(*, version: ModelVersion) -> None:
    prefix = version.exports_prefix.rstrip("/")
    try:
        _dirs, files = default_storage.listdir(prefix)
    except (FileNotFoundError, OSError, NotImplementedError):
        return
    for name in files:
        default_storage.delete(f"{prefix}/{name}")
