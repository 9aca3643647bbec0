import pytest
from django.urls import reverse

from projects.models import Label

pytestmark = pytest.mark.django_db


def _add(client, project, text):
    return client.post(reverse("projects:labels_add", args=[project.pk]), {"names": text})


def _names(project):
    return sorted(project.labels.values_list("name", flat=True))


def test_it_adds_many_labels_from_lines_and_commas(owner_client, project):
    response = _add(owner_client, project, "  bird , fish\nhorse\n\n, ")
    assert response.status_code == 302
    assert _names(project) == ["bird", "cat", "dog", "fish", "horse"]


def test_it_rejects_a_duplicate_case_insensitively_and_saves_nothing(owner_client, project):
    response = _add(owner_client, project, "bird, CAT")
    assert response.status_code == 400
    assert "“CAT” already exists in this project." in response.content.decode()
    assert _names(project) == ["cat", "dog"]
    # The typed text is kept in the form so nothing the user typed is lost.
    assert "bird, CAT" in response.content.decode()


def test_it_rejects_a_name_listed_twice(owner_client, project):
    response = _add(owner_client, project, "Bird\nbird")
    assert response.status_code == 400
    assert "listed more than once" in response.content.decode()
    assert _names(project) == ["cat", "dog"]


def test_it_rejects_names_over_64_characters(owner_client, project):
    response = _add(owner_client, project, "x" * 65)
    assert response.status_code == 400
    assert "too long (65 characters, at most 64)" in response.content.decode()
    assert _add(owner_client, project, "y" * 64).status_code == 302


def test_it_rejects_empty_input(owner_client, project):
    response = _add(owner_client, project, " , \n ")
    assert response.status_code == 400
    assert "Type at least one label name." in response.content.decode()


def test_it_caps_a_project_at_100_labels(owner_client, project):
    Label.objects.bulk_create(Label(project=project, name=f"l{i}") for i in range(96))
    response = _add(owner_client, project, "a, b")
    assert response.status_code == 302
    response = _add(owner_client, project, "c")
    assert response.status_code == 400
    assert "at most 100 labels" in response.content.decode()
    assert project.labels.count() == 100


def test_it_is_404_for_another_user(other_client, project):
    assert _add(other_client, project, "bird").status_code == 404
    assert _names(project) == ["cat", "dog"]
