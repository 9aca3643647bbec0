"""Business logic for training images: ingest one image, import archives and folders, browse
summaries, move and delete. Views, jobs, the web collector and the CLI all call these."""

from __future__ import annotations

import hashlib
import logging
import os
import time
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet

from datasets.archive import (
    ArchiveLimits,
    ArchivePlan,
    ArchiveRejected,
    SkippedEntry,
    iter_archive,
    read_tables,
    scan_archive,
)
from datasets.fetch import FetchRejected, fetch
from datasets.imaging import ImageLimits, ImageRejected, ProcessedImage, process_image
from datasets.models import Image
from datasets.quotas import QuotaReached, StorageQuota
from datasets.tables import TableRow, parse_table
from projects.models import Label, Project
from projects.notify import notify_project
from projects.services import labels_get_or_create

log = logging.getLogger(__name__)

__all__ = [
    "IngestOutcome",
    "ImportReport",
    "PhashIndex",
    "archive_limits",
    "dataset_import_archive",
    "dataset_scan_archive",
    "dataset_import_folder",
    "dataset_notify",
    "dataset_summary",
    "image_delete_many",
    "image_ingest",
    "image_limits",
    "image_move_many",
]

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


def image_limits() -> ImageLimits:
    return ImageLimits(
        max_bytes=settings.AIMAKER_IMAGE_MAX_BYTES, max_pixels=settings.AIMAKER_IMAGE_MAX_PIXELS
    )


# --- One image ----------------------------------------------------------------------------


@dataclass
class IngestOutcome:
    status: str  # "added" | "duplicate" | "rejected"
    name: str  # file / entry name for reports
    image: Image | None = None
    reason: str = ""  # why rejected, or "already in this project (as <label>)" for duplicates
    quota_reached: bool = False  # rejected because the owner's storage quota is full


def _duplicate_reason(label_name: str) -> str:
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


def _delete_files(names: Iterable[str]) -> None:
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


def _store(
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
        **{k: v[:500] if k in ("creator", "provider_id") else v for k, v in provenance.items()},
    )
    written: list[str] = []
    try:
        # The row and its files commit together: the unique (project, sha256) constraint makes a
        # concurrent duplicate fail here, before it writes anything.
        with transaction.atomic():
            image.save()
            ext = processed.extension.lstrip(".")
            for kind, data, kext in (
                ("original", processed.original, ext),
                ("normalized", processed.normalized, "jpg"),
                ("thumbnail", processed.thumbnail, "jpg"),
            ):
                stored = _store_file(image, kind, kext, data)
                written.append(stored)
                setattr(image, kind, stored)
            image.save(update_fields=["original", "normalized", "thumbnail"])
    except IntegrityError:
        _delete_files(written)
        existing = (
            Image.objects.filter(project=project, sha256=processed.sha256)
            .select_related("label")
            .first()
        )
        if existing is None:  # some other constraint: not a duplicate
            log.exception("could not save image %s", name)
            return IngestOutcome("rejected", name, reason="could not be saved")
        return IngestOutcome("duplicate", name, existing, _duplicate_reason(existing.label.name))
    except Exception:
        _delete_files(written)
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
        return IngestOutcome("duplicate", name, existing, _duplicate_reason(existing.label.name))
    processed = _process(data, image_limits())
    if isinstance(processed, str):
        return IngestOutcome("rejected", name, reason=processed)
    try:
        return _store(
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


# --- Many images: archives and folders ----------------------------------------------------

REPORT_LIST_MAX = 500  # entries kept per list in a report (job results are JSON in the DB)


@dataclass
class ImportReport:
    accepted: dict[str, int] = field(default_factory=dict)  # label name -> images added
    duplicates: list[dict[str, str]] = field(default_factory=list)  # {name, reason}
    rejected: list[dict[str, str]] = field(default_factory=list)  # {name, reason}
    duplicates_count: int = 0
    rejected_count: int = 0
    created_labels: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def accepted_count(self) -> int:
        return sum(self.accepted.values())

    def add(self, outcome: IngestOutcome, label_name: str) -> None:
        if outcome.status == "added":
            self.accepted[label_name] = self.accepted.get(label_name, 0) + 1
        elif outcome.status == "duplicate":
            self.duplicates_count += 1
            if len(self.duplicates) < REPORT_LIST_MAX:
                self.duplicates.append({"name": outcome.name, "reason": outcome.reason})
        else:
            self.reject(outcome.name, outcome.reason)

    def reject(self, name: str, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < REPORT_LIST_MAX:
            self.rejected.append({"name": name, "reason": reason})

    def summary(self) -> str:
        parts = [f"{self.accepted_count} image(s) added"]
        if self.accepted:
            per_label = ", ".join(f"{k} {v}" for k, v in sorted(self.accepted.items()))
            parts[0] += f" ({per_label})"
        if self.duplicates_count:
            parts.append(f"{self.duplicates_count} duplicate(s) skipped")
        if self.rejected_count:
            parts.append(f"{self.rejected_count} rejected")
        return "; ".join(parts) + "."

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "accepted_count": self.accepted_count,
            "duplicates": self.duplicates,
            "duplicates_count": self.duplicates_count,
            "rejected": self.rejected,
            "rejected_count": self.rejected_count,
            "created_labels": self.created_labels,
            "seconds": round(self.seconds, 2),
            "summary": self.summary(),
        }


@dataclass
class _Item:
    """One thing to import: an image to read (label known), or something already refused."""

    name: str
    label: Label | None = None
    read: Callable[[], bytes] | None = None
    reason: str = ""  # set: skipped with this reason
    provenance: dict[str, str] | None = None  # e.g. from the archive's attribution.csv
    alias: str = ""  # another sha256 it is known by (its hash in the project it came from)


class _Reporter:
    """The subset of projects.services.JobReporter that imports use."""

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        pass


def _workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _process(data: bytes, limits: ImageLimits) -> ProcessedImage | str:
    try:
        return process_image(data, limits=limits)
    except ImageRejected as exc:
        return exc.reason
    except Exception:  # noqa: BLE001 - one broken file must never stop an import
        log.exception("unexpected error while processing an image")
        return "could not be processed"


def _ingest_items(
    *,
    project: Project,
    items: Iterable[_Item],
    total: int,
    source: str,
    user: User | None,
    reporter: Any = None,
    report: ImportReport,
) -> ImportReport:
    """The import engine: reads and hashes on this thread, decodes/normalizes on a thread pool
    (Pillow releases the GIL), and writes the rows and files back on this thread in order.

    Exact duplicates (already in the project, or twice in the input) are found from one bulk
    query before any decoding. Each image commits on its own, so a failure later never loses
    images already accepted."""
    reporter = reporter or _Reporter()
    limits = image_limits()
    known: dict[str, str] = dict(
        Image.objects.filter(project=project).values_list("sha256", "label__name")
    )
    index = PhashIndex(project)
    quota = StorageQuota(project.owner_id)  # QuotaReached ends the import; earlier images stay
    done = 0
    reporter.progress(0, total, "Importing…")
    workers = _workers()
    window: deque[tuple[_Item, str, Future]] = deque()

    def finish(item: _Item, sha: str, future: Future) -> None:
        nonlocal done
        result = future.result()
        assert item.label is not None
        if isinstance(result, str):
            report.reject(item.name, result)
            known.pop(sha, None)  # it was reserved below; a good copy elsewhere may follow
        else:
            outcome = _store(
                project=project,
                label=item.label,
                processed=result,
                source=source,
                added_by=user,
                name=item.name,
                provenance=item.provenance,
                phash_index=index,
                quota=quota,
            )
            report.add(outcome, item.label.name)
        done += 1
        reporter.progress(done, total, f"{done} of {total}: {item.name}"[:200])

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest") as pool:
        for item in items:
            if item.read is None or item.label is None:
                report.reject(item.name, item.reason or "skipped")
                done += 1
                reporter.progress(done, total)
                continue
            try:
                data = item.read()
            except Exception as exc:  # noqa: BLE001 - unreadable entry: report and go on
                report.reject(item.name, getattr(exc, "reason", "") or "could not be read")
                done += 1
                reporter.progress(done, total)
                continue
            sha = hashlib.sha256(data).hexdigest()
            if sha in known or item.alias in known:
                reason = _duplicate_reason(known.get(sha) or known[item.alias])
                report.add(IngestOutcome("duplicate", item.name, reason=reason), item.label.name)
                done += 1
                reporter.progress(done, total)
                continue
            known[sha] = item.label.name  # later copies in this input are duplicates
            window.append((item, sha, pool.submit(_process, data, limits)))
            # Bounded read-ahead: memory stays flat however large the archive is.
            while len(window) > workers * 4 or (window and window[0][2].done()):
                finish(*window.popleft())
        while window:
            finish(*window.popleft())
    reporter.progress(total, total, report.summary())
    dataset_notify(project)
    return report


def label_for_folder(folder: str) -> str:
    """The label name a folder stands for: its last path component, blanks collapsed."""
    return " ".join(folder.strip("/").rsplit("/", 1)[-1].split())


def archive_limits() -> ArchiveLimits:
    return ArchiveLimits(
        max_entries=settings.AIMAKER_ZIP_MAX_ENTRIES,
        max_total_uncompressed=settings.AIMAKER_ZIP_MAX_UNCOMPRESSED,
        max_entry_bytes=settings.AIMAKER_IMAGE_MAX_BYTES,
        max_ratio=settings.AIMAKER_ZIP_MAX_RATIO,
    )


@dataclass
class _Tables:
    """The CSV tables of an archive: rows naming files in it, rows with URLs, bad rows."""

    by_key: dict[str, TableRow] = field(default_factory=dict)  # lowercased path -> row
    urls: list[TableRow] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (what, reason)


def _folder_key(plan: ArchivePlan, label: str) -> str:
    """The plan folder a table's label counts under (an existing folder of the same name)."""
    wanted = label_for_folder(label).lower()
    for folder in plan.labels:
        if label_for_folder(folder).lower() == wanted:
            return folder
    return label


def _plan_tables(fh: BinaryIO, plan: ArchivePlan, limits: ArchiveLimits) -> _Tables:
    """Read the archive's CSV tables and count what they add to `plan`: loose files they give
    a label, and URL rows (under their label), with bad rows listed as skipped."""
    tables = _Tables()
    if not plan.tables:
        return tables
    for name, data in read_tables(fh, limits=limits):
        if isinstance(data, str):
            tables.problems.append((name, data))
            continue
        rows, problems = parse_table(name, data)
        tables.problems.extend(problems)
        for row in rows:
            if row.is_url:
                tables.urls.append(row)
            else:
                tables.by_key.setdefault(row.file.lower(), row)
    loose = {key.lower() for key in plan.loose_keys}
    known = loose | {key.lower() for key in plan.image_keys}
    for key, row in list(tables.by_key.items()):
        if key not in known:
            tables.problems.append((row.name, "no such image file in this ZIP"))
            del tables.by_key[key]
        elif key in loose and row.label:
            row.folder = _folder_key(plan, row.label)
            plan.labels[row.folder] = plan.labels.get(row.folder, 0) + 1
            plan.loose_files -= 1
    for row in tables.urls:
        row.folder = _folder_key(plan, row.label)
        plan.labels[row.folder] = plan.labels.get(row.folder, 0) + 1
    plan.labels = dict(sorted(plan.labels.items()))
    plan.skipped.extend(SkippedEntry(what, reason) for what, reason in tables.problems)
    return tables


def dataset_archive_from_table(*, path: Path, name: str) -> None:
    """Turn an uploaded CSV (rows of image URL, label) into a ZIP holding just that table, in
    place, so it imports like any archive. Raises ArchiveRejected when it is too large."""
    from datasets.archive import TABLE_MAX_BYTES

    if path.stat().st_size > TABLE_MAX_BYTES:
        raise ArchiveRejected(f"the table is too large (limit {TABLE_MAX_BYTES // 2**20} MB)")
    data = path.read_bytes()
    partial = path.with_name(path.name + ".part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name.replace("/", "_").lstrip(".") or "table.csv", data)
    partial.replace(path)


def dataset_scan_archive(*, archive_path: str | Path) -> ArchivePlan:
    """The plan for an uploaded archive (labels, loose files, skipped entries), inflating
    only its CSV tables. Raises ArchiveRejected."""
    limits = archive_limits()
    with open(archive_path, "rb") as fh:
        plan = scan_archive(fh, limits=limits)
        _plan_tables(fh, plan, limits)
        return plan


def dataset_import_archive(
    *,
    project: Project,
    archive_path: str | Path,
    label_map: dict[str, int | None],
    loose_label: Label | None,
    user: User | None,
    create_labels: Iterable[str] = (),
    reporter: Any = None,
) -> ImportReport:
    """Import the images of a ZIP file of label folders.

    label_map: label folder (as datasets.archive names it) -> label id; folders missing from it
    (or mapped to None) are not imported. create_labels: folders to create labels for first
    (matched case-insensitively to existing labels; they are then imported too).
    loose_label: where images outside any folder go (None: not imported)."""
    started = time.monotonic()
    report = ImportReport()
    create_labels = list(create_labels)
    by_name, report.created_labels = labels_get_or_create(project=project, names=create_labels)
    labels_by_id = {label.pk: label for label in by_name.values()}
    mapping: dict[str, Label | None] = {
        folder: labels_by_id.get(label_id) if label_id is not None else None
        for folder, label_id in label_map.items()
    }
    for folder in create_labels:
        if mapping.get(folder) is None:
            mapping[folder] = by_name.get(label_for_folder(folder).lower())
    limits = archive_limits()
    with open(archive_path, "rb") as fh:
        plan = scan_archive(fh, limits=limits)
        tables = _plan_tables(fh, plan, limits)
        total = plan.image_count + len(plan.skipped)
        _ingest_items(
            project=project,
            items=_archive_items(fh, limits, mapping, loose_label, tables),
            total=total,
            source=Image.Source.ZIP,
            user=user,
            reporter=reporter,
            report=report,
        )
    report.seconds = time.monotonic() - started
    return report


def _archive_items(
    fh: BinaryIO,
    limits: ArchiveLimits,
    mapping: dict[str, Label | None],
    loose: Label | None,
    tables: _Tables | None = None,
) -> Iterator[_Item]:
    tables = tables or _Tables()
    for what, reason in tables.problems:  # bad table rows: each one said, nothing else lost
        yield _Item(what, reason=reason)
    try:
        for entry in iter_archive(fh, limits=limits):
            if isinstance(entry, SkippedEntry):
                yield _Item(entry.name, reason=entry.reason)
                continue
            row = tables.by_key.get(entry.key.lower())
            if entry.label is not None:
                label = mapping.get(entry.label)
            elif row is not None and row.folder:
                label = mapping.get(row.folder)
            else:
                label = loose
            if label is None:
                chosen = entry.label or (row.folder if row else "")
                reason = "folder not selected for import" if chosen else "no label chosen"
                yield _Item(entry.name, reason=reason)
            else:
                yield _Item(
                    entry.name,
                    label,
                    read=lambda data=entry.data: data,
                    provenance=row.provenance if row is not None else None,
                    alias=row.sha256 if row is not None else "",
                )
    except ArchiveRejected as exc:
        # A whole-archive problem found mid-way (totals, ratio): what came before is kept.
        yield _Item("(archive)", reason=f"import stopped: {exc.reason}")
    yield from _url_items(tables.urls, mapping)


def _url_items(rows: list[TableRow], mapping: dict[str, Label | None]) -> Iterator[_Item]:
    """The URL rows of the archive's tables, downloaded through the SSRF-safe fetcher."""
    from datasets.collect import collect_fetch_policy

    policy = collect_fetch_policy()

    def download(url: str) -> bytes:
        try:
            return fetch(url, policy=policy).data
        except FetchRejected as exc:
            raise FetchRejected(f"download refused: {exc.reason}") from None

    for row in rows:
        label = mapping.get(row.folder)
        if label is None:
            yield _Item(row.name, reason="label not selected for import")
        else:
            yield _Item(
                row.name, label, read=lambda url=row.file: download(url), provenance=row.provenance
            )


def dataset_import_folder(
    *,
    project: Project,
    folder: str | Path,
    loose_label: Label | None = None,
    user: User | None,
    create_labels: bool = True,
    reporter: Any = None,
) -> ImportReport:
    """Import a folder of label folders (each sub-folder's name is a label; nested folders
    belong to their top-level folder). Files directly in `folder` go to `loose_label`."""
    started = time.monotonic()
    root = Path(folder)
    report = ImportReport()
    files: list[tuple[str, str | None, Path]] = []  # (name, label folder, path)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        rel = Path(dirpath).relative_to(root)
        top = rel.parts[0] if rel.parts else None
        for fname in sorted(filenames):
            if fname.startswith("."):
                continue
            files.append((str(rel / fname), top, Path(dirpath) / fname))
    folders = sorted({top for _, top, _ in files if top})
    if create_labels:
        by_name, report.created_labels = labels_get_or_create(project=project, names=folders)
    else:
        by_name = {label.name.lower(): label for label in project.labels.all()}
    max_bytes = settings.AIMAKER_IMAGE_MAX_BYTES

    def items() -> Iterator[_Item]:
        for name, top, path in files:
            label = by_name.get(label_for_folder(top).lower()) if top else loose_label
            if label is None:
                yield _Item(name, reason="no label for this file")
            elif path.suffix.lower() not in IMAGE_EXTENSIONS:
                yield _Item(name, reason="not an image file (by its extension)")
            elif path.is_symlink() or not path.is_file():
                yield _Item(name, reason="not a regular file")
            elif path.stat().st_size > max_bytes:
                yield _Item(name, reason=f"file too large (limit {max_bytes // 2**20} MB)")
            else:
                yield _Item(name, label, read=path.read_bytes)

    _ingest_items(
        project=project,
        items=items(),
        total=len(files),
        source=Image.Source.FOLDER,
        user=user,
        reporter=reporter,
        report=report,
    )
    report.seconds = time.monotonic() - started
    return report


# --- Browsing and cleaning ----------------------------------------------------------------


def dataset_summary(project: Project) -> dict[str, Any]:
    """Per-label image counts and whether the project is ready to train.

    {"labels": [{"id", "name", "count", "enough", "missing"}], "total", "min_per_label",
     "ready", "problems": [str]}"""
    minimum = settings.AIMAKER_MIN_IMAGES_PER_LABEL
    labels = []
    for label in project.labels.annotate(n=Count("images")).order_by("name"):
        labels.append(
            {
                "id": label.pk,
                "name": label.name,
                "count": label.n,
                "enough": label.n >= minimum,
                "missing": max(0, minimum - label.n),
            }
        )
    problems: list[str] = []
    if len(labels) < 2:
        problems.append("Add at least two labels: an AI tells things apart.")
    for row in labels:
        if not row["enough"]:
            problems.append(
                f"“{row['name']}” has {row['count']} image(s); add at least {row['missing']} more "
                f"(each label needs {minimum})."
            )
    return {
        "labels": labels,
        "total": sum(row["count"] for row in labels),
        "min_per_label": minimum,
        "ready": not problems,
        "problems": problems,
    }


def dataset_notify(project: Project, summary: dict[str, Any] | None = None) -> None:
    """Tell open project pages the new counts (best effort, like every live event)."""
    notify_project(project.pk, {"type": "data", "data": summary or dataset_summary(project)})


def image_delete_many(*, project: Project, image_ids: Iterable[int]) -> int:
    """Delete these images of `project` (ids of other projects are ignored); files go on
    commit (see datasets.signals)."""
    ids = [int(i) for i in image_ids]
    with transaction.atomic():
        # Images pointing at a deleted one lose the link (SET NULL), not their row.
        deleted, _ = Image.objects.filter(project=project, pk__in=ids).delete()
    dataset_notify(project)
    return deleted


def image_move_many(*, project: Project, image_ids: Iterable[int], label: Label) -> int:
    if label.project_id != project.pk:
        raise ValidationError("That label belongs to another project.")
    ids = [int(i) for i in image_ids]
    moved = Image.objects.filter(project=project, pk__in=ids).update(label=label)
    dataset_notify(project)
    return moved


def near_duplicate_pairs(*, project: Project) -> QuerySet[Image]:
    """The images flagged as looking almost the same as an earlier one, newest first; each
    row is a pair (the image, and .near_duplicate_of) still to review."""
    return (
        Image.objects.filter(project=project, near_duplicate_of__isnull=False)
        .select_related("label", "near_duplicate_of__label")
        .order_by("-id")
    )


def near_duplicate_keep_both(*, project: Project, image_id: int) -> bool:
    """The owner looked at the pair and keeps both: the flag goes, so it is not shown again.
    Returns whether there was such a pair."""
    updated = Image.objects.filter(
        project=project, pk=image_id, near_duplicate_of__isnull=False
    ).update(near_duplicate_of=None)
    return bool(updated)
