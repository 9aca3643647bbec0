"""/ws/me/: the live "My AIs" socket."""

import pytest
from asgiref.sync import sync_to_async

from inference.models import ModelVersion
from projects.models import Project
from projects.notify import notify_project
from tests.projects.wsutil import session_cookie, socket
from training.models import TrainingRun
from training.services import training_run_notify

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_it_refuses_anonymous_users():
    comm = socket("/ws/me/")
    connected, _ = await comm.connect()
    assert not connected
    await comm.disconnect()


async def test_it_sends_my_cards_first_and_only_my_projects_events(
    owner_client, other_client, project, other
):
    theirs = await sync_to_async(Project.objects.create)(owner=other, name="Bob's")
    mine = socket("/ws/me/", session=session_cookie(owner_client))
    bobs = socket("/ws/me/", session=session_cookie(other_client))
    assert (await mine.connect())[0] and (await bobs.connect())[0]
    try:
        snapshot = await mine.receive_json_from(timeout=5)
        assert snapshot["type"] == "snapshot"
        assert [(c["id"], c["name"]) for c in snapshot["projects"]] == [(project.pk, project.name)]
        assert [c["name"] for c in (await bobs.receive_json_from(timeout=5))["projects"]] == [
            "Bob's"
        ]
        await sync_to_async(notify_project)(project.pk, {"type": "data", "data": {"total": 7}})
        await sync_to_async(notify_project)(theirs.pk, {"type": "data", "data": {"total": 9}})
        assert await mine.receive_json_from(timeout=5) == {
            "type": "data", "data": {"total": 7}, "project_id": project.pk,
        }  # fmt: skip
        assert (await bobs.receive_json_from(timeout=5))["project_id"] == theirs.pk
        assert await mine.receive_nothing(timeout=0.5)  # Bob's event never reached me
        # Pages-only events (curves) are not relayed to My AIs.
        await sync_to_async(notify_project)(project.pk, {"type": "training.epoch", "epochs": []})
        assert await mine.receive_nothing(timeout=0.5)
    finally:
        await mine.disconnect()
        await bobs.disconnect()


async def test_it_sends_a_fresh_card_when_a_run_ends(owner_client, project):
    comm = socket("/ws/me/", session=session_cookie(owner_client))
    assert (await comm.connect())[0]
    try:
        await comm.receive_json_from(timeout=5)

        def succeed() -> None:
            run = TrainingRun.objects.create(
                project=project, number=1, status="succeeded", best_val_accuracy=0.9
            )
            ModelVersion.objects.create(project=project, run=run, number=1, is_default=True)
            training_run_notify(run)

        await sync_to_async(succeed)()
        event = await comm.receive_json_from(timeout=5)
        assert (event["type"], event["run"]["status"]) == ("training", "succeeded")
        card = (await comm.receive_json_from(timeout=5))["card"]
        assert (card["version"]["name"], card["version"]["published"]) == ("v1", True)
        assert card["run"]["text"] == "Succeeded: validation accuracy 90.0%"
    finally:
        await comm.disconnect()
