"""Import a folder of label folders, or a ZIP of one, into a user's project (created, private,
if it does not exist). Same service as the browser import."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from datasets.archive import ArchiveRejected
from datasets.services import (
    ImportReport,
    dataset_import_archive,
    dataset_import_folder,
    dataset_scan_archive,
)
from projects.models import Project
from projects.services import project_create


class ProgressBar:
    """A JobReporter look-alike drawing `[#####.....] 120/3068` on a terminal."""

    def __init__(self, stream: OutputWrapper, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self._last = 0.0
        self._tty = stream.isatty()

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        now = time.monotonic()
        total = total or 0
        if now - self._last < (0.1 if self._tty else 2.0) and done < total:
            return
        self._last = now
        filled = int(self.width * done / total) if total else 0
        bar = "#" * filled + "." * (self.width - filled)
        end = "\r" if self._tty and done < total else "\n"
        self.stream.write(f"[{bar}] {done}/{total}", ending=end)
        self.stream.flush()


class Command(BaseCommand):
    help = "Import images from a folder of label folders or a ZIP file into a project."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="a folder of label folders, or a ZIP of one")
        parser.add_argument("--owner", required=True, help="username of the project owner")
        parser.add_argument("--project", required=True, help="project name (created if missing)")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.exists():
            raise CommandError(f"{path} does not exist.")
        try:
            owner = get_user_model().objects.get(username=options["owner"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {options['owner']!r}.") from None
        name = options["project"].strip()
        if not name:
            raise CommandError("The project needs a name.")
        project = Project.objects.filter(owner=owner, name=name).order_by("pk").first()
        if project is None:
            project = project_create(owner=owner, name=name)
            self.stderr.write(f"Created private project {name!r} (#{project.pk}).")
        bar = ProgressBar(self.stderr)
        try:
            if path.is_dir():
                report = dataset_import_folder(
                    project=project, folder=path, user=owner, reporter=bar
                )
            else:
                report = self._import_zip(project, path, owner, bar)
        except (ArchiveRejected, ValidationError) as exc:
            msg = getattr(exc, "reason", None) or "; ".join(getattr(exc, "messages", [str(exc)]))
            raise CommandError(f"Nothing imported: {msg}") from None
        self._summary(report)

    def _import_zip(
        self, project: Project, path: Path, owner: Any, bar: ProgressBar
    ) -> ImportReport:
        plan = dataset_scan_archive(archive_path=path)
        if plan.loose_files:
            self.stderr.write(f"{plan.loose_files} file(s) outside any label folder are skipped.")
        return dataset_import_archive(
            project=project,
            archive_path=path,
            label_map={},
            loose_label=None,
            user=owner,
            create_labels=list(plan.labels),
            reporter=bar,
        )

    def _summary(self, report: ImportReport) -> None:
        out = self.stdout
        if report.created_labels:
            out.write(f"New labels: {', '.join(report.created_labels)}")
        out.write(f"Accepted: {report.accepted_count}")
        for label, n in sorted(report.accepted.items()):
            out.write(f"  {label}: {n}")
        out.write(f"Duplicates skipped: {report.duplicates_count}")
        out.write(f"Rejected: {report.rejected_count}")
        for r in report.rejected:
            out.write(f"  {r['name']}: {r['reason']}")
        if report.rejected_count > len(report.rejected):
            out.write(f"  … and {report.rejected_count - len(report.rejected)} more")
        out.write(self.style.SUCCESS(f"Done in {report.seconds:.1f} s."))
