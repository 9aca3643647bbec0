"""REST API: the owner exports the dataset and downloads the ZIP; anyone else gets 404."""

import io
import zipfile

import pytest
from django.test import Client
from django.urls import reverse

from projects.models import Job
from tests.datasets.imgutil import add_images

pytestmark = pytest.mark.django_db


def test_it_exports_and_downloads_the_dataset(owner_api, project):
    url = reverse("api:dataset_exports", args=[project.pk])
    assert owner_api.get(url).status_code == 404  # none yet
    add_images(project, project.labels.get(name="cat"), 2)
    response = owner_api.post(url)
    assert response.status_code == 202, response.content
    data = response.json()
    assert data["status"] == "succeeded" and data["done"] == 2 and data["download"]
    assert owner_api.get(url).json()["id"] == data["id"]
    detail = reverse("api:dataset_export", args=[project.pk, data["id"]])
    assert owner_api.get(detail).json()["download"] == data["download"]
    zipped = owner_api.get(data["download"])
    assert zipped.status_code == 200 and zipped["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(b"".join(zipped.streaming_content))).namelist()
    assert sorted(names) == ["attribution.csv", "cat/img0.jpg", "cat/img1.jpg"]


def test_it_queues_a_large_export_without_a_download_yet(owner_api, project, settings):
    settings.AIMAKER_INLINE_IMPORT_MAX = 1
    add_images(project, project.labels.get(name="cat"), 2)
    data = owner_api.post(reverse("api:dataset_exports", args=[project.pk])).json()
    assert data["status"] == "queued" and data["total"] == 2 and data["download"] is None
    url = reverse("api:dataset_export_download", args=[project.pk, data["id"]])
    assert owner_api.get(url).status_code == 404


def test_it_refuses_an_empty_dataset(owner_api, project):
    response = owner_api.post(reverse("api:dataset_exports", args=[project.pk]))
    assert response.status_code == 400 and "no images" in response.json()["detail"]


def test_it_is_404_for_anyone_else(owner_api, other_api, public_project, project):
    add_images(project, project.labels.get(name="cat"), 1)
    job_id = owner_api.post(reverse("api:dataset_exports", args=[project.pk])).json()["id"]
    for target in (project, public_project):
        assert other_api.get(reverse("api:dataset_exports", args=[target.pk])).status_code == 404
        assert other_api.post(reverse("api:dataset_exports", args=[target.pk])).status_code == 404
    for name in ("dataset_export", "dataset_export_download"):
        assert other_api.get(reverse(f"api:{name}", args=[project.pk, job_id])).status_code == 404
    assert Job.objects.filter(kind=Job.Kind.EXPORT).count() == 1
    anonymous = Client().get(reverse("api:dataset_exports", args=[project.pk]))
    assert anonymous.status_code == 401
