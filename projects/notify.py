"""The one place that sends to the channel layer: publish an event to a project's group.

Works from any process (a view, an RQ job): events reach every open project page, the
owner's "My AIs" page (their user group) and, for work, the staff operations page."""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from projects.models import Project

log = logging.getLogger(__name__)

OPS_GROUP = "ops"
# What "My AIs" shows of a project (counts, the latest run) and the operations page (work).
OWNER_EVENTS = frozenset({"job", "training", "data"})
OPS_EVENTS = frozenset({"job", "training"})


def project_group(project_id: int) -> str:
    return f"project-{project_id}"


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # noqa: BLE001 - best effort, see notify_project
        log.warning("could not notify %s", group, exc_info=True)


def _owner_id(project_id: int) -> int | None:
    try:
        return Project.objects.filter(pk=project_id).values_list("owner_id", flat=True).first()
    except Exception:  # noqa: BLE001 - a database hiccup must not fail the work
        log.warning("could not find the owner of project %s", project_id, exc_info=True)
        return None


def notify_access_changed(project_id: int) -> None:
    """Who may view the project changed (made private, hidden by a moderator): every open
    socket re-checks its user and closes if they may no longer see it."""
    _send(project_group(project_id), {"type": "project.access_changed"})


def notify_project(project_id: int, event: dict[str, Any]) -> None:
    """Send `event` (a JSON-able dict with a "type") to everyone watching the project.

    Failing to notify must never fail the work itself: the database row stays the truth,
    and a page that missed an event gets the current state in the next snapshot."""
    _send(project_group(project_id), {"type": "project.event", "event": event})
    kind = event.get("type")
    if kind in OWNER_EVENTS and (owner_id := _owner_id(project_id)) is not None:
        # The owner's own group: a user only ever hears about their own projects.
        _send(user_group(owner_id), {"type": "me.event", "project_id": project_id, "event": event})
    if kind in OPS_EVENTS:
        _send(OPS_GROUP, {"type": "ops.event", "project_id": project_id})
