"""Image files are streamed through an access check: private images are never public."""

import pytest
from django.urls import reverse

from projects.models import Label
from tests.datasets.imgutil import add_images

pytestmark = pytest.mark.django_db


def _url(project, image, kind="thumbnail"):
    return reverse("datasets:image_file", args=[project.pk, image.pk, kind])


def test_it_streams_each_kind_to_the_owner(owner_client, project):
    image = add_images(project, project.labels.get(name="cat"), 1)[0]
    for kind in ("thumbnail", "normalized", "original"):
        response = owner_client.get(_url(project, image, kind))
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"
        assert "private" in response["Cache-Control"]
    assert owner_client.get(_url(project, image, "secret")).status_code == 404


def test_it_is_404_for_anyone_else(other_client, project):
    from django.test import Client

    image = add_images(project, project.labels.get(name="cat"), 1)[0]
    assert other_client.get(_url(project, image)).status_code == 404
    assert Client().get(_url(project, image, "original")).status_code == 404


def test_it_serves_public_projects_to_anyone(client, public_project):
    bird = Label.objects.create(project=public_project, name="bird")
    image = add_images(public_project, bird, 1)[0]
    assert client.get(_url(public_project, image)).status_code == 200
    public_project.hidden = True  # a moderator hid it: no longer public
    public_project.save()
    assert client.get(_url(public_project, image)).status_code == 404


def test_it_is_404_when_the_file_is_missing(owner_client, project):
    from django.core.files.storage import default_storage

    image = add_images(project, project.labels.get(name="cat"), 1)[0]
    default_storage.delete(image.thumbnail.name)
    assert owner_client.get(_url(project, image)).status_code == 404
