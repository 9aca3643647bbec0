import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _url(project, label):
    return reverse("projects:label_rename", args=[project.pk, label.pk])


def test_it_renames_a_label(owner_client, project):
    cat = project.labels.get(name="cat")
    response = owner_client.post(_url(project, cat), {"name": "  kitten "})
    assert response.status_code == 302
    cat.refresh_from_db()
    assert cat.name == "kitten"


def test_it_allows_changing_only_the_case(owner_client, project):
    cat = project.labels.get(name="cat")
    assert owner_client.post(_url(project, cat), {"name": "Cat"}).status_code == 302
    cat.refresh_from_db()
    assert cat.name == "Cat"


def test_it_refuses_a_clash_and_keeps_the_old_name(owner_client, project):
    cat = project.labels.get(name="cat")
    response = owner_client.post(_url(project, cat), {"name": "DOG"})
    assert response.status_code == 400
    assert "“DOG” already exists" in response.content.decode()
    cat.refresh_from_db()
    assert cat.name == "cat"


def test_it_refuses_an_empty_or_long_name(owner_client, project):
    cat = project.labels.get(name="cat")
    assert owner_client.post(_url(project, cat), {"name": "   "}).status_code == 400
    response = owner_client.post(_url(project, cat), {"name": "z" * 65})
    assert response.status_code == 400
    cat.refresh_from_db()
    assert cat.name == "cat"


def test_it_is_404_for_another_user(other_client, project):
    cat = project.labels.get(name="cat")
    assert other_client.post(_url(project, cat), {"name": "x"}).status_code == 404
