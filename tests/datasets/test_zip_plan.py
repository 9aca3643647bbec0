"""The ZIP import plan: the user confirms label folders, then small archives import inline and
large ones as a background job on the `collect` queue (run here by a real RQ worker)."""

import pytest
from asgiref.sync import sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from datasets.models import Image
from datasets.uploads import uploads_dir
from projects.models import Job, Label
from tests.datasets import hostile
from tests.datasets.imgutil import data_dir, image_bytes, zip_bytes  # noqa: F401 - fixture
from tests.projects.wsutil import communicator, receive_until, session_cookie


def _upload(client, project, data, name="photos.zip") -> str:
    response = client.post(
        reverse("datasets:zip_upload", args=[project.pk]),
        {"archive": SimpleUploadedFile(name, data)},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()["plan_url"]


@pytest.mark.django_db
@pytest.mark.usefixtures("data_dir")
class TestPlan:
    def test_it_shows_folders_loose_files_and_skipped_entries(self, owner_client, project):
        url = _upload(owner_client, project, hostile.good_zip())
        html = owner_client.get(url).content.decode()
        assert 'value="cats"' in html and 'value="dogs"' in html
        assert "new label" in html  # neither "cats" nor "dogs" exists (the labels are cat/dog)
        assert "1 image not in any folder" in html

    def test_it_marks_existing_labels_and_lists_skipped_entries(self, owner_client, project):
        data = hostile.build_zip(
            [hostile.Member("CAT/a.jpg", hostile.jpeg()), hostile.Member("CAT/notes.txt", b"x")]
        )
        html = owner_client.get(_upload(owner_client, project, data)).content.decode()
        assert "existing label" in html and "new label" not in html
        assert "notes.txt" in html and "not an image file" in html

    def test_it_imports_a_small_archive_inline_creating_the_chosen_labels(
        self, owner_client, project
    ):
        url = _upload(owner_client, project, hostile.good_zip())
        dog = project.labels.get(name="dog")
        response = owner_client.post(url, {"folders": ["cats"], "loose_label": dog.pk})
        assert response.status_code == 200
        html = response.content.decode()
        assert "3 image(s) added (cats 2, dog 1)" in html
        assert sorted(project.labels.values_list("name", flat=True)) == ["cat", "cats", "dog"]
        counts = {n: Image.objects.filter(label__name=n).count() for n in ("cats", "dog", "dogs")}
        assert counts == {"cats": 2, "dog": 1, "dogs": 0}
        assert not Label.objects.filter(name="dogs").exists()  # unticked: not created
        assert set(Image.objects.values_list("source", flat=True)) == {"zip"}
        assert not list(uploads_dir().iterdir())  # the temporary archive is gone
        # A second confirm (reload, double click) finds the upload gone: a message, no error.
        again = owner_client.post(url, {"folders": ["cats"]})
        assert again.status_code == 302 and again["Location"].endswith("/upload/")

    def test_it_imports_the_good_entries_of_a_hostile_archive(self, owner_client, project):
        url = _upload(owner_client, project, hostile.mixed_zip())
        response = owner_client.post(url, {"folders": ["cats", "dogs"]})
        html = response.content.decode()
        # 1.jpg and 2.jpg are the same picture: one is a duplicate.
        assert "3 image(s) added (cats 1, dogs 2)" in html
        assert "1 duplicate(s) skipped" in html
        for name in ("bomb.jpg", "bad_crc.jpg", "zipped.jpg", "truncated.jpg"):
            assert name in html
        assert Image.objects.count() == 3

    def test_it_respects_the_label_limit(self, owner_client, project, settings):
        settings.AIMAKER_PROJECT_MAX_LABELS = 3
        url = _upload(owner_client, project, hostile.good_zip())
        response = owner_client.post(url, {"folders": ["cats", "dogs"]})
        assert response.status_code == 200
        html = response.content.decode()
        assert "A project has at most 3 labels" in html
        assert project.labels.count() == 2 and Image.objects.count() == 0
        assert len(list(uploads_dir().iterdir())) == 1  # kept: the user can untick a folder

    def test_it_needs_something_to_import(self, owner_client, project):
        url = _upload(owner_client, project, hostile.good_zip())
        response = owner_client.post(url, {"loose_label": ""})
        assert "Nothing to import" in response.content.decode()

    def test_it_refuses_unknown_or_malformed_tokens(self, owner_client, project):
        base = reverse("datasets:upload", args=[project.pk])
        for token in ("0" * 32, "..%2F..%2Fetc%2Fpasswd", "x"):
            response = owner_client.get(f"{base}zip/{token}/")
            assert response.status_code in (302, 404)

    def test_it_is_404_for_anyone_else(self, owner_client, other_client, project):
        from django.test import Client

        url = _upload(owner_client, project, hostile.good_zip())
        for c in (Client(), other_client):
            assert c.get(url).status_code == 404
            assert c.post(url, {"folders": ["cats"]}).status_code == 404
        assert Image.objects.count() == 0


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_it_imports_a_large_archive_in_a_real_worker_with_live_progress(
    owner_client, project, rq_worker, settings
):
    settings.AIMAKER_INLINE_IMPORT_MAX = 5
    entries = [
        (f"{label}/{i}.jpg", image_bytes(i + off))
        for label, off in (("cat", 0), ("dog", 100))
        for i in range(12)
    ]
    entries.append(("dog/broken.jpg", b"not really"))
    url = await sync_to_async(_upload)(owner_client, project, zip_bytes(entries), "big.zip")
    comm = communicator(project.pk, session=session_cookie(owner_client))
    connected, _ = await comm.connect()
    assert connected
    try:
        assert (await comm.receive_json_from(timeout=5))["type"] == "snapshot"
        response = await sync_to_async(owner_client.post)(url, {"folders": ["cat", "dog"]})
        assert response.status_code == 302 and "/upload/" in response["Location"]
        events = await receive_until(
            comm, lambda e: e.get("type") == "job" and e["job"]["status"] == "succeeded", 60
        )
    finally:
        await comm.disconnect()
    jobs = [e["job"] for e in events if e.get("type") == "job"]
    assert any(j["status"] == "running" for j in jobs)
    final = jobs[-1]
    assert final["kind"] == "import" and final["done"] == final["total"] == 25
    result = final["result"]
    assert result["accepted"] == {"cat": 12, "dog": 12}
    assert result["rejected"] == [{"name": "dog/broken.jpg", "reason": "not an image"}]
    job = await sync_to_async(Job.objects.get)()
    assert job.status == "succeeded" and job.message.startswith("24 image(s) added")
    token = url.split("/upload/zip/")[1].split("/")[0]
    assert not (uploads_dir() / f"p{project.pk}-{token}.zip").exists()  # deleted afterwards
    assert await sync_to_async(Image.objects.filter(project=project).count)() == 24
    page = await sync_to_async(owner_client.get)(
        reverse("datasets:import_result", args=[project.pk, job.pk])
    )
    assert "dog/broken.jpg" in page.content.decode()


@pytest.mark.django_db
def test_it_says_so_when_the_upload_was_already_imported(project, owner, tmp_path):
    from datasets.jobs import import_archive
    from projects.models import Job

    gone = tmp_path / "already-imported.zip"
    job = Job.objects.create(
        project=project, created_by=owner, kind=Job.Kind.IMPORT, title="Import",
        params={"archive_path": str(gone), "label_map": {}},
    )  # fmt: skip
    import_archive(job.pk)
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error == "This upload was already imported or has expired: upload it again."
