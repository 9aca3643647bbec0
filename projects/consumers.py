"""The websockets of projects: /ws/projects/<pk>/ relays one project's live events, /ws/me/
the events of all the user's own projects for "My AIs"."""

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from projects.access import can_view
from projects.cards import card_json, project_card, project_cards_for_owner
from projects.events import visitor_event
from projects.models import Project, WorkStatus
from projects.notify import project_group, user_group
from projects.snapshot import project_snapshot

# A run that ended changes what its card shows beyond the run (the default version).
_ENDED = (WorkStatus.SUCCEEDED, WorkStatus.FAILED, WorkStatus.CANCELLED)


def _snapshot_for(project_id: int) -> dict[str, Any]:
    return project_snapshot(Project.objects.get(pk=project_id))


def _is_owner(user: Any, project_id: int) -> bool:
    return Project.objects.filter(pk=project_id, owner_id=user.pk).exists()


def _cards_for(user: Any) -> list[dict[str, Any]]:
    return [card_json(card) for card in project_cards_for_owner(user=user)]


def _card_for(user: Any, project_id: int) -> dict[str, Any] | None:
    card = project_card(project_id=project_id, owner=user)
    return card_json(card) if card else None


class ListeningConsumer(AsyncJsonWebsocketConsumer):
    """A socket that only listens: it refuses big messages and answers pings."""

    group: str | None = None

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        size = len(message.get("text") or "") + len(message.get("bytes") or b"")
        if size > settings.AIMAKER_WS_MAX_MESSAGE_BYTES:
            await self.close(code=1009)  # message too big
            return
        await super().websocket_receive(message)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Clients only listen; a ping lets them check the socket is alive.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})


class ProjectConsumer(ListeningConsumer):
    is_owner = False

    async def connect(self) -> None:
        user = self.scope["user"]
        project_id = int(self.scope["url_route"]["kwargs"]["pk"])
        # Authorise at the handshake: closing before accept() refuses it (HTTP 403).
        if not user.is_authenticated or not await database_sync_to_async(can_view)(
            user, project_id
        ):
            await self.close()
            return
        self.is_owner = await database_sync_to_async(_is_owner)(user, project_id)
        self.group = project_group(project_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_event(await database_sync_to_async(_snapshot_for)(project_id))

    async def send_event(self, event: dict[str, Any]) -> None:
        # One event for everyone; visitors get its reduced form (projects/events.py).
        await self.send_json(event if self.is_owner else visitor_event(event))

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Relayed events touch no database, so skip channels' close_old_connections() before
        # them: it is a hop to the one sync thread per viewer per event, which serialised a
        # 500-viewer fan-out (bench.live). Everything else keeps the default.
        if message["type"] == "project.event":
            await self.project_event(message)
        else:
            await super().dispatch(message)

    async def project_event(self, message: dict[str, Any]) -> None:
        await self.send_event(message["event"])

    async def project_access_changed(self, message: dict[str, Any]) -> None:
        project_id = int(self.scope["url_route"]["kwargs"]["pk"])
        if not await database_sync_to_async(can_view)(self.scope["user"], project_id):
            await self.close(code=4403)  # no longer allowed: stop streaming at once


class MeConsumer(ListeningConsumer):
    """The user's own projects: a snapshot of every card, then each project's events tagged
    with its id, and a fresh card when a run ends."""

    async def connect(self) -> None:
        user = self.scope["user"]
        if not user.is_authenticated:
            await self.close()  # refused at the handshake
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        cards = await database_sync_to_async(_cards_for)(user)
        await self.send_json({"type": "snapshot", "projects": cards})

    async def me_event(self, message: dict[str, Any]) -> None:
        event, project_id = message["event"], message["project_id"]
        await self.send_json({**event, "project_id": project_id})
        if event.get("type") == "training" and (event.get("run") or {}).get("status") in _ENDED:
            card = await database_sync_to_async(_card_for)(self.scope["user"], project_id)
            if card is not None:
                await self.send_json({"type": "card", "card": card})
