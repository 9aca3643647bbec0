import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_asks_for_confirmation_stating_the_image_count(owner_client, project):
    cat = project.labels.get(name="cat")
    response = owner_client.get(reverse("projects:label_delete", args=[project.pk, cat.pk]))
    assert response.status_code == 200
    assert "It has no images." in response.content.decode()
    assert project.labels.filter(pk=cat.pk).exists()


def test_it_deletes_on_post(owner_client, project):
    cat = project.labels.get(name="cat")
    response = owner_client.post(reverse("projects:label_delete", args=[project.pk, cat.pk]))
    assert response.status_code == 302
    assert list(project.labels.values_list("name", flat=True)) == ["dog"]


def test_it_is_404_for_another_user(other_client, project):
    cat = project.labels.get(name="cat")
    url = reverse("projects:label_delete", args=[project.pk, cat.pk])
    assert other_client.post(url).status_code == 404
    assert project.labels.filter(pk=cat.pk).exists()
