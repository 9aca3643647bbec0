"""A person, in Chromium: exports a project's dataset (a background job, as it has more images
than an inline export takes), watches it finish and downloads the ZIP."""

import re
import zipfile

import pytest

from projects.models import Label, Project
from tests.datasets.imgutil import add_images

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def small_inline_exports(monkeypatch):
    # Read by the daphne and worker processes: 6 images make a background job.
    monkeypatch.setenv("AIMAKER_INLINE_IMPORT_MAX", "5")


def test_it_exports_and_downloads_the_dataset(
    small_inline_exports, live_asgi, rq_worker, page, django_user_model, tmp_path
):
    user = django_user_model.objects.create_user("erin", password="a-long-secret-77")
    project = Project.objects.create(owner=user, name="Pets")
    add_images(project, Label.objects.create(project=project, name="cats"), 3)
    add_images(project, Label.objects.create(project=project, name="dogs"), 3, start=20)

    page.goto(live_asgi + "/accounts/login/")
    page.fill("#id_username", "erin")
    page.fill("#id_password", "a-long-secret-77")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/projects/$"))

    page.goto(f"{live_asgi}/projects/{project.pk}/")
    page.click("#export-link")
    page.wait_for_url(re.compile(r"/data/export/$"))
    page.get_by_role("button", name="Export 6 images").click()
    # The job runs on the worker; its end reloads the page with the download link.
    page.wait_for_selector("#download-export", timeout=60_000)
    assert "6 images in 2 label folders, built" in page.inner_text("#export-ready")
    with page.expect_download() as info:
        page.click("#download-export")
    download = info.value
    assert download.suggested_filename == "pets-dataset.zip"
    path = tmp_path / "pets-dataset.zip"
    download.save_as(path)
    with zipfile.ZipFile(path) as zf:
        names = sorted(zf.namelist())
    assert names[0] == "attribution.csv" and len(names) == 7
    assert {n.split("/")[0] for n in names[1:]} == {"cats", "dogs"}
