"""The "My AIs" cards: one summary per project, built in a bounded number of queries.

Other apps add their part (images, the latest run, the default version, predictions) with
`register` from their AppConfig.ready(). A contributor gets every project at once and answers
{project id: fields} in a fixed number of queries, so the page costs the same for 5 projects
as for 500. A field named "active_at" (a datetime) counts towards the card's activity."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count

from projects.models import Project

CardContributor = Callable[[list[Project]], dict[int, dict[str, Any]]]
_contributors: list[CardContributor] = []


def register(contributor: CardContributor) -> CardContributor:
    if contributor not in _contributors:
        _contributors.append(contributor)
    return contributor


def _card(project: Project) -> dict[str, Any]:
    return {
        "id": project.pk,
        "name": project.name,
        "url": project.get_absolute_url(),
        "visibility": project.visibility,
        "hidden": project.hidden,
        "labels": project.label_count,
        "active_at": project.updated_at,
    }


def project_cards(*, projects: Iterable[Project]) -> list[dict[str, Any]]:
    """The cards of `projects`, most recently active first."""
    rows = list(projects)
    cards = {project.pk: _card(project) for project in rows}
    for contributor in _contributors:
        for project_id, fields in contributor(rows).items():
            card = cards[project_id]
            active_at = fields.pop("active_at", None)
            card.update(fields)
            if active_at is not None and active_at > card["active_at"]:
                card["active_at"] = active_at
    return sorted(cards.values(), key=lambda c: c["active_at"], reverse=True)


def project_cards_for_owner(*, user: User, query: str = "") -> list[dict[str, Any]]:
    projects = user.projects.annotate(label_count=Count("labels")).defer(
        "description", "moderation_note"
    )
    if query:
        projects = projects.filter(name__icontains=query)
    return project_cards(projects=projects)


def project_card(*, project_id: int, owner: User) -> dict[str, Any] | None:
    """One of the owner's cards, for a live update after its state changed (a run ended)."""
    projects = Project.objects.filter(pk=project_id, owner=owner).annotate(
        label_count=Count("labels")
    )
    cards = project_cards(projects=projects)
    return cards[0] if cards else None


def card_json(card: dict[str, Any]) -> dict[str, Any]:
    """A card as the websocket sends it (datetimes as ISO text)."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in card.items()}


def sparkline_points(values: list[int], *, width: int = 84, height: int = 24) -> str:
    """SVG polyline points for a small chart of `values` (a line along the bottom when all
    are zero), drawn inside a 1 px margin."""
    if not values:
        return ""
    top = max(values) or 1
    step = (width - 2) / max(1, len(values) - 1)
    return " ".join(
        f"{1 + i * step:.1f},{height - 1 - (height - 2) * v / top:.1f}"
        for i, v in enumerate(values)
    )
