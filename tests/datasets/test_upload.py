"""The upload page (GET): label picker, drop zone, import jobs."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_shows_the_upload_page_to_the_owner(owner_client, project):
    response = owner_client.get(reverse("datasets:upload", args=[project.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="upload-label"' in html and ">cat</option>" in html
    assert f'data-live-project="{project.pk}"' in html and 'id="jobs"' in html
    assert reverse("datasets:upload_files", args=[project.pk]) in html


def test_it_preselects_the_label_from_the_query(owner_client, project):
    dog = project.labels.get(name="dog")
    response = owner_client.get(reverse("datasets:upload", args=[project.pk]) + f"?label={dog.pk}")
    assert f'value="{dog.pk}" selected' in response.content.decode()


def test_it_is_404_for_anyone_else(client, other_client, project, public_project):
    for pk in (project.pk, public_project.pk):
        assert other_client.get(reverse("datasets:upload", args=[pk])).status_code == 404
        assert client.get(reverse("datasets:upload", args=[pk])).status_code == 404
