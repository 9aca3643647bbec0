"""Shared bits of the inference management commands: finding the project and the version."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from aimaker.ids import parse_id
from inference import services
from inference.models import ModelVersion
from projects.models import Project


class ProjectCommand(BaseCommand):
    """Base of the inference commands: `--version` means a model version here, not Django's."""

    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> CommandParser:
        kwargs.setdefault("conflict_handler", "resolve")
        return super().create_parser(prog_name, subcommand, **kwargs)


def add_project_arguments(parser: CommandParser, *, version: bool = True) -> None:
    parser.add_argument("--project", required=True, help="project id or exact name")
    parser.add_argument("--owner", help="username of the owner (when names are shared)")
    if version:
        parser.add_argument("--version", help="version number (2 or v2) or 'latest'")


def resolve_project(ref: str, owner: str | None = None) -> Project:
    qs = Project.objects.select_related("owner")
    if owner:
        qs = qs.filter(owner__username=owner)
    if (pk := parse_id(ref)) is not None:
        by_id = qs.filter(pk=pk).first()
        if by_id:
            return by_id
    matches = list(qs.filter(name=ref)) or list(qs.filter(name__iexact=ref))
    if not matches:
        whose = f" owned by {owner}" if owner else ""
        raise CommandError(f"No project {ref!r}{whose}.")
    if len(matches) > 1:
        listing = ", ".join(f"#{p.pk} by {p.owner.username}" for p in matches)
        raise CommandError(
            f"{len(matches)} projects are named {ref!r} ({listing}): "
            "add --owner USERNAME or use the project id."
        )
    return matches[0]


def resolve_version(project: Project, ref: str | None) -> ModelVersion:
    try:
        return services.model_version_get(project=project, ref=ref)
    except services.PredictionError as exc:
        raise CommandError(exc.message) from None
