"""The live plumbing end to end: a view enqueues a job, a real RQ worker runs it, and its
progress events arrive over the project websocket."""

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse

from projects.models import Job
from tests.projects.wsutil import communicator, receive_until, session_cookie

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_it_streams_progress_from_a_real_worker(owner_client, project, rq_worker):
    comm = communicator(project.pk, session=session_cookie(owner_client))
    connected, _ = await comm.connect()
    assert connected
    try:
        assert (await comm.receive_json_from(timeout=5))["type"] == "snapshot"
        response = await sync_to_async(owner_client.post)(
            reverse("projects:demo_job", args=[project.pk])
        )
        assert response.status_code == 302
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
    from projects.services import job_create

    def start():
        from django.db import transaction

        with transaction.atomic():
            return job_create(
                project=project, user=owner, kind="demo", title="Long demo",
                func="projects.jobs.demo_progress", params={"steps": 200, "delay": 0.05},
            )  # fmt: skip

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
