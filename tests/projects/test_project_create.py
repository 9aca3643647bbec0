import pytest
from django.urls import reverse

from projects.models import Project

pytestmark = pytest.mark.django_db


def test_it_creates_a_private_project_by_default(owner_client, owner):
    response = owner_client.post(
        reverse("projects:create"),
        {"name": " Fruit sorter ", "description": "apples and pears", "visibility": "private"},
    )
    project = Project.objects.get()
    assert response.status_code == 302
    assert response["Location"] == project.get_absolute_url()
    assert (project.name, project.owner, project.visibility) == ("Fruit sorter", owner, "private")


def test_it_rejects_a_blank_name(owner_client):
    response = owner_client.post(
        reverse("projects:create"), {"name": "  ", "visibility": "private"}
    )
    assert response.status_code == 200
    assert "This field is required." in response.content.decode() or "Give your AI a name" in (
        response.content.decode()
    )
    assert not Project.objects.exists()


def test_it_requires_login(client):
    response = client.get(reverse("projects:create"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_it_caps_the_description_with_a_message(owner_client):
    response = owner_client.post(
        reverse("projects:create"),
        {"name": "Wordy", "description": "w" * 2001, "visibility": "private"},
    )
    assert response.status_code == 200
    assert "at most 2000 characters" in response.content.decode()
    assert not Project.objects.exists()
