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
