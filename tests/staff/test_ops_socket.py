"""/ws/ops/: staff only, a snapshot first, then throttled updates."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from tests.projects.wsutil import session_cookie, socket
from training.models import TrainingRun
from training.services import training_run_notify

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_updates(settings):
    settings.AIMAKER_OPS_UPDATE_SECONDS = 0.2
    settings.AIMAKER_OPS_REFRESH_SECONDS = 60


async def test_it_refuses_anonymous_and_non_staff_users_at_the_handshake(owner_client):
    for session in ("", session_cookie(owner_client)):
        comm = socket("/ws/ops/", session=session)
        connected, _ = await comm.connect()
        assert not connected
        await comm.disconnect()


async def test_it_sends_a_snapshot_then_one_update_for_a_burst_of_events(staff_client, project):
    comm = socket("/ws/ops/", session=session_cookie(staff_client))
    assert (await comm.connect())[0]
    try:
        snapshot = await comm.receive_json_from(timeout=5)
        assert snapshot["type"] == "snapshot"
        assert {"queues", "workers", "runs"} <= set(snapshot) and snapshot["runs"] == []
        assert await comm.receive_nothing(timeout=0.5)  # nothing changed: no update yet

        def start_and_report() -> None:
            run = TrainingRun.objects.create(project=project, number=1, status="running")
            for n in range(20):  # a burst, as a worker's progress
                TrainingRun.objects.filter(pk=run.pk).update(progress={"done": n, "total": 20})
                run.refresh_from_db()
                training_run_notify(run)

        await sync_to_async(start_and_report)()
        update = await comm.receive_json_from(timeout=5)
        assert update["type"] == "update"
        assert [(r["owner"], r["status"]) for r in update["runs"]] == [("alice", "running")]
        await asyncio.sleep(0.5)
        # Twenty events became a few updates (throttled), not twenty.
        later = []
        while not await comm.receive_nothing(timeout=0.3):
            later.append(await comm.receive_json_from(timeout=1))
        assert len(later) <= 3
    finally:
        await comm.disconnect()


async def test_it_closes_when_the_user_is_no_longer_staff(staff_client, staff, project):
    comm = socket("/ws/ops/", session=session_cookie(staff_client))
    assert (await comm.connect())[0]
    try:
        await comm.receive_json_from(timeout=5)

        def demote() -> None:
            staff.is_staff = False
            staff.save()
            run = TrainingRun.objects.create(project=project, number=1, status="queued")
            training_run_notify(run)

        await sync_to_async(demote)()
        closed = await comm.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4403}
    finally:
        await comm.disconnect()
