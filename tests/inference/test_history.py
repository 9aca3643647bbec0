"""Prediction history, re-running it with another version (a job), and the changes."""

import io
import os

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image as PILImage

from inference import jobs, services
from inference.models import Prediction, Rerun
from projects.models import Job

from .conftest import colour_jpeg

pytestmark = pytest.mark.django_db


def predict(project, colour, user=None):
    return services.prediction_create(project=project, data=colour_jpeg(colour), user=user)


def test_it_lists_predictions_with_their_label(owner_client, owner, published, ai):
    predict(ai, "red", owner)
    predict(ai, "blue")
    response = owner_client.get(reverse("inference:history", args=[ai.pk]))
    assert response.status_code == 200
    assert b"red" in response.content and b"blue" in response.content
    assert b"visitor" in response.content and b"Re-run history" in response.content


def test_it_shows_predictions_only_not_the_projects_other_jobs(owner_client, owner, published,
                                                               ai):  # fmt: skip
    predict(ai, "red", owner)
    for kind, title in ((Job.Kind.IMPORT, "Import 40 images"), (Job.Kind.COLLECT, "Collect cat")):
        Job.objects.create(project=ai, created_by=owner, kind=kind, title=title,
                           status=Job.Status.RUNNING)  # fmt: skip
    body = owner_client.get(reverse("inference:history", args=[ai.pk])).content.decode()
    assert "Import 40 images" not in body and "Collect cat" not in body
    # Nor live: no box the project's job events (imports, collections) would fill.
    assert 'id="jobs"' not in body and "data-live-project" not in body
    assert "<strong>red</strong>" in body and "<td>v1</td>" in body


def test_it_serves_the_stored_images_to_the_owner_only(owner_client, other_client, published, ai):
    p = predict(ai, "red").prediction
    url = reverse("inference:image", args=[ai.pk, p.pk])
    response = owner_client.get(url + "?thumb=1")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert other_client.get(url).status_code == 404


def test_it_makes_the_thumbnail_when_a_page_first_shows_it(owner_client, published, ai):
    p = predict(ai, "red").prediction
    assert p.image.name and not p.thumbnail.name  # nothing but the image on the hot path
    url = reverse("inference:image", args=[ai.pk, p.pk]) + "?thumb=1"
    first = owner_client.get(url)
    assert first.status_code == 200 and first["Content-Type"] == "image/jpeg"
    assert PILImage.open(io.BytesIO(b"".join(first.streaming_content))).size == (160, 160)
    p.refresh_from_db()
    assert p.thumbnail.name and default_storage.exists(p.thumbnail.name)
    owner_client.get(url)  # the second view serves the same file
    folder = os.path.dirname(p.image.name)
    assert Prediction.objects.get(pk=p.pk).thumbnail.name == p.thumbnail.name
    assert len(default_storage.listdir(folder)[1]) == 2  # the image and one thumbnail


def test_it_says_when_a_visitors_image_was_not_kept(owner_client, published, ai):
    ai.keep_visitor_images = False
    ai.save()
    p = predict(ai, "red").prediction
    url = reverse("inference:image", args=[ai.pk, p.pk])
    assert owner_client.get(url + "?thumb=1").status_code == 404
    assert not Prediction.objects.get(pk=p.pk).thumbnail.name


def test_it_is_owner_only_even_on_public_projects(other_client, client, public_published,
                                                  public_ai):  # fmt: skip
    url = reverse("inference:history", args=[public_ai.pk])
    assert other_client.get(url).status_code == 404
    assert client.get(url).status_code == 404
    start = reverse("inference:rerun_start", args=[public_ai.pk])
    assert other_client.post(start, {"version": 1}).status_code == 404


def test_it_reruns_the_history_with_another_version(owner_client, owner, published,
                                                    make_version, ai):  # fmt: skip
    for colour in ("red", "green", "blue"):
        predict(ai, colour, owner)
    make_version(ai, model="b")
    response = owner_client.post(reverse("inference:rerun_start", args=[ai.pk]), {"version": 2})
    rerun = Rerun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("inference:rerun", args=[ai.pk, rerun.pk])
    job = rerun.job
    assert (job.kind, job.status, job.total) == (Job.Kind.RERUN, Job.Status.QUEUED, 3)
    waiting = owner_client.get(response["Location"])
    assert b"rerun-waiting" in waiting.content and b'data-job-id="%d"' % job.pk in waiting.content

    jobs.rerun_predictions(job.pk)  # what the worker runs

    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result == {"rerun_id": rerun.pk, "total": 3, "changed": 3}
    item = rerun.items.get(old_label="red")
    assert item.new_label == "blue" and item.changed
    assert item.delta < -0.5  # v2 gives "red" a low probability
    page = owner_client.get(response["Location"])
    assert b"3</strong> of 3" in page.content and b"\xe2\x86\x92 <strong>blue" in page.content
    assert Prediction.objects.count() == 3  # the history itself is kept as it was


def test_it_reports_no_changes_for_the_same_model(owner_client, published, ai, owner):
    predict(ai, "red")
    rerun = services.rerun_start(project=ai, version=published, user=owner)
    jobs.rerun_predictions(rerun.job_id)
    rerun.refresh_from_db()
    assert (rerun.total, rerun.changed) == (1, 0)
    item = rerun.items.get()
    assert abs(item.delta) < 1e-4


def test_it_refuses_to_rerun_an_empty_history(owner_client, published, ai):
    response = owner_client.post(reverse("inference:rerun_start", args=[ai.pk]), {"version": 1},
                                 follow=True)  # fmt: skip
    assert b"no predictions to re-run" in response.content
    assert not Rerun.objects.exists()


def test_it_hides_reruns_from_others(other_client, published, ai, owner):
    predict(ai, "red")
    rerun = services.rerun_start(project=ai, version=published, user=owner)
    assert other_client.get(reverse("inference:rerun", args=[ai.pk, rerun.pk])).status_code == 404


def test_a_rerun_skips_visitors_predictions_whose_image_was_not_kept(published, ai, owner):
    from django.contrib.auth.models import AnonymousUser

    predict(ai, "red", owner)
    ai.keep_visitor_images = False
    ai.save()
    predict(ai, "green", AnonymousUser())
    assert Prediction.objects.filter(image="").count() == 1
    rerun = services.rerun_start(project=ai, version=published, user=owner)
    jobs.rerun_predictions(rerun.job_id)
    rerun.refresh_from_db()
    assert rerun.job.status == Job.Status.SUCCEEDED, rerun.job.error
    assert (rerun.total, rerun.changed) == (1, 0)
    assert [item.old_label for item in rerun.items.all()] == ["red"]
