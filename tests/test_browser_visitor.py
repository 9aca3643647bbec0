"""In Chromium: a visitor on a public AI sees the model, the try-it box (told whether their
image is kept) and the images, none of the owner's work; the owner reviews near-duplicates."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from datasets.models import Image
from inference import services
from inference.models import Prediction
from projects.models import Job, Project
from tests.datasets.imgutil import add_images
from tests.inference.conftest import (  # noqa: F401 - fixtures shared with tests/inference
    _inference_settings,
    colour_jpeg,
    make_version,  # noqa: F811 - fixture imported above
    model_files,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_visitor_sees_the_model_the_try_it_box_and_the_images_only(
    live_asgi,
    page,
    owner,
    make_version,  # noqa: F811 - fixture imported above
    tmp_path,
):
    ai = Project.objects.create(owner=owner, name="Colours", visibility="public",
                                description="Tells red, green and blue apart.")  # fmt: skip
    version = make_version(ai)
    services.model_version_set_default(version=version, user=owner, note="first")
    add_images(ai, ai.labels.get(name="green"), 4)
    Job.objects.create(project=ai, created_by=owner, kind="import", status="failed",
                       title="Import anna-private.zip", error="Corrupt entry")  # fmt: skip
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(colour_jpeg("green", (320, 240)))

    page.goto(live_asgi + reverse("projects:detail", args=[ai.pk]))
    text = page.inner_text("main")
    assert "Tells red, green and blue apart." in text and "made by alice" in text
    assert page.locator("#data .thumb-grid img").count() == 4
    notice = page.locator("#keep-notice")
    assert notice.inner_text().startswith("Your image is kept.")
    assert notice.bounding_box()["y"] < page.locator("#predict-btn").bounding_box()["y"]
    for owners_only in ("Activity", "anna", "Corrupt", "ready to train", "Browse and clean"):
        assert owners_only.lower() not in text.lower(), owners_only
    page.screenshot(path=str(tmp_path / "visitor-page.png"), full_page=True)

    page.set_input_files("#id_image", str(photo))
    page.click("#predict-btn")
    page.wait_for_selector("#predict-chart[data-ready='1']", timeout=60_000)
    assert page.inner_text("#result-title") == "green"
    assert Prediction.objects.get().image.name  # kept, as the notice said

    Project.objects.filter(pk=ai.pk).update(keep_visitor_images=False)
    page.reload()
    assert page.inner_text("#keep-notice").startswith("Your image is not kept.")
    page.set_input_files("#id_image", str(photo))
    page.click("#predict-btn")
    for _ in range(300):  # the answer comes back to the page; the row is what we check
        if Prediction.objects.count() == 2:
            break
        page.wait_for_timeout(100)
    latest = Prediction.objects.order_by("-id").first()
    assert (latest.label, latest.image.name) == ("green", "")
    page.screenshot(path=str(tmp_path / "visitor-not-kept.png"), full_page=True)


def test_the_owner_reviews_near_duplicates_side_by_side(live_asgi, page, owner, password, project,
                                                       tmp_path):  # fmt: skip
    cat = project.labels.get(name="cat")
    first, later, other_first, other_later = add_images(project, cat, 4)
    Image.objects.filter(pk=later.pk).update(near_duplicate_of=first)
    Image.objects.filter(pk=other_later.pk).update(near_duplicate_of=other_first)
    page.set_viewport_size({"width": 420, "height": 900})  # a phone: narrow tiles
    page.goto(live_asgi + "/accounts/login/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/projects/$"))

    # In the gallery the two badges of a tile never overlap, however narrow it is.
    page.goto(live_asgi + reverse("datasets:gallery", args=[project.pk]))
    tile = page.locator(f'.thumb[data-image-id="{later.pk}"]')
    near, name = (
        tile.locator(".near-dup").bounding_box(),
        tile.locator(".thumb-label").bounding_box(),
    )
    apart = (near["x"] + near["width"] <= name["x"] or near["y"] + near["height"] <= name["y"]
             or name["y"] + name["height"] <= near["y"])  # fmt: skip
    assert apart, (near, name)
    page.screenshot(path=str(tmp_path / "gallery-badges.png"), full_page=True)

    page.click("#near-link")
    page.wait_for_url(re.compile(r"/near-duplicates/$"))
    assert page.locator(".near-pair").count() == 2
    pair = page.locator(f'.near-pair[data-pair="{later.pk}"]')
    left, right = (pair.locator(f'.near-side[data-image-id="{i.pk}"] img').bounding_box()
                   for i in (first, later))  # fmt: skip
    assert abs(left["y"] - right["y"]) < 2 and left["x"] + left["width"] <= right["x"]
    page.screenshot(path=str(tmp_path / "near-duplicates.png"), full_page=True)

    pair.get_by_role("button", name="Keep both").click()
    page.wait_for_selector("text=Kept both images")
    assert page.locator(".near-pair").count() == 1
    other = page.locator(f'.near-pair[data-pair="{other_later.pk}"]')
    other.locator(f'.near-side[data-image-id="{other_first.pk}"]').get_by_role(
        "button", name="Delete this one"
    ).click()
    page.wait_for_selector("#near-none")
    assert page.inner_text("#near-none").startswith("No near-duplicates found.")
    assert set(Image.objects.values_list("pk", flat=True)) == {first.pk, later.pk, other_later.pk}
    assert Client().get(reverse("datasets:near_duplicates", args=[project.pk])).status_code == 404
    page.screenshot(path=str(tmp_path / "near-duplicates-none.png"), full_page=True)
