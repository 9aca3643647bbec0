import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_edits_name_and_visibility(owner_client, project):
    response = owner_client.post(
        reverse("projects:edit", args=[project.pk]),
        {"name": "Pets", "description": "", "visibility": "public"},
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.name, project.visibility) == ("Pets", "public")


def test_it_is_404_for_another_user(other_client, project):
    url = reverse("projects:edit", args=[project.pk])
    response = other_client.post(url, {"name": "x", "visibility": "public"})
    assert response.status_code == 404
    project.refresh_from_db()
    assert project.name == "Cats or dogs"


def test_it_lets_the_owner_stop_keeping_visitors_images(owner_client, project):
    url = reverse("projects:edit", args=[project.pk])
    form = owner_client.get(url).content.decode()
    assert "Keep the images visitors try" in form and 'name="keep_visitor_images"' in form
    assert project.keep_visitor_images  # kept unless the owner says otherwise

    data = {"name": "Pets", "description": "", "visibility": "public"}
    assert owner_client.post(url, data).status_code == 302  # unticked box: off
    project.refresh_from_db()
    assert not project.keep_visitor_images
    assert owner_client.post(url, {**data, "keep_visitor_images": "on"}).status_code == 302
    project.refresh_from_db()
    assert project.keep_visitor_images
