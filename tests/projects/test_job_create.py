import pytest

from projects.services import job_create

pytestmark = pytest.mark.django_db


def test_it_cuts_a_long_title_to_fit(project, owner):
    # A ZIP with a long name once made a 500 on PostgreSQL (title is 200 characters at most).
    job = job_create(
        project=project, user=owner, kind="demo", title="Import " + "x" * 400 + ".zip",
        func="projects.jobs.demo_progress", params={"steps": 1, "delay": 0},
    )  # fmt: skip
    job.refresh_from_db()
    assert len(job.title) == 200 and job.title.startswith("Import xxx") and job.title[-1] == "…"
