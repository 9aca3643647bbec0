import json

import pytest
from django.urls import reverse
from django.utils import timezone

from projects.models import Job, Project
from training.models import TrainingRun

pytestmark = pytest.mark.django_db


def snapshot(response) -> dict:
    body = response.content.decode()
    marker = '<script id="ops-snapshot" type="application/json">'
    start = body.index(marker) + len(marker)
    return json.loads(body[start : body.index("</script>", start)])


def test_it_is_404_for_everyone_but_staff(client, owner_client):
    assert client.get(reverse("ops:dashboard")).status_code == 404
    assert owner_client.get(reverse("ops:dashboard")).status_code == 404


def test_it_shows_work_across_all_users(staff_client, project, other):
    theirs = Project.objects.create(owner=other, name="Bob's")
    TrainingRun.objects.create(
        project=theirs, number=1, status="running", phase="training",
        progress={"epoch": 1, "epochs": 2}, worker_name="w1",
    )  # fmt: skip
    Job.objects.create(project=project, kind="import", title="Import a.zip", status="queued")
    TrainingRun.objects.create(project=project, number=1, status="failed", error="Out of memory")
    TrainingRun.objects.filter(status="failed").update(finished_at=timezone.now())
    data = snapshot(staff_client.get(reverse("ops:dashboard")))
    assert {"queues", "workers", "runs", "jobs", "finished", "charts"} <= set(data)
    assert [(r["owner"], r["status"], r["percent"]) for r in data["runs"]] == [
        ("bob", "running", 0.0)
    ]
    assert [(j["owner"], j["title"]) for j in data["jobs"]] == [("alice", "Import a.zip")]
    assert [(f["status"], f["error"]) for f in data["finished"]] == [("failed", "Out of memory")]
    assert sum(data["charts"]["runs_per_hour"]["series"]["failed"]) == 1
    assert data["charts"]["queue"]["series"]["jobs"][-1] == 1  # the import waits now
    assert [q["name"] for q in data["queues"]] == ["default", "collect", "training"]


def test_it_cancels_through_the_owners_service_and_records_who(staff_client, staff, project):
    run = TrainingRun.objects.create(project=project, number=1, status="queued")
    job = Job.objects.create(project=project, kind="import", title="Import", status="running")
    staff_client.post(reverse("ops:run_cancel", args=[run.pk]))
    staff_client.post(reverse("ops:job_cancel", args=[job.pk]))
    run.refresh_from_db()
    job.refresh_from_db()
    assert (run.status, run.cancelled_by) == ("cancelled", staff)
    assert (job.cancel_requested, job.cancelled_by) == (True, staff)  # stops at its next check
    data = snapshot(staff_client.get(reverse("ops:dashboard")))
    assert [(f["status"], f["cancelled_by"]) for f in data["finished"]] == [("cancelled", "mod")]


def test_it_refuses_cancels_from_non_staff(owner_client, project):
    run = TrainingRun.objects.create(project=project, number=1, status="queued")
    assert owner_client.post(reverse("ops:run_cancel", args=[run.pk])).status_code == 404
    run.refresh_from_db()
    assert run.status == "queued"


def test_it_is_linked_from_the_admin(staff_client):
    body = staff_client.get(reverse("admin:index")).content.decode()
    assert reverse("ops:dashboard") in body
