"""The dataset export page and its download: a ZIP of label folders with the original files
and attribution.csv; small datasets at once, large ones through a job."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile

import pytest
from django.urls import reverse

from datasets.models import Image
from projects.models import Job
from tests.datasets.imgutil import add_images, image_bytes

pytestmark = pytest.mark.django_db


def _labels(project):
    return {label.name: label for label in project.labels.all()}


def _download(client, project) -> zipfile.ZipFile:
    job = Job.objects.filter(project=project, kind=Job.Kind.EXPORT).latest("id")
    response = client.get(reverse("datasets:export_download", args=[project.pk, job.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "cats-or-dogs-dataset.zip" in response["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_it_exports_label_folders_with_originals_and_attribution(owner_client, project):
    labels = _labels(project)
    cats = add_images(project, labels["cat"], 2)
    add_images(project, labels["dog"], 1, start=10)
    cats[0].creator, cats[0].license = "Ann Smith", "by"
    cats[0].license_url = "https://creativecommons.org/licenses/by/4.0/"
    cats[0].landing_url = "https://example.org/photo/1"
    cats[0].save()
    page = owner_client.get(reverse("datasets:export", args=[project.pk]))
    assert page.status_code == 200 and b"Export 3 images" in page.content

    response = owner_client.post(reverse("datasets:export", args=[project.pk]))
    assert response.status_code == 302
    page = owner_client.get(reverse("datasets:export", args=[project.pk]))
    assert b'id="download-export"' in page.content
    zf = _download(owner_client, project)
    names = sorted(zf.namelist())
    assert names == ["attribution.csv", "cat/img0.jpg", "cat/img1.jpg", "dog/img10.jpg"]
    with cats[0].original.open("rb") as f:  # the stored original (metadata-free) bytes
        assert zf.read("cat/img0.jpg") == f.read()
    rows = list(csv.DictReader(io.StringIO(zf.read("attribution.csv").decode())))
    by_file = {row["file"]: row for row in rows}
    assert set(by_file) == {"cat/img0.jpg", "cat/img1.jpg", "dog/img10.jpg"}
    row = by_file["cat/img0.jpg"]
    assert (row["label"], row["creator"], row["licence"], row["source"]) == (
        "cat", "Ann Smith", "by", "https://example.org/photo/1",
    )  # fmt: skip
    assert row["licence URL"] == "https://creativecommons.org/licenses/by/4.0/"


def test_it_keeps_file_names_unique(owner_client, project):
    labels = _labels(project)
    from datasets.services import image_ingest

    for seed in range(3):
        image_ingest(
            project=project, label=labels["cat"], data=image_bytes(seed),
            source=Image.Source.UPLOAD, added_by=project.owner, original_name="photo.jpg",
        )  # fmt: skip
    owner_client.post(reverse("datasets:export", args=[project.pk]))
    zf = _download(owner_client, project)
    names = [n for n in zf.namelist() if n.startswith("cat/")]
    assert len(names) == len(set(names)) == 3 and "cat/photo.jpg" in names
    assert len({hashlib.sha256(zf.read(n)).hexdigest() for n in names}) == 3


def test_it_runs_large_exports_as_a_job_with_progress(owner_client, project, settings):
    from datasets.jobs import export_dataset

    settings.AIMAKER_INLINE_IMPORT_MAX = 2
    add_images(project, _labels(project)["cat"], 3)
    response = owner_client.post(reverse("datasets:export", args=[project.pk]))
    assert response.status_code == 302
    job = Job.objects.get(project=project, kind=Job.Kind.EXPORT)
    assert job.status == Job.Status.QUEUED and job.total == 3
    page = owner_client.get(reverse("datasets:export", args=[project.pk]))
    assert f'data-job-id="{job.pk}"'.encode() in page.content
    assert b'data-state="building"' in page.content
    # A second click while it runs starts nothing.
    owner_client.post(reverse("datasets:export", args=[project.pk]))
    assert Job.objects.filter(project=project, kind=Job.Kind.EXPORT).count() == 1
    url = reverse("datasets:export_download", args=[project.pk, job.pk])
    assert owner_client.get(url).status_code == 404  # not built yet
    export_dataset(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED and job.done == 3, job.error
    assert len(_download(owner_client, project).namelist()) == 4


def test_it_keeps_only_the_newest_export(owner_client, project):
    add_images(project, _labels(project)["cat"], 1)
    owner_client.post(reverse("datasets:export", args=[project.pk]))
    first = Job.objects.get(project=project, kind=Job.Kind.EXPORT)
    owner_client.post(reverse("datasets:export", args=[project.pk]))
    url = reverse("datasets:export_download", args=[project.pk, first.pk])
    assert owner_client.get(url).status_code == 404
    _download(owner_client, project)


def test_it_refuses_an_empty_dataset(owner_client, project):
    response = owner_client.post(reverse("datasets:export", args=[project.pk]), follow=True)
    assert b"no images to export" in response.content
    assert not Job.objects.filter(kind=Job.Kind.EXPORT).exists()


def test_it_is_404_for_anyone_else(owner_client, other_client, client, project):
    add_images(project, _labels(project)["cat"], 1)
    owner_client.post(reverse("datasets:export", args=[project.pk]))
    job = Job.objects.get(project=project, kind=Job.Kind.EXPORT)
    urls = [
        reverse("datasets:export", args=[project.pk]),
        reverse("datasets:export_download", args=[project.pk, job.pk]),
    ]
    for url in urls:
        assert other_client.get(url).status_code == 404
    assert other_client.post(urls[0]).status_code == 404
    assert Job.objects.filter(kind=Job.Kind.EXPORT).count() == 1
    demo = Job.objects.create(project=project, kind=Job.Kind.DEMO, title="demo")
    url = reverse("datasets:export_download", args=[project.pk, demo.pk])
    assert owner_client.get(url).status_code == 404


def test_it_shows_the_button_to_the_owner_only(owner_client, other_client, public_project):
    from projects.models import Label

    label = Label.objects.create(project=public_project, name="owl")
    add_images(public_project, label, 1)
    mine = owner_client.get(public_project.get_absolute_url())
    assert b'id="export-link"' in mine.content
    theirs = other_client.get(public_project.get_absolute_url())
    assert theirs.status_code == 200 and b'id="export-link"' not in theirs.content


def test_it_deletes_the_zip_with_the_project(
    owner_client, project, django_capture_on_commit_callbacks
):
    from django.core.files.storage import default_storage

    add_images(project, _labels(project)["cat"], 1)
    owner_client.post(reverse("datasets:export", args=[project.pk]))
    name = Job.objects.get(project=project, kind=Job.Kind.EXPORT).result["file"]
    assert default_storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        project.delete()
    assert not default_storage.exists(name)


def test_it_leaves_out_an_image_whose_file_is_gone(owner_client, project):
    from django.core.files.storage import default_storage

    images = add_images(project, _labels(project)["cat"], 2)
    default_storage.delete(images[0].original.name)
    owner_client.post(reverse("datasets:export", args=[project.pk]))
    job = Job.objects.get(project=project, kind=Job.Kind.EXPORT)
    assert job.status == Job.Status.SUCCEEDED and job.result["missing"] == 1
    assert sorted(_download(owner_client, project).namelist()) == [
        "attribution.csv",
        "cat/img1.jpg",
    ]
