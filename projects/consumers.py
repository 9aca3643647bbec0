"""The project websocket: /ws/projects/<pk>/ relays the project's live events."""

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from projects.access import can_view
from projects.events import visitor_event
from projects.models import Project
from projects.notify import project_group
from projects.snapshot import project_snapshot


def _snapshot_for(project_id: int) -> dict[str, Any]:
    return project_snapshot(Project.objects.get(pk=project_id))


def _is_owner(user: Any, project_id: int) -> bool:
    return Project.objects.filter(pk=project_id, owner_id=user.pk).exists()


class ProjectConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None
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
