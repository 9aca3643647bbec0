"""A person, in Chromium, checks the labels a run doubted: moves a flagged image to the
suggested label with one click, sees it leave the list, removes the last one, and is told that
nothing looks mislabelled any more."""

import os
from pathlib import Path

import pytest

from datasets.models import Image
from tests.training.conftest import fill, tiny_backbone  # noqa: F401 - autouse: tiny backbone
from tests.training.test_doubts import doubt_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, tmp_path, name: str) -> None:
    folder = Path(os.environ.get("AIMAKER_SCREENSHOT_DIR") or tmp_path)
    page.screenshot(path=str(folder / name), full_page=True)


def test_it_moves_a_flagged_image_to_the_suggested_label(
    live_asgi, page, project, owner, password, tmp_path
):
    fill(project, 4)
    run, images = doubt_run(project)
    page.goto(live_asgi + "/accounts/login/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_asgi}/projects/{project.pk}/training/runs/{run.number}/doubts/")

    items = page.locator(".doubt-item")
    assert items.count() == 2
    dog_that_is_a_cat = page.locator(f'.doubt-item[data-image="{images[6].pk}"]')
    assert "looks like cat" in dog_that_is_a_cat.inner_text()
    shot(page, tmp_path, "doubts-flagged.png")

    dog_that_is_a_cat.get_by_role("button", name="Move to cat").click()
    page.wait_for_selector(".alert-success:has-text('to “cat”')")
    assert page.locator(".doubt-item").count() == 1
    assert page.locator(f'.doubt-item[data-image="{images[6].pk}"]').count() == 0
    assert Image.objects.get(pk=images[6].pk).label.name == "cat"

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove").click()
    page.wait_for_selector("#doubts-empty:has-text('Nothing looks mislabelled')")
    assert page.locator(".doubt-item").count() == 0
    assert not Image.objects.filter(pk=images[1].pk).exists()
    shot(page, tmp_path, "doubts-nothing.png")
