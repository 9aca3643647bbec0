"""One click on “Check these labels”: move a flagged image to the suggested label, or remove it.
Owner only (POST, CSRF); the image then leaves the list."""

import pytest
from django.test import Client
from django.urls import reverse

from datasets.models import Image
from tests.training.test_doubts import doubt_run
from tests.training.test_doubts import url as doubts_url

pytestmark = pytest.mark.django_db


def url(run, image):
    return reverse("training:doubt_resolve", args=[run.project_id, run.number, image.pk])


def test_it_moves_an_image_to_the_suggested_label(owner_client, ready_project):
    run, images = doubt_run(ready_project)
    response = owner_client.post(url(run, images[6]), {"action": "move"}, follow=True)
    assert response.redirect_chain[-1][0] == doubts_url(run)
    images[6].refresh_from_db()
    assert images[6].label.name == "cat"
    body = response.content.decode()
    assert f"Moved “{images[6].original_name}” to “cat”." in body
    assert f"image {images[6].pk}" not in body and f"image {images[1].pk}" in body


def test_it_removes_an_image(owner_client, ready_project):
    run, images = doubt_run(ready_project)
    response = owner_client.post(url(run, images[1]), {"action": "remove"}, follow=True)
    assert not Image.objects.filter(pk=images[1].pk).exists()
    assert "Removed" in response.content.decode()
    assert Image.objects.filter(project=ready_project).count() == len(images) - 1


def test_it_refuses_images_not_on_the_list_and_unknown_actions(owner_client, ready_project):
    run, images = doubt_run(ready_project)
    before = list(Image.objects.order_by("pk").values_list("pk", "label_id"))
    response = owner_client.post(url(run, images[0]), {"action": "remove"}, follow=True)
    assert "not on this list" in response.content.decode()
    response = owner_client.post(url(run, images[6]), {"action": "explode"}, follow=True)
    assert response.status_code == 200 and "Choose" in response.content.decode()
    owner_client.post(url(run, images[6]), {"action": "move"})
    response = owner_client.post(url(run, images[6]), {"action": "move"}, follow=True)
    assert "not on this list" in response.content.decode()  # a second click changes nothing
    assert list(Image.objects.order_by("pk").values_list("pk", "label_id")) != before


def test_it_needs_the_suggested_label_to_still_exist(owner_client, ready_project):
    run, images = doubt_run(ready_project)
    ready_project.labels.get(name="dog").delete()  # takes the dog images with it
    response = owner_client.post(url(run, images[1]), {"action": "move"}, follow=True)
    assert "no longer exists" in response.content.decode()
    assert Image.objects.get(pk=images[1].pk).label.name == "cat"


def test_it_needs_a_csrf_token(owner, ready_project):
    run, images = doubt_run(ready_project)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(url(run, images[6]), {"action": "move"}).status_code == 403
    assert Image.objects.get(pk=images[6].pk).label.name == "dog"


def test_it_is_404_for_other_users_even_on_a_public_project(other_client, ready_project):
    run, images = doubt_run(ready_project)
    assert other_client.post(url(run, images[6]), {"action": "remove"}).status_code == 404
    ready_project.visibility = ready_project.Visibility.PUBLIC
    ready_project.save()
    assert other_client.post(url(run, images[6]), {"action": "remove"}).status_code == 404
    assert other_client.get(url(run, images[6])).status_code == 405
    assert Image.objects.filter(pk=images[6].pk).exists()
