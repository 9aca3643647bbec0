"""The one place that sends to the channel layer: publish an event to a project's group.

Works from any process (a view, an RQ job): events reach every open project page."""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)


def project_group(project_id: int) -> str:
    return f"project-{project_id}"


def _group_send(project_id: int, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(project_group(project_id), message)
    except Exception:  # noqa: BLE001 - best effort, see notify_project
        log.warning("could not notify project %s", project_id, exc_info=True)


def notify_access_changed(project_id: int) -> None:
    """Who may view the project changed (made private, hidden by a moderator): every open
    socket re-checks its user and closes if they may no longer see it."""
    _group_send(project_id, {"type": "project.access_changed"})


def notify_project(project_id: int, event: dict[str, Any]) -> None:
    """Send `event` (a JSON-able dict with a "type") to everyone watching the project.

    Failing to notify must never fail the work itself: the database row stays the truth,
    and a page that missed an event gets the current state in the next snapshot."""
    _group_send(project_id, {"type": "project.event", "event": event})
