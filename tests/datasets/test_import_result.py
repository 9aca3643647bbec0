"""The result page of a background import (linked from the upload page when it finishes)."""

import pytest
from django.urls import reverse

from projects.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(project, owner):
    return Job.objects.create(
        project=project, created_by=owner, kind=Job.Kind.IMPORT, title="Import big.zip",
        status=Job.Status.SUCCEEDED,
        result={"summary": "2 image(s) added (cat 2); 1 rejected.", "accepted": {"cat": 2},
                "rejected": [{"name": "x.jpg", "reason": "not an image"}], "rejected_count": 1,
                "duplicates": [], "duplicates_count": 0, "created_labels": []},
    )  # fmt: skip


def test_it_shows_the_report(owner_client, project, job):
    html = owner_client.get(reverse("datasets:import_result", args=[project.pk, job.pk]))
    text = html.content.decode()
    assert "2 image(s) added (cat 2); 1 rejected." in text and "x.jpg" in text


def test_it_is_404_for_other_jobs_and_anyone_else(owner_client, other_client, project, job):
    demo = Job.objects.create(project=project, kind=Job.Kind.DEMO, title="demo")
    assert (
        owner_client.get(reverse("datasets:import_result", args=[project.pk, demo.pk])).status_code
        == 404
    )
    url = reverse("datasets:import_result", args=[project.pk, job.pk])
    assert other_client.get(url).status_code == 404
