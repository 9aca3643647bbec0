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


def _log_in(page, live_asgi, user, password) -> None:
    page.goto(live_asgi + "/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/projects/$"))


def test_a_collection_without_internet_says_so_and_its_note_goes_away(
    live_asgi, page, owner, password, project, tmp_path
):
    import socket

    with socket.socket() as probe:  # a port nobody listens on: like a server with no internet
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/v1/images/"
    with (
        image_server_running() as server,
        collect_worker_running(
            server, tmp_path / "worker.log", AIMAKER_PROVIDER_BASE_URL_OPENVERSE=closed
        ) as worker,
    ):
        _log_in(page, live_asgi, owner, password)
        page.goto(f"{live_asgi}/projects/{project.pk}/data/collect/")
        page.wait_for_selector("#live-status:has-text('live')")
        page.get_by_role("button", name="Collect images").click()
        page.wait_for_url(re.compile(r"/data/collect/$"))

        status = page.locator(".collect-job .collect-status")
        status.filter(has_text="failed").wait_for(timeout=60_000)
        message = page.locator(".collect-message").inner_text()
        assert message == (
            "Couldn't reach Openverse: this server has no internet connection, or the service "
            "is down. Nothing was lost."
        ), worker.output()[-2000:]
        # The "watch each label fill up below" note went with the job.
        page.wait_for_selector("[data-note]", state="detached")
        assert "fill up" not in page.locator("main").inner_text()
        page.screenshot(path=str(tmp_path / "collect-no-internet.png"), full_page=True)


def test_a_refused_zip_leaves_no_upload_bar_behind(
    live_asgi, page, owner, password, project, tmp_path
):
    fake = tmp_path / "holiday.zip"
    fake.write_bytes(b"this is not a zip at all")
    _log_in(page, live_asgi, owner, password)
    page.goto(f"{live_asgi}/projects/{project.pk}/data/upload/")
    page.set_input_files("#file-input", str(fake))

    status = page.locator("#upload-status")
    status.filter(has_text="Nothing was added.").wait_for()
    assert (
        status.inner_text()
        == "“holiday.zip” can't be imported: not a ZIP archive. Nothing was added."
    )
    assert page.locator("#upload-progress .progress").is_hidden()
    assert "holiday.zip" in page.locator("#rejected-list").inner_text()
    page.screenshot(path=str(tmp_path / "zip-refused.png"), full_page=True)
