"""A person, in Chromium: adds a tag, collects 50 images for it from the (local) web and watches
that label's bar fill up live."""

import re
import time

import pytest
from werkzeug import Response

from datasets.models import Image
from tests.datasets.collectutil import collect_worker_running, image_server_running, serve_openverse
from tests.datasets.imgutil import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _slow_image(request):
    time.sleep(0.1)  # a real network is slower than this; enough to see the bar move
    index = int(request.path.rsplit("/", 1)[1].removesuffix(".jpg"))
    return Response(image_bytes(2000 + index), content_type="image/jpeg")


def test_it_collects_50_images_for_a_new_tag_and_shows_progress_live(
    live_asgi, page, owner, password, project, tmp_path
):
    with image_server_running() as server:
        serve_openverse(server, "red fox", 60, handlers=dict.fromkeys(range(60), _slow_image))
        with collect_worker_running(
            server, tmp_path / "worker.log", AIMAKER_COLLECT_CONCURRENCY="2"
        ) as worker:
            page.goto(live_asgi + "/accounts/login/")
            page.fill("#id_username", owner.username)
            page.fill("#id_password", password)
            page.get_by_role("button", name="Log in").click()
            page.goto(f"{live_asgi}/projects/{project.pk}/")
            page.fill("#id_names", "red fox")
            page.get_by_role("button", name="Add labels").click()
            fox = project.labels.get(name="red fox")

            page.get_by_role("link", name="Collect images from the web").click()
            page.wait_for_url(re.compile(r"/data/collect/$"))
            for name in ("cat", "dog"):  # all labels are ticked by default
                page.get_by_label(name, exact=True).uncheck()
            assert page.input_value("#id_per_label") == "50"
            assert page.input_value("#id_provider") == "openverse"
            page.wait_for_selector("#live-status:has-text('live')")
            # The project page, open in another tab, shows the same bars live.
            project_page = page.context.new_page()
            project_page.goto(f"{live_asgi}/projects/{project.pk}/")
            project_page.wait_for_selector("#live-status:has-text('live')")
            page.get_by_role("button", name="Collect images").click()
            page.wait_for_url(re.compile(r"/data/collect/$"))

            bar = page.locator(f'.collect-label[data-label-id="{fox.pk}"] .progress')
            seen: set[int] = set()
            deadline = time.monotonic() + 90
            while 50 not in seen and time.monotonic() < deadline:
                seen.add(int(bar.get_attribute("aria-valuenow") or 0))
                page.wait_for_timeout(50)
            assert 50 in seen, (sorted(seen), worker.output()[-3000:])
            assert len(seen - {0, 50}) >= 2, f"the bar did not move live: {sorted(seen)}"
            assert bar.locator(".progress-bar").inner_text() == "50 / 50"
            page.wait_for_selector(".collect-job .collect-status:has-text('succeeded')")
            assert "Collected 50 image(s)" in page.locator(".collect-message").inner_text()
            on_project = project_page.locator(f'.collect-label[data-label-id="{fox.pk}"] .progress')
            assert on_project.get_attribute("aria-valuenow") == "50"
            project_page.screenshot(path=str(tmp_path / "project-page.png"))

    assert Image.objects.filter(label=fox, source=Image.Source.COLLECTED).count() == 50
    assert not Image.objects.exclude(label=fox).exists()
