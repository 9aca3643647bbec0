import pytest
from django.urls import reverse

from projects.models import Job

pytestmark = pytest.mark.django_db


def test_it_cancels_a_queued_job(owner_client, project, owner):
    job = Job.objects.create(project=project, created_by=owner, kind="demo", title="Demo")
    response = owner_client.post(reverse("projects:job_cancel", args=[project.pk, job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "cancelled"


def test_it_is_404_for_another_user(other_client, project, owner):
    job = Job.objects.create(project=project, created_by=owner, kind="demo", title="Demo")
    url = reverse("projects:job_cancel", args=[project.pk, job.pk])
    assert other_client.post(url).status_code == 404
    job.refresh_from_db()
    assert job.status == "queued"
