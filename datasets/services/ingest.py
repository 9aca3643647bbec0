"""Ingesting one image: checks, normalised copies, exact and near-duplicate detection, storage."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from datasets.imaging import ImageLimits, ImageRejected, ProcessedImage, process_image
from datasets.models import Image
from datasets.quotas import QuotaReached, StorageQuota
from datasets.safety import nsfw_score, nsfw_screens
from projects.models import Label, Project

log = logging.getLogger(__name__)


PROVENANCE_FIELDS = (
    "source_url",
    "landing_url",
    "creator",
    "license",
    "license_url",
    "attribution",
    "provider",
    "provider_id",
)
# Perceptual hashes (64 bits) this close are "near duplicates": resized, re-encoded or lightly
# edited copies. Small on purpose: a false badge is worse than a missed one.
NEAR_DUPLICATE_MAX_DISTANCE = 4
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif")


def image_limits(*, original_max_side: int | None = None) -> ImageLimits:
    """The configured limits of every image taken in (training data and predictions alike)."""
    return ImageLimits(
        max_bytes=settings.AIMAKER_IMAGE_MAX_BYTES,
        max_pixels=settings.AIMAKER_IMAGE_MAX_PIXELS,
        original_max_side=original_max_side,
    )


def image_process(data: bytes, limits: ImageLimits) -> ProcessedImage | str:
    """The checked, normalised image, or the reason it was refused (never raises)."""
    try:
        return process_image(data, limits=limits)
    except ImageRejected as exc:
        return exc.reason
    except Exception:  # noqa: BLE001 - one broken file must never stop an import
        log.exception("unexpected error while processing an image")
        return "could not be processed"


@dataclass
class IngestOutcome:
    status: str  # "added" | "duplicate" | "rejected"
    name: str  # file / entry name for reports
    image: Image | None = None
    reason: str = ""  # why rejected, or "already in this project (as <label>)" for duplicates
    quota_reached: bool = False  # rejected because the owner's storage quota is full


def duplicate_reason(label_name: str) -> str:
    return f"already in this project (as {label_name})"


class PhashIndex:
    """The perceptual hashes of one project's images, for near-duplicate lookups.

    Loaded once per import (10k hashes: a few ms) and kept current as images are added."""

    def __init__(self, project: Project) -> None:
        rows = Image.objects.filter(project=project).exclude(phash="").values_list("id", "phash")
        self._ids: list[int] = []
        values: list[int] = []
        for pk, phash in rows:
            value = _phash_int(phash)
            if value is not None:
                self._ids.append(pk)
                values.append(value)
        self._hashes = np.array(values, dtype=np.uint64)
        self._pending: list[tuple[int, int]] = []  # appended since the array was built

    def find(self, phash: str) -> int | None:
        """Id of the closest image within NEAR_DUPLICATE_MAX_DISTANCE, or None."""
        value = _phash_int(phash)
        if value is None:
            return None
        best: tuple[int, int] | None = None  # (distance, id)
        if len(self._hashes):
            distances = np.bitwise_count(self._hashes ^ np.uint64(value))
            i = int(np.argmin(distances))
            best = (int(distances[i]), self._ids[i])
        for pk, other in self._pending:
            d = (other ^ value).bit_count()
            if best is None or d < best[0]:
                best = (d, pk)
        if best is not None and best[0] <= NEAR_DUPLICATE_MAX_DISTANCE:
            return best[1]
        return None

    def add(self, pk: int, phash: str) -> None:
        value = _phash_int(phash)
        if value is None:
            return
        self._pending.append((pk, value))
        if len(self._pending) >= 256:  # fold into the array: keeps add() and find() cheap
            self._ids.extend(p for p, _ in self._pending)
            extra = np.array([v for _, v in self._pending], dtype=np.uint64)
            self._hashes = np.concatenate([self._hashes, extra])
            self._pending = []


def _phash_int(phash: str) -> int | None:
    try:
        value = int(phash, 16)
    except (TypeError, ValueError):
        return None
    return value if 0 <= value < 2**64 else None


def _store_file(image: Image, kind: str, ext: str, data: bytes) -> str:
    return default_storage.save(image.path_for(kind, ext), ContentFile(data))


def storage_files_delete(names: Iterable[str]) -> None:
    """Delete stored files (missing ones are fine) and the folders they leave empty."""
    for name in names:
        if not name:
            continue
        try:
            default_storage.delete(name)
        except Exception:  # noqa: BLE001 - a leftover file must not fail the caller
            log.warning("could not delete %s", name, exc_info=True)
    _remove_empty_dirs(names)


def _remove_empty_dirs(names: Iterable[str]) -> None:
    # Local storage only: the per-image folder (…/<sha>/) is empty once its files are gone.
    if not hasattr(default_storage, "path"):
        return
    for name in {os.path.dirname(n) for n in names if n}:
        try:
            os.rmdir(default_storage.path(name))
        except (OSError, NotImplementedError):
            pass


def image_store(
    *,
    project: Project,
    label: Label,
    processed: ProcessedImage,
    source: str,
    added_by: User | None,
    name: str,
    provenance: dict[str, Any] | None,
    phash_index: PhashIndex | None,
    quota: StorageQuota | None = None,
) -> IngestOutcome:
    """Save the row and its three files. Runs on one thread (the database side of an import).
    Raises QuotaReached, before writing anything, when the owner's storage is full."""
    size = len(processed.original) + len(processed.normalized) + len(processed.thumbnail)
    quota = quota or StorageQuota(project.owner_id)
    quota.check(size)
    score = (
        nsfw_score(processed.normalized) if nsfw_screens(project=project, source=source) else None
    )
    near = (phash_index or PhashIndex(project)).find(processed.phash)
    if near is not None and not Image.objects.filter(pk=near).exists():
        near = None  # deleted since the index was loaded: a link would break the foreign key
    provenance = {k: str(v or "") for k, v in (provenance or {}).items() if k in PROVENANCE_FIELDS}
    image = Image(
        project=project,
        label=label,
        sha256=processed.sha256,
        phash=processed.phash,
        near_duplicate_of_id=near,
        width=processed.width,
        height=processed.height,
        format=processed.format,
        source=source,
        original_name=name[:500],
        added_by=added_by,
        stored_bytes=size,
        nsfw_score=score,
        quarantined=score is not None and score >= settings.AIMAKER_NSFW_THRESHOLD,
        **{k: v[:500] if k in ("creator", "provider_id") else v for k, v in provenance.items()},
    )
    written: list[str] = []
    try:
        # The names are known before the files exist (content-addressed): one INSERT, and an
        # UPDATE only when the storage had to pick another name.
        files = {
            "original": (processed.original, processed.extension.lstrip(".")),
            "normalized": (processed.normalized, "jpg"),
            "thumbnail": (processed.thumbnail, "jpg"),
        }
        for kind, (_, ext) in files.items():
            setattr(image, kind, image.path_for(kind, ext))
        # The row and its files commit together: the unique (project, sha256) constraint makes a
        # concurrent duplicate fail here, before it writes anything.
        with transaction.atomic():
            image.save()
            renamed = []
            for kind, (data, ext) in files.items():
                stored = _store_file(image, kind, ext, data)
                written.append(stored)
                if stored != getattr(image, kind).name:
                    setattr(image, kind, stored)
                    renamed.append(kind)
            if renamed:
                image.save(update_fields=renamed)
    except IntegrityError:
        storage_files_delete(written)
        existing = (
            Image.objects.filter(project=project, sha256=processed.sha256)
            .select_related("label")
            .first()
        )
        if existing is None:  # some other constraint: not a duplicate
            log.exception("could not save image %s", name)
            return IngestOutcome("rejected", name, reason="could not be saved")
        return IngestOutcome("duplicate", name, existing, duplicate_reason(existing.label.name))
    except Exception:
        storage_files_delete(written)
        log.exception("could not store image %s", name)
        return IngestOutcome("rejected", name, reason="could not be stored (storage error)")
    quota.take(size)
    if phash_index is not None:
        phash_index.add(image.pk, image.phash)
    return IngestOutcome("added", name, image)


def image_ingest(
    *,
    project: Project,
    label: Label,
    data: bytes,
    source: str,
    added_by: User | None,
    original_name: str = "",
    provenance: dict | None = None,
    phash_index: PhashIndex | None = None,
    quota: StorageQuota | None = None,
) -> IngestOutcome:
    """Validate, normalize and store one image under `label`. Never raises for bad input:
    the outcome says whether it was added, is a duplicate, or was rejected (with the reason)."""
    if label.project_id != project.pk:
        raise ValueError("the label belongs to another project")
    name = original_name or "image"
    sha = hashlib.sha256(data).hexdigest()
    existing = Image.objects.filter(project=project, sha256=sha).select_related("label").first()
    if existing is not None:
        return IngestOutcome("duplicate", name, existing, duplicate_reason(existing.label.name))
    processed = image_process(data, image_limits())
    if isinstance(processed, str):
        return IngestOutcome("rejected", name, reason=processed)
    try:
        return image_store(
            project=project,
            label=label,
            processed=processed,
            source=source,
            added_by=added_by,
            name=name,
            provenance=provenance,
            phash_index=phash_index,
            quota=quota,
        )
    except QuotaReached as exc:
        return IngestOutcome("rejected", name, reason=exc.message, quota_reached=True)
