"""A worker outlives a brief database outage (a PostgreSQL restart or failover cuts every
connection): the run or job it is working on still ends as it would have, not failed with
"server closed the connection unexpectedly" or left running until the stale sweep."""

from __future__ import annotations

import psycopg2
import pytest
from django.db import OperationalError, connection

from aimaker.db import db_retry
from inference.models import ModelVersion
from projects.models import Job
from tests.training.conftest import TINY_PARAMS

pytestmark = pytest.mark.django_db(transaction=True)
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="cuts a PostgreSQL connection from the server side"
)


def _cut_connection() -> None:
    """What a server restart does to this process: its backend is terminated."""
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    db = connection.settings_dict
    admin = psycopg2.connect(
        dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"] or 5432,
        password=db["PASSWORD"],
    )  # fmt: skip
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    admin.close()


def test_it_gives_up_after_the_outage_limit():
    calls = []

    def down():
        calls.append(1)
        raise OperationalError("could not connect to server")

    with pytest.raises(OperationalError):
        db_retry(down, within=1.0)
    assert 2 <= len(calls) <= 5  # it tried again, with growing pauses, then said so


@postgres_only
def test_it_finishes_a_job_whose_connection_was_cut(project, owner):
    from projects.services import job_run

    job = Job.objects.create(project=project, created_by=owner, kind=Job.Kind.IMPORT,
                             title="Import", total=3)  # fmt: skip

    def work(job, reporter):
        reporter.progress(1)
        _cut_connection()
        reporter.progress(2)  # a progress write while the database is away is skipped
        reporter.check_cancelled()
        return {"accepted_count": 3}

    job_run(job_id=job.pk, work=work)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result == {"accepted_count": 3}


@postgres_only
def test_it_finishes_a_training_run_whose_connection_was_cut(ready_project, owner):
    from training import services

    run = services.training_run_start(
        project=ready_project, user=owner, params=TINY_PARAMS, enqueue=False
    )
    cuts = []

    def cut_once_while_training(state):
        if state.get("phase") == "training" and not cuts:
            cuts.append(state)
            _cut_connection()

    run = services.training_run_execute(run_id=run.pk, on_progress=cut_once_while_training)
    assert cuts, "the connection was never cut"
    assert run.status == "succeeded", run.error
    assert run.epochs.filter(stage="head").count() == TINY_PARAMS["epochs"]
    assert ModelVersion.objects.filter(run=run).exists()
