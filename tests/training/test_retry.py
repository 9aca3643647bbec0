"""Retry: a new run with the same parameters and dataset snapshot, linked to the first."""

import pytest
from django.urls import reverse

from tests.training.conftest import make_run
from training.models import TrainingRun
from training.services import training_resume_dir

pytestmark = pytest.mark.django_db


def url(run):
    return reverse("training:retry", kwargs={"pk": run.project_id, "number": run.number})


def test_it_retries_a_failed_run_with_the_same_params_and_snapshot(
    owner_client, project, django_capture_on_commit_callbacks
):
    run = make_run(
        project, status="failed", mode="finetune", params={"mode": "finetune", "epochs": 2},
        snapshot=[[11, 0], [12, 1]], image_count=2,
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url(run))
    new = TrainingRun.objects.get(retry_of=run)
    assert response["Location"] == reverse(
        "training:run", kwargs={"pk": project.pk, "number": new.number}
    )
    assert new.number == 2 and new.status == "queued" and new.rq_job_id
    assert (new.params, new.snapshot, new.labels, new.mode) == (
        run.params, run.snapshot, run.labels, "finetune",
    )  # fmt: skip
    # A retry of a retry resumes from the same fine-tuning checkpoints.
    new.status = "cancelled"
    new.save()
    third = TrainingRun.objects.create(project=project, number=3, retry_of=new)
    assert training_resume_dir(run=third) == training_resume_dir(run=run)
    assert training_resume_dir(run=run).name == f"run-{run.pk}"


def test_it_refuses_to_retry_a_succeeded_run(owner_client, project):
    run = make_run(project, status="succeeded")
    response = owner_client.post(url(run), follow=True)
    assert "Only a failed or cancelled run can be retried" in response.content.decode()
    assert TrainingRun.objects.count() == 1


def test_it_is_404_for_other_users_even_on_a_public_project(other_client, public_project, project):
    for p in (project, public_project):
        run = make_run(p, status="failed")
        assert other_client.post(url(run)).status_code == 404
    assert TrainingRun.objects.count() == 2
