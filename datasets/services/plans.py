"""Importing a ZIP archive the owner has confirmed: which label folders, where loose files go,
and whether it runs now (small) or as a background job (large)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from datasets.archive import ArchivePlan
from datasets.services.imports import ImportReport, dataset_import_archive, label_for_folder
from projects.models import Job, Label, Project
from projects.services import job_create, labels_get_or_create


@dataclass
class PlanOutcome:
    count: int  # images the plan imports
    created_labels: list[str]
    job: Job | None = None  # a large import, running in the background
    report: ImportReport | None = None  # a small one, already done


def dataset_plan_import(
    *,
    project: Project,
    user: User,
    plan: ArchivePlan,
    archive_path: Path,
    archive_name: str,
    folders: list[str],
    loose_label: Label | None,
) -> PlanOutcome:
    """Create the chosen folders' labels and import them (inline up to
    AIMAKER_INLINE_IMPORT_MAX images, else as a job). Raises ValidationError with a message to
    show (nothing is created then) and ArchiveRejected for an archive that fails its checks.
    The archive file is deleted once imported inline; a job deletes it when it ends."""
    loose = loose_label if plan.loose_files else None
    with transaction.atomic():
        by_name, created = labels_get_or_create(project=project, names=folders)
        label_map = {
            f: by_name[key].pk for f in folders if (key := label_for_folder(f).lower()) in by_name
        }
        count = sum(plan.labels[f] for f in folders) + (plan.loose_files if loose else 0)
        if count == 0:
            raise ValidationError("Nothing to import: the chosen folders are empty.")
        if count > settings.AIMAKER_INLINE_IMPORT_MAX:
            job = job_create(
                project=project,
                user=user,
                kind=Job.Kind.IMPORT,
                title=f"Import {archive_name}",
                func="datasets.jobs.import_archive",
                queue="collect",
                total=count,
                params={
                    "archive_path": str(archive_path),
                    "archive_name": archive_name,
                    "label_map": label_map,
                    "loose_label_id": loose.pk if loose else None,
                    "created_labels": created,
                },
            )
            return PlanOutcome(count=count, created_labels=created, job=job)
    try:
        report = dataset_import_archive(
            project=project,
            archive_path=archive_path,
            label_map=label_map,
            loose_label=loose,
            user=user,
        )
    finally:
        archive_path.unlink(missing_ok=True)
    report.created_labels = created
    return PlanOutcome(count=count, created_labels=created, report=report)
