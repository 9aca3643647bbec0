import pytest
from django.urls import reverse

from projects.models import Project

pytestmark = pytest.mark.django_db


def test_it_confirms_then_deletes(owner_client, project):
    url = reverse("projects:delete", args=[project.pk])
    assert "cannot be undone" in owner_client.get(url).content.decode()
    assert owner_client.post(url).status_code == 302
    assert not Project.objects.exists()


def test_it_is_404_for_another_user(other_client, project):
    assert other_client.post(reverse("projects:delete", args=[project.pk])).status_code == 404
    assert Project.objects.filter(pk=project.pk).exists()
