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


@pytest.mark.django_db(transaction=True)  # it runs the worker's code, which closes connections
def test_a_retried_finetune_run_resumes_from_its_last_completed_epoch(
    ready_project, owner, monkeypatch
):
    from training import services

    params = {"mode": "finetune", "epochs": 2, "finetune_epochs": 3, "finetune_layers": 2}
    run = services.training_run_start(
        project=ready_project, user=owner, params=params, enqueue=False
    )
    monkeypatch.setattr(services.RunReporter, "CHECK_EVERY", 0)
    save_epoch, call = services.RunReporter._save_epoch, services.RunReporter.__call__

    def save_then_cancel(self, event):
        # The user cancels (or the worker dies) right after the first fine-tuning epoch.
        save_epoch(self, event)
        if event.get("phase") == "finetuning":
            TrainingRun.objects.filter(pk=self.run.pk).update(cancel_requested=True)

    monkeypatch.setattr(services.RunReporter, "_save_epoch", save_then_cancel)
    first = services.training_run_execute(run_id=run.pk)
    assert first.status == "cancelled"
    done = sorted(first.epochs.filter(stage="finetune").values_list("epoch", flat=True))
    assert done and done[-1] < 3

    monkeypatch.setattr(services.RunReporter, "_save_epoch", save_epoch)
    events: list[dict] = []

    def record(self, event):
        events.append(event)
        call(self, event)

    monkeypatch.setattr(services.RunReporter, "__call__", record)
    retry = services.training_run_execute(
        run_id=services.training_run_retry(run=first, user=owner).pk
    )
    assert retry.status == "succeeded", retry.error
    resumed = [e for e in events if e.get("event") == "resumed"]
    assert resumed and resumed[0]["epoch"] == done[-1]
    trained = [e["epoch"] for e in events if e.get("event") == "epoch"]
    assert trained == list(range(done[-1] + 1, 4))  # only the epochs still missing
    assert not [e for e in events if e.get("phase") == "training"]  # head from the checkpoint
    # The retried run's curve still shows every fine-tuning epoch.
    assert list(retry.epochs.filter(stage="finetune").values_list("epoch", flat=True)) == [1, 2, 3]
