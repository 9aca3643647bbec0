"""The live plumbing end to end: the service enqueues a demo job, a real RQ worker runs it,
and its progress events arrive over the project websocket. The demo is for tests and
operators only: no page offers it to users."""

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse

from projects.models import Job
from tests.projects.wsutil import communicator, receive_until, session_cookie

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def _start_demo(project, user, steps=20, delay=0.2):
    from django.db import transaction

    from projects.services import job_create

    with transaction.atomic():
        return job_create(
            project=project, user=user, kind="demo", title="Live progress demo",
            func="projects.jobs.demo_progress", params={"steps": steps, "delay": delay},
            total=steps,
        )  # fmt: skip


async def test_it_offers_no_demo_button_to_users(owner_client, project):
    response = await sync_to_async(owner_client.get)(project.get_absolute_url())
    body = response.content.decode()
    assert "Test live progress" not in body and "demo-job" not in body


async def test_it_streams_progress_from_a_real_worker(owner_client, owner, project, rq_worker):
    comm = communicator(project.pk, session=session_cookie(owner_client))
    connected, _ = await comm.connect()
    assert connected
    try:
        assert (await comm.receive_json_from(timeout=5))["type"] == "snapshot"
        await sync_to_async(_start_demo)(project, owner)
        events = await receive_until(
            comm,
            lambda e: e.get("type") == "job" and e["job"]["status"] == "succeeded",
            timeout=60,
        )
        done_values = [e["job"]["done"] for e in events if e["job"]["status"] == "running"]
        assert len(done_values) >= 3, events
        assert done_values == sorted(done_values)  # the bar only moves forward
        assert events[-1]["job"]["done"] == events[-1]["job"]["total"] == 20
    finally:
        await comm.disconnect()
    job = await sync_to_async(Job.objects.get)()
    assert job.status == "succeeded" and job.finished_at is not None


async def test_it_cancels_a_running_job(owner_client, project, owner, rq_worker):
    def start():
        return _start_demo(project, owner, steps=200, delay=0.05)

    comm = communicator(project.pk, session=session_cookie(owner_client))
    await comm.connect()
    try:
        await comm.receive_json_from(timeout=5)
        job = await sync_to_async(start)()
        await receive_until(comm, lambda e: e.get("job", {}).get("status") == "running", 60)
        await sync_to_async(owner_client.post)(
            reverse("projects:job_cancel", args=[project.pk, job.pk])
        )
        events = await receive_until(
            comm, lambda e: e.get("job", {}).get("status") == "cancelled", 30
        )
        assert events[-1]["job"]["done"] < 200
    finally:
        await comm.disconnect()
