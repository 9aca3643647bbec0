"""Cancel: a queued run stops at once and leaves the queue; a running one is asked to stop."""

import django_rq
import pytest
from django.urls import reverse

from tests.training.conftest import make_run
from training.models import TrainingRun
from training.services import training_run_start

pytestmark = pytest.mark.django_db


def url(run):
    return reverse("training:cancel", kwargs={"pk": run.project_id, "number": run.number})


def test_it_cancels_a_queued_run_at_once_and_removes_it_from_the_queue(
    owner_client, owner, ready_project, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = training_run_start(project=ready_project, user=owner, params={})
    queue = django_rq.get_queue("training")
    assert run.rq_job_id in queue.job_ids
    response = owner_client.post(url(run))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == "cancelled" and run.finished_at is not None
    assert run.rq_job_id not in queue.job_ids


def test_it_asks_a_running_run_to_stop(owner_client, project):
    run = make_run(project, status="running")
    owner_client.post(url(run))
    run.refresh_from_db()
    assert run.status == "running" and run.cancel_requested


def test_it_is_404_for_other_users_even_on_a_public_project(other_client, public_project, project):
    for p in (project, public_project):
        run = make_run(p, status=TrainingRun.Status.RUNNING)
        assert other_client.post(url(run)).status_code == 404
        run.refresh_from_db()
        assert not run.cancel_requested


def test_it_only_accepts_post(owner_client, project):
    run = make_run(project, status="running")
    assert owner_client.get(url(run)).status_code == 405
