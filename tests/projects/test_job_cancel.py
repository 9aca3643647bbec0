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


def test_it_fails_a_job_that_could_not_be_queued_instead_of_leaving_it_queued(
    project, owner, monkeypatch, django_capture_on_commit_callbacks
):
    # Redis down at enqueue time: the row must not stay "queued" for ever (it would also
    # block every later collection of the project as "already running").
    from projects.services import job_create

    def unreachable(name):
        raise ConnectionError("Error 111 connecting to redis")

    monkeypatch.setattr("django_rq.get_queue", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        job = job_create(
            project=project, user=owner, kind=Job.Kind.DEMO, title="Demo",
            func="projects.jobs.demo_progress",
        )  # fmt: skip
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.finished_at is not None
    assert "could not be queued" in job.error


def test_it_fails_a_queued_job_the_queue_lost(project, owner):
    from datetime import timedelta

    import django_rq
    from django.utils import timezone
    from rq import Queue

    from projects.services import jobs_fail_stale

    old = timezone.now() - timedelta(minutes=5)
    lost = Job.objects.create(project=project, kind="demo", title="Lost", rq_job_id="gone-1")
    alive = Job.objects.create(project=project, kind="demo", title="Alive")
    # Plain RQ: django-rq would defer an enqueue made inside the test's transaction.
    queue = Queue("default", connection=django_rq.get_connection("default"))
    rq_job = queue.enqueue("projects.jobs.demo_progress", alive.pk)
    Job.objects.filter(pk=alive.pk).update(rq_job_id=rq_job.id)
    young = Job.objects.create(project=project, kind="demo", title="Just queued")
    Job.objects.filter(pk__in=[lost.pk, alive.pk]).update(created_at=old)
    try:
        assert jobs_fail_stale(project=project) == 1
    finally:
        rq_job.delete()
    lost.refresh_from_db()
    assert lost.status == "failed" and "lost from the queue" in lost.error
    assert Job.objects.get(pk=alive.pk).status == "queued"
    assert Job.objects.get(pk=young.pk).status == "queued"
