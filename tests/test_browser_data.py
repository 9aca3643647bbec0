"""A person, in Chromium: uploads a ZIP of two label folders, confirms its labels, watches the
background import, sees the thumbnails, and removes a wrong image."""

import re
import zipfile

import pytest

from datasets.models import Image
from projects.models import Project
from tests.browser import log_in
from tests.datasets.imgutil import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def small_inline_imports(monkeypatch):
    # Read by the daphne and worker processes: 12 images make a background job.
    monkeypatch.setenv("AIMAKER_INLINE_IMPORT_MAX", "5")


def test_it_imports_a_zip_and_cleans_a_label(
    small_inline_imports, live_asgi, rq_worker, page, django_user_model, tmp_path
):
    user = django_user_model.objects.create_user("erin", password="a-long-secret-77")
    project = Project.objects.create(owner=user, name="Pets")
    archive = tmp_path / "pets.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(6):
            zf.writestr(f"pets/cats/c{i}.jpg", image_bytes(i))
            zf.writestr(f"pets/dogs/d{i}.png", image_bytes(50 + i, "PNG"))
        zf.writestr("pets/dogs/readme.txt", "not an image")

    page.goto(live_asgi + "/accounts/login/")
    page.fill("#id_username", "erin")
    page.fill("#id_password", "a-long-secret-77")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/projects/$"))

    page.goto(f"{live_asgi}/projects/{project.pk}/")
    page.get_by_role("link", name="Upload a ZIP of label folders").click()
    page.set_input_files("#file-input", str(archive))
    page.wait_for_url(re.compile(r"/upload/zip/[0-9a-f]{32}/"))
    assert page.locator("#plan-folders .badge:has-text('new label')").count() == 2
    assert "readme.txt" in page.text_content("#plan-skipped")
    page.click("#confirm-import")

    page.wait_for_url(re.compile(r"/upload/#jobs$"))
    page.wait_for_selector("#jobs .job-status:has-text('succeeded')", timeout=60_000)
    page.wait_for_selector(".job-result:has-text('12 image(s) added')")
    assert page.locator("#jobs .progress-bar").first.inner_text() == "13 / 13"

    page.goto(f"{live_asgi}/projects/{project.pk}/")
    counts = page.locator("#data-counts tbody tr").all_inner_texts()
    assert [re.sub(r"\s+", " ", c).strip() for c in counts][:2] == [
        "cats 6 needs 4 more", "dogs 6 needs 4 more",
    ]  # fmt: skip
    page.get_by_role("link", name="dogs").click()
    thumbs = page.locator("#thumbs img")
    assert thumbs.count() == 6
    page.wait_for_function(
        "() => [...document.querySelectorAll('#thumbs img')].every(i => i.naturalWidth > 0)"
    )

    # One "dog" is wrong: select it and delete it (the browser asks first).
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator(".select-image").first.check()
    assert page.inner_text("#selected-count") == "1 selected"
    page.click("#delete-selected")
    page.wait_for_selector(".alert:has-text('Deleted 1 image')")
    assert page.locator("#thumbs img").count() == 5
    assert Image.objects.filter(project=project, label__name="dogs").count() == 5


def test_it_takes_training_photos_with_the_camera(live_asgi, page, project, owner, password):
    """Chromium's fake camera: a single shot, then a held burst, straight into the label."""
    cat = project.labels.get(name="cat")
    log_in(page, live_asgi, owner.username, password)
    page.goto(f"{live_asgi}/projects/{project.pk}/data/?label={cat.pk}")
    page.click("#gallery-camera")
    page.wait_for_function("() => document.getElementById('camera-video').videoWidth > 0")
    page.click("#camera-shot")
    page.wait_for_selector("#accepted-count:has-text('1 added')")
    hold = page.locator("#camera-hold")
    hold.hover()
    page.mouse.down()
    page.wait_for_timeout(1300)  # 4 photos a second while held
    page.mouse.up()
    page.wait_for_function(
        "() => parseInt(document.getElementById('accepted-count').textContent) >= 4",
        timeout=20_000,
    )
    assert "sent" in page.inner_text("#camera-status")
    images = Image.objects.filter(project=project)
    assert images.count() >= 4
    assert set(images.values_list("label__name", "source")) == {("cat", "camera")}


def test_it_reviews_flagged_images_in_the_gallery(live_asgi, page, project, owner, password):
    """Off-topic and quarantined images: the owner sees them apart and keeps or releases."""
    from datasets.services import image_ingest

    cat = project.labels.get(name="cat")
    images = [
        image_ingest(project=project, label=cat, data=image_bytes(seed), source="collected",
                     added_by=owner).image
        for seed in range(3)
    ]  # fmt: skip
    Image.objects.filter(pk=images[0].pk).update(offtopic=True, offtopic_score=6.2)
    Image.objects.filter(pk=images[1].pk).update(quarantined=True, nsfw_score=0.93)
    log_in(page, live_asgi, owner.username, password)
    page.goto(f"{live_asgi}/projects/{project.pk}/")
    page.click("#offtopic-note a")
    page.check(f'.select-image[value="{images[0].pk}"]')
    page.click("#keep-selected")
    page.wait_for_selector(".alert:has-text('Kept 1 image(s)')")
    page.click("#quarantine-link")
    assert page.locator(".thumb.quarantined").count() == 1
    page.once("dialog", lambda dialog: dialog.accept())
    page.check(f'.select-image[value="{images[1].pk}"]')
    page.click("#release-selected")
    page.wait_for_selector(".alert:has-text('Released 1 image(s)')")
    assert not Image.objects.filter(offtopic=True).exists()
    assert not Image.objects.filter(quarantined=True).exists()
