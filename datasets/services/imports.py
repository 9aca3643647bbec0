"""Importing many images: ZIP archives (with an optional labels table) and server folders,
checked in parallel and reported per file."""

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

from django.conf import settings
from django.contrib.auth.models import User

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
from datasets.models import Image
from datasets.quotas import StorageQuota
from datasets.services.browse import dataset_notify
from datasets.services.ingest import (
    IMAGE_EXTENSIONS,
    IngestOutcome,
    PhashIndex,
    duplicate_reason,
    image_limits,
    image_process,
    image_store,
)
from datasets.tables import TableRow, parse_table
from projects.models import Label, Project
from projects.services import labels_get_or_create

log = logging.getLogger(__name__)


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
            outcome = image_store(
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
                reason = duplicate_reason(known.get(sha) or known[item.alias])
                report.add(IngestOutcome("duplicate", item.name, reason=reason), item.label.name)
                done += 1
                reporter.progress(done, total)
                continue
            known[sha] = item.label.name  # later copies in this input are duplicates
            window.append((item, sha, pool.submit(image_process, data, limits)))
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
