"""/ws/ops/: the staff operations page, live. Staff only (others are refused at the
handshake); a snapshot first, then a fresh one whenever work changed, at most once a second,
and every few seconds regardless (workers and queues change without events)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import User

from aimaker.staff.services import ops_snapshot
from projects.consumers import ListeningConsumer
from projects.notify import OPS_GROUP


def _still_staff(user_id: int) -> bool:
    return User.objects.filter(pk=user_id, is_staff=True, is_active=True).exists()


def _snapshot_for(user_id: int) -> dict[str, Any] | None:
    return ops_snapshot() if _still_staff(user_id) else None


class OpsConsumer(ListeningConsumer):
    dirty = False
    ticker: asyncio.Task | None = None

    async def connect(self) -> None:
        user = self.scope["user"]
        if not (user.is_authenticated and user.is_staff):
            await self.close()  # refused at the handshake: no data
            return
        self.group = OPS_GROUP
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "snapshot", **await database_sync_to_async(ops_snapshot)()})
        self.ticker = asyncio.create_task(self.tick())

    async def disconnect(self, code: int) -> None:
        if self.ticker is not None:
            self.ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.ticker
        await super().disconnect(code)

    async def ops_event(self, message: dict[str, Any]) -> None:
        self.dirty = True  # coalesced: the ticker sends one update for many events

    async def tick(self) -> None:
        interval = settings.AIMAKER_OPS_UPDATE_SECONDS
        idle_every = max(1, round(settings.AIMAKER_OPS_REFRESH_SECONDS / interval))
        quiet = 0
        while True:
            await asyncio.sleep(interval)
            quiet += 1
            if not self.dirty and quiet < idle_every:
                continue
            self.dirty, quiet = False, 0
            data = await database_sync_to_async(_snapshot_for)(self.scope["user"].pk)
            if data is None:
                await self.close(code=4403)  # no longer staff
                return
            await self.send_json({"type": "update", **data})
