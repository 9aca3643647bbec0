import pytest
from django.urls import reverse

from projects.models import Project

pytestmark = pytest.mark.django_db


def test_it_lists_only_my_projects(owner_client, project, other):
    Project.objects.create(owner=other, name="Bob's secret")
    body = owner_client.get(reverse("projects:list")).content.decode()
    assert "Cats or dogs" in body
    assert "Bob&#x27;s secret" not in body and "Bob's secret" not in body


def test_it_shows_a_moderation_badge(owner_client, project):
    project.hidden = True
    project.save()
    assert "hidden by a moderator" in owner_client.get(reverse("projects:list")).content.decode()
