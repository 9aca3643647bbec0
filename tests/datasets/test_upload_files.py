"""Batch upload of loose images (the upload page posts JSON batches of ~20 files)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from datasets.models import Image
from tests.datasets import hostile
from tests.datasets.imgutil import image_bytes

pytestmark = pytest.mark.django_db


def _post(client, project, label, files):
    uploads = [SimpleUploadedFile(name, data) for name, data in files]
    return client.post(
        reverse("datasets:upload_files", args=[project.pk]),
        {"label": label.pk if label else "", "files": uploads},
        HTTP_ACCEPT="application/json",
    )


def test_it_adds_good_images_to_the_chosen_label(owner_client, project):
    dog = project.labels.get(name="dog")
    files = [("a.jpg", image_bytes(1)), ("b.png", image_bytes(2, "PNG"))]
    files.append(("c.webp", image_bytes(3, "WEBP")))
    response = _post(owner_client, project, dog, files)
    assert response.status_code == 200
    data = response.json()
    assert [a["name"] for a in data["accepted"]] == ["a.jpg", "b.png", "c.webp"]
    assert data["duplicates"] == [] and data["rejected"] == []
    assert data["counts"] == {"cat": 0, "dog": 3}
    assert set(Image.objects.values_list("label__name", flat=True)) == {"dog"}
    assert Image.objects.get(original_name="a.jpg").source == "upload"
    thumb = owner_client.get(data["accepted"][0]["thumbnail"])
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"


def test_it_records_camera_frames_as_such(owner_client, project):
    cat = project.labels.get(name="cat")
    uploads = [SimpleUploadedFile("camera-1.jpg", image_bytes(4))]
    url = reverse("datasets:upload_files", args=[project.pk])
    response = owner_client.post(url, {"label": cat.pk, "files": uploads, "source": "camera"})
    assert [a["name"] for a in response.json()["accepted"]] == ["camera-1.jpg"]
    assert Image.objects.get().source == "camera"
    # Anything else a client sends as the source is an ordinary upload.
    uploads = [SimpleUploadedFile("x.jpg", image_bytes(5))]
    owner_client.post(url, {"label": cat.pk, "files": uploads, "source": "collected"})
    assert Image.objects.get(original_name="x.jpg").source == "upload"


def test_it_gives_every_bad_file_a_reason_and_keeps_the_good_ones(owner_client, project, settings):
    settings.AIMAKER_IMAGE_MAX_BYTES = 200_000
    cat = project.labels.get(name="cat")
    files = [
        ("good1.jpg", image_bytes(10)),
        ("corrupt.jpg", hostile.corrupt_jpeg()),
        ("truncated.jpg", hostile.truncated_jpeg()),
        ("notes.jpg", hostile.text_named_jpg()),
        ("page.jpg", hostile.html_as_jpeg()),
        ("polyglot.jpg", hostile.jpeg_html_polyglot()),
        ("zippy.jpg", hostile.jpeg_zip_polyglot()),
        ("bomb.png", hostile.png_bomb()),
        ("huge.jpg", hostile.oversized_file(200_000)),
        ("empty.jpg", hostile.empty_file()),
        ("scan.tiff", hostile.tiff()),
        ("logo.svg", hostile.svg()),
        ("archive.zip", hostile.good_zip()),
        ("good2.png", image_bytes(11, "PNG")),
    ]
    response = _post(owner_client, project, cat, files)
    assert response.status_code == 200
    data = response.json()
    assert [a["name"] for a in data["accepted"]] == ["good1.jpg", "good2.png"]
    reasons = {r["name"]: r["reason"] for r in data["rejected"]}
    assert set(reasons) == {name for name, _ in files} - {"good1.jpg", "good2.png"}
    assert all(reasons.values())
    assert "polyglot" in reasons["polyglot.jpg"] and "polyglot" in reasons["zippy.jpg"]
    assert "too large" in reasons["bomb.png"] and "too large" in reasons["huge.jpg"]
    assert reasons["archive.zip"] == "ZIP archives go through the ZIP import"
    assert Image.objects.count() == 2


def test_it_does_not_store_a_duplicate_twice(owner_client, project):
    cat, dog = project.labels.all()
    data = image_bytes(20)
    _post(owner_client, project, cat, [("one.jpg", data)])
    response = _post(owner_client, project, dog, [("two.jpg", data), ("three.jpg", data)])
    body = response.json()
    assert body["accepted"] == []
    assert [d["reason"] for d in body["duplicates"]] == ["already in this project (as cat)"] * 2
    assert Image.objects.count() == 1


def test_it_answers_json_errors_for_a_bad_request(owner_client, project, public_project):
    cat = project.labels.get(name="cat")
    url = reverse("datasets:upload_files", args=[project.pk])
    assert owner_client.post(url, {"label": cat.pk}).status_code == 400  # no files
    response = _post(owner_client, project, None, [("a.jpg", image_bytes(1))])
    assert response.status_code == 400 and "Pick the label" in response.json()["error"]
    from projects.models import Label

    foreign = Label.objects.create(project=public_project, name="bird")
    assert _post(owner_client, project, foreign, [("a.jpg", image_bytes(1))]).status_code == 400
    assert Image.objects.count() == 0


def test_it_refuses_more_than_django_allows_in_one_request(owner_client, project, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    cat = project.labels.get(name="cat")
    files = [(f"{i}.jpg", image_bytes(i)) for i in range(4)]
    response = _post(owner_client, project, cat, files)
    assert response.status_code == 400
    assert Image.objects.count() == 0


def test_it_is_404_for_anyone_else(client, other_client, project):
    cat = project.labels.get(name="cat")
    for c in (client, other_client):
        assert _post(c, project, cat, [("a.jpg", image_bytes(1))]).status_code == 404
    assert Image.objects.count() == 0


def test_it_answers_a_malformed_label_id_with_a_message(owner_client, project):
    response = owner_client.post(
        reverse("datasets:upload_files", args=[project.pk]),
        {"label": "²", "files": [SimpleUploadedFile("a.jpg", image_bytes(1))]},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Pick the label these images belong to."
    page = owner_client.get(reverse("datasets:upload", args=[project.pk]) + "?label=%C2%B2")
    assert page.status_code == 200
