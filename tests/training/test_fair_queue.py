"""Fair sharing of the training workers: caps on active runs, and everyone's first run goes
to the queue before anyone's second."""

import django_rq
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from projects.models import Label, Project
from tests.training.conftest import TINY_PARAMS, fill
from training.models import TrainingRun
from training.services import training_run_cancel, training_run_start, training_runs_dispatch

pytestmark = pytest.mark.django_db(transaction=True)


def queued_ids() -> list[str]:
    return django_rq.get_queue("training").get_job_ids()


def new_project(user, name) -> Project:
    project = Project.objects.create(owner=user, name=name)
    for label in ("cat", "dog"):
        Label.objects.create(project=project, name=label)
    fill(project, 3)
    return project


def finish(run: TrainingRun) -> None:
    """What the worker does at the end of a run: a terminal row, then the next run's turn."""
    django_rq.get_queue("training").remove(run.rq_job_id)
    TrainingRun.objects.filter(pk=run.pk).update(
        status=TrainingRun.Status.SUCCEEDED, finished_at=timezone.now()
    )
    training_runs_dispatch()


def test_it_puts_other_users_first_runs_before_a_second_run(owner, other, ready_project):
    theirs = new_project(other, "Theirs")
    a1 = training_run_start(project=ready_project, user=owner, params=TINY_PARAMS)
    a2 = training_run_start(project=ready_project, user=owner, params=TINY_PARAMS)
    b1 = training_run_start(project=theirs, user=other, params=TINY_PARAMS)
    for run in (a1, a2, b1):
        run.refresh_from_db()
    assert queued_ids() == [a1.rq_job_id, b1.rq_job_id]
    assert a2.status == "queued" and a2.phase == "waiting" and not a2.rq_job_id

    finish(a1)
    a2.refresh_from_db()
    assert queued_ids() == [b1.rq_job_id, a2.rq_job_id]  # behind the other user's first run


def test_it_lets_a_waiting_run_use_an_idle_queue(owner, ready_project):
    first = training_run_start(project=ready_project, user=owner, params=TINY_PARAMS)
    second = training_run_start(project=ready_project, user=owner, params=TINY_PARAMS)
    first.refresh_from_db()
    django_rq.get_queue("training").remove(first.rq_job_id)  # a worker took it
    TrainingRun.objects.filter(pk=first.pk).update(status=TrainingRun.Status.RUNNING)
    training_runs_dispatch()  # the queue is empty: a second worker may as well take it
    second.refresh_from_db()
    assert queued_ids() == [second.rq_job_id] and second.phase == "queued"


def test_it_starts_the_next_run_when_one_is_cancelled(owner, other, ready_project):
    a1 = training_run_start(project=ready_project, user=owner, params=TINY_PARAMS)
    a2 = training_run_start(project=ready_project, user=owner, params=TINY_PARAMS)
    a1.refresh_from_db()
    django_rq.get_queue("training").remove(a1.rq_job_id)  # a worker took it
    TrainingRun.objects.filter(pk=a1.pk).update(status=TrainingRun.Status.RUNNING)
    other_first = training_run_start(
        project=new_project(other, "Theirs"), user=other, params=TINY_PARAMS
    )
    other_first.refresh_from_db()
    assert queued_ids() == [other_first.rq_job_id]  # their first run, not alice's second
    training_run_cancel(run=TrainingRun.objects.get(pk=other_first.pk))
    a2.refresh_from_db()
    assert a2.phase == "queued" and queued_ids() == [a2.rq_job_id]


def test_it_caps_active_runs_per_project_and_per_user(owner, ready_project, settings):
    settings.AIMAKER_MAX_ACTIVE_RUNS_PER_PROJECT = 2
    settings.AIMAKER_MAX_ACTIVE_RUNS_PER_USER = 3
    for _ in range(2):
        training_run_start(project=ready_project, user=owner, params=TINY_PARAMS)
    with pytest.raises(ValidationError, match="already has 2 runs queued or running"):
        training_run_start(project=ready_project, user=owner, params=TINY_PARAMS)
    second = new_project(owner, "Second")
    training_run_start(project=second, user=owner, params=TINY_PARAMS)
    with pytest.raises(ValidationError, match="You already have 3 runs"):
        training_run_start(project=second, user=owner, params=TINY_PARAMS)
    assert TrainingRun.objects.count() == 3


@pytest.mark.parametrize(
    "params, message",
    [({"epochs": 1000}, "epochs must be"), ({"finetune_epochs": 500}, "finetune_epochs must be")],
)
def test_it_refuses_extreme_parameters(owner, ready_project, params, message):
    with pytest.raises(ValidationError, match=message):
        training_run_start(project=ready_project, user=owner, params={**TINY_PARAMS, **params})
