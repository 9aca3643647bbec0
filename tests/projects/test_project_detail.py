import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_shows_labels_and_owner_controls(owner_client, project):
    body = owner_client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert "cat" in body and "dog" in body
    assert "Add labels" in body


def test_it_is_404_for_another_user_on_a_private_project(other_client, client, project):
    url = reverse("projects:detail", args=[project.pk])
    assert other_client.get(url).status_code == 404
    assert client.get(url).status_code == 404


def test_a_public_project_is_readable_but_not_changeable_by_others(client, public_project):
    response = client.get(reverse("projects:detail", args=[public_project.pk]))
    assert response.status_code == 200
    assert "Add labels" not in response.content.decode()


def test_the_owner_sees_the_moderation_notice(owner_client, public_project):
    from django.test import Client

    public_project.hidden = True
    public_project.moderation_note = "Spam."
    public_project.save()
    body = owner_client.get(reverse("projects:detail", args=[public_project.pk])).content.decode()
    assert "A moderator hid this project from the public." in body and "Spam." in body
    assert Client().get(reverse("projects:detail", args=[public_project.pk])).status_code == 404
