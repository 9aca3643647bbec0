"""ZIP upload: streamed to DATA_DIR/uploads, scanned, then the user sees its plan."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from datasets.uploads import uploads_dir
from tests.datasets import hostile
from tests.datasets.imgutil import data_dir  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]


def _post(client, project, data, name="photos.zip", json=True):
    headers = {"HTTP_ACCEPT": "application/json"} if json else {}
    return client.post(
        reverse("datasets:zip_upload", args=[project.pk]),
        {"archive": SimpleUploadedFile(name, data)},
        **headers,
    )


def test_it_stores_the_archive_and_links_to_its_plan(owner_client, project):
    response = _post(owner_client, project, hostile.good_zip())
    assert response.status_code == 200
    body = response.json()
    assert body["images"] == 4 and "/upload/zip/" in body["plan_url"]
    token = body["plan_url"].split("/upload/zip/")[1].split("/")[0]
    assert (uploads_dir() / f"p{project.pk}-{token}.zip").read_bytes() == hostile.good_zip()
    assert not list(uploads_dir().glob(f"p{project.pk}-*.part"))


def test_it_redirects_to_the_plan_without_javascript(owner_client, project):
    response = _post(owner_client, project, hostile.good_zip(), json=False)
    assert response.status_code == 302 and "/upload/zip/" in response["Location"]
    page = owner_client.get(response["Location"])
    assert page.status_code == 200 and "cats" in page.content.decode()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"this is not a zip at all", "not a ZIP archive"),
        (hostile.overlapping_zip(), "overlapping entries"),
        (hostile.build_zip([hostile.Member("notes.txt", b"hi")]), "contains no images"),
    ],
)
def test_it_refuses_a_bad_archive_with_a_reason(owner_client, project, data, reason):
    response = _post(owner_client, project, data)
    assert response.status_code == 400 and reason in response.json()["error"]
    assert not list(uploads_dir().glob(f"p{project.pk}-*"))


def test_it_refuses_an_archive_over_the_size_limit_while_streaming(owner_client, project, settings):
    settings.AIMAKER_ZIP_MAX_BYTES = 1000
    response = _post(owner_client, project, hostile.good_zip() + bytes(5000))
    assert response.status_code == 400 and "too large" in response.json()["error"]
    assert not list(uploads_dir().glob(f"p{project.pk}-*"))


def test_it_asks_for_a_file(owner_client, project):
    response = owner_client.post(
        reverse("datasets:zip_upload", args=[project.pk]), HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400 and "Choose a ZIP" in response.json()["error"]


def test_it_checks_the_csrf_token(owner, project):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert _post(client, project, hostile.good_zip()).status_code == 403
    assert not list(uploads_dir().glob(f"p{project.pk}-*"))


def test_it_is_404_for_anyone_else(client, other_client, project):
    for c in (client, other_client):
        assert _post(c, project, hostile.good_zip()).status_code == 404
    assert not list(uploads_dir().glob(f"p{project.pk}-*"))


def test_it_keeps_only_the_archive_field_of_a_request(owner_client, project):
    response = owner_client.post(
        reverse("datasets:zip_upload", args=[project.pk]),
        {
            "extra1": SimpleUploadedFile("junk1.bin", b"x" * 50_000),
            "archive": [
                SimpleUploadedFile("photos.zip", hostile.good_zip()),
                SimpleUploadedFile("second.zip", hostile.good_zip()),
            ],
            "extra2": SimpleUploadedFile("junk2.bin", b"y" * 50_000),
        },
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200 and response.json()["images"] == 4
    kept = list(uploads_dir().glob(f"p{project.pk}-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == hostile.good_zip()


def test_it_sweeps_abandoned_uploads_on_a_timer(owner_client, project):
    import os
    import time

    from projects.work import monitor_once

    old, fresh = uploads_dir() / f"p{project.pk}-{'a' * 32}.zip", uploads_dir() / "p1-new.zip"
    dead_part = uploads_dir() / f"p{project.pk}-{'b' * 32}.zip.part"
    for path in (old, fresh, dead_part):
        path.write_bytes(b"PK")
    two_days_ago, two_hours_ago = time.time() - 2 * 86400, time.time() - 7200
    os.utime(old, (two_days_ago, two_days_ago))
    os.utime(dead_part, (two_hours_ago, two_hours_ago))
    monitor_once()
    assert sorted(p.name for p in uploads_dir().iterdir()) == ["p1-new.zip"]
