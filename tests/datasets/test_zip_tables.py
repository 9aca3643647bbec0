"""CSV tables in an imported ZIP: the dataset export round-trips through the ZIP upload with
its attribution, and a CSV of (image URL or file name, label) imports too, bad rows each
rejected with a reason. URLs are served by a local HTTP server (loopback allowed for tests)."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from datasets.models import Image
from projects.models import Job, Label, Project
from tests.datasets.collectutil import image_server_running
from tests.datasets.imgutil import add_images, data_dir, image_bytes, zip_bytes  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]


def _upload(client, project, data, name="dataset.zip") -> str:
    response = client.post(
        reverse("datasets:zip_upload", args=[project.pk]),
        {"archive": SimpleUploadedFile(name, data)},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()["plan_url"]


def _export(client, project) -> bytes:
    assert client.post(reverse("datasets:export", args=[project.pk])).status_code == 302
    job = Job.objects.filter(project=project, kind=Job.Kind.EXPORT).latest("id")
    response = client.get(reverse("datasets:export_download", args=[project.pk, job.pk]))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def _stored_hashes(project) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for image in Image.objects.filter(project=project).select_related("label"):
        with image.original.open("rb") as f:
            out.setdefault(image.label.name, set()).add(hashlib.sha256(f.read()).hexdigest())
    return out


def test_it_round_trips_an_export_with_its_attribution(owner_client, owner, project):
    labels = {label.name: label for label in project.labels.all()}
    cats = add_images(project, labels["cat"], 3)
    add_images(project, labels["dog"], 2, start=10)
    Image.objects.filter(pk=cats[0].pk).update(
        creator="Ann Smith", license="by", license_url="https://creativecommons.org/licenses/by/4.0/",
        landing_url="https://example.org/photo/1", source_url="https://example.org/1.jpg",
        provider="openverse", attribution='"Cat" by Ann Smith is licensed under CC BY 4.0.',
    )  # fmt: skip
    data = _export(owner_client, project)

    copy = Project.objects.create(owner=owner, name="Copy")
    url = _upload(owner_client, copy, data)
    plan = owner_client.get(url).content.decode()
    assert "attribution.csv</code>: not an image" not in plan  # read, not skipped as noise
    assert 'id="plan-tables"' in plan and "<code>attribution.csv</code>" in plan
    response = owner_client.post(url, {"folders": ["cat", "dog"]})
    assert response.status_code == 200
    html = response.content.decode()
    assert "5 image(s) added (cat 3, dog 2)" in html and "rejected" not in html

    assert sorted(copy.labels.values_list("name", flat=True)) == ["cat", "dog"]
    # The very bytes exported were imported: the new rows hash what the old ones stored.
    exported = _stored_hashes(project)
    assert {k: len(v) for k, v in exported.items()} == {"cat": 3, "dog": 2}
    rows = Image.objects.filter(project=copy).values_list("label__name", "sha256")
    imported: dict[str, set[str]] = {}
    for name, sha in rows:
        imported.setdefault(name, set()).add(sha)
    assert imported == exported
    with cats[0].original.open("rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    restored = Image.objects.get(project=copy, sha256=sha)
    assert (restored.creator, restored.license, restored.provider) == (
        "Ann Smith",
        "by",
        "openverse",
    )
    assert restored.license_url == "https://creativecommons.org/licenses/by/4.0/"
    assert restored.landing_url == "https://example.org/photo/1"
    assert restored.source_url == "https://example.org/1.jpg"
    assert restored.attribution.startswith('"Cat" by Ann Smith')
    assert restored.original_name == "cat/img0.jpg"
    plain = Image.objects.filter(project=copy).exclude(pk=restored.pk)
    assert set(plain.values_list("creator", flat=True)) == {""}


def test_it_labels_loose_files_from_a_table_and_rejects_bad_rows(owner_client, owner):
    project = Project.objects.create(owner=owner, name="Pets")
    table = (
        "file,label,creator\na.jpg,cat,Ann\nb.jpg,dog,\nmissing.jpg,cat,\n,cat,\n../x.jpg,cat,\n"
    )
    data = zip_bytes(
        [("a.jpg", image_bytes(1)), ("b.jpg", image_bytes(2)), ("images.csv", table.encode())]
    )
    url = _upload(owner_client, project, data)
    plan = owner_client.get(url).content.decode()
    assert 'value="cat"' in plan and 'value="dog"' in plan
    html = owner_client.post(url, {"folders": ["cat", "dog"]}).content.decode()
    assert "2 image(s) added (cat 1, dog 1); 3 rejected." in html
    assert "images.csv row 4: missing.jpg</code>: no such image file in this ZIP" in html
    assert "images.csv row 5</code>: no file name or image URL" in html
    assert "unsafe path (..)" in html
    a = Image.objects.get(project=project, original_name="a.jpg")
    assert (a.label.name, a.creator) == ("cat", "Ann")


@pytest.fixture
def image_server():
    with image_server_running() as server:
        yield server


def test_it_downloads_url_rows_and_keeps_what_was_saved(
    owner_client, owner, image_server, settings
):
    settings.AIMAKER_FETCH_ALLOW_LOOPBACK = True
    project = Project.objects.create(owner=owner, name="Web")
    Label.objects.create(project=project, name="cat")
    image_server.expect_request("/cat.jpg").respond_with_data(
        image_bytes(5), content_type="image/jpeg"
    )
    image_server.expect_request("/dog.png").respond_with_data(
        image_bytes(6, fmt="PNG"), content_type="image/png"
    )
    image_server.expect_request("/gone.jpg").respond_with_data("no", status=404)
    image_server.expect_request("/page.html").respond_with_data("<p>", content_type="text/html")
    base = image_server.url_for("")
    table = "\n".join(  # no header: (image URL, label)
        [
            f"{base}cat.jpg,cat",
            f"{base}dog.png,Dog",
            f"{base}gone.jpg,cat",
            f"{base}page.html,cat",
            f"{base}nolabel.jpg,",
            "http://10.0.0.1/private.jpg,cat",
        ]
    )
    data = zip_bytes([("list.csv", table.encode())])
    url = _upload(owner_client, project, data)
    html = owner_client.post(url, {"folders": ["cat", "Dog"]}).content.decode()
    assert "2 image(s) added (Dog 1, cat 1); 4 rejected." in html, html
    assert "list.csv row 3" in html and "download refused: HTTP 404" in html
    assert "download refused: not an image (text/html)" in html
    assert "list.csv row 5" in html and "no label for this URL" in html
    assert "list.csv row 6" in html and "download refused:" in html
    cat = Image.objects.get(project=project, label__name="cat")
    assert cat.source_url == f"{base}cat.jpg"
    assert Image.objects.filter(project=project, label__name="Dog").count() == 1


def test_it_refuses_private_addresses_without_the_test_switch(
    owner_client, owner, image_server, settings
):
    settings.AIMAKER_FETCH_ALLOW_LOOPBACK = False
    project = Project.objects.create(owner=owner, name="Web")
    image_server.expect_request("/cat.jpg").respond_with_data(
        image_bytes(5), content_type="image/jpeg"
    )
    data = zip_bytes(
        [("list.csv", f"url,label\n{image_server.url_for('/cat.jpg')},cat\n".encode())]
    )
    html = owner_client.post(_upload(owner_client, project, data), {"folders": ["cat"]})
    assert "0 image(s) added; 1 rejected." in html.content.decode()
    assert not Image.objects.filter(project=project).exists()


def test_it_is_not_fooled_by_a_csv_inside_a_label_folder(owner_client, owner):
    project = Project.objects.create(owner=owner, name="Pets")
    data = zip_bytes([("cat/a.jpg", image_bytes(1)), ("cat/notes.csv", b"a.jpg,dog\n")])
    url = _upload(owner_client, project, data)
    assert "not an image file" in owner_client.get(url).content.decode()
    owner_client.post(url, {"folders": ["cat"]})
    assert Image.objects.get(project=project).label.name == "cat"


def test_it_reads_the_table_of_an_export_zipped_in_its_folder(owner_client, owner):
    project = Project.objects.create(owner=owner, name="Pets")
    table = b"file,label,creator\ncat/a.jpg,cat,Ann\n"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("pets/cat/a.jpg", image_bytes(1))
        zf.writestr("pets/dog/b.jpg", image_bytes(2))
        zf.writestr("pets/attribution.csv", table)
    url = _upload(owner_client, project, out.getvalue())
    owner_client.post(url, {"folders": ["cat", "dog"]})
    assert Image.objects.get(project=project, label__name="cat").creator == "Ann"


def test_it_spots_an_export_reimported_into_its_own_project(owner_client, project):
    add_images(project, project.labels.get(name="cat"), 2)
    data = _export(owner_client, project)
    html = owner_client.post(_upload(owner_client, project, data), {"folders": ["cat"]})
    assert "0 image(s) added; 2 duplicate(s) skipped." in html.content.decode()
    assert Image.objects.filter(project=project).count() == 2


def test_it_imports_a_csv_of_urls_uploaded_on_its_own(owner_client, owner, image_server, settings):
    settings.AIMAKER_FETCH_ALLOW_LOOPBACK = True
    project = Project.objects.create(owner=owner, name="Web")
    image_server.expect_request("/cat.jpg").respond_with_data(
        image_bytes(5), content_type="image/jpeg"
    )
    table = f"image url or file name,label\n{image_server.url_for('/cat.jpg')},cat\nb.jpg,cat\n"
    url = _upload(owner_client, project, table.encode(), name="urls.csv")
    html = owner_client.post(url, {"folders": ["cat"]}).content.decode()
    assert "1 image(s) added (cat 1); 1 rejected." in html
    assert "urls.csv row 3: b.jpg</code>: no such image file in this ZIP" in html
