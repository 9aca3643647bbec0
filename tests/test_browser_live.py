"""The live badge in Chromium: a page that may no longer watch a project stops trying."""

import threading

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_stops_reconnecting_once_the_project_is_hidden(
    live_asgi, page, other, password, public_project
):
    from projects.services import project_set_hidden

    opened: list[str] = []
    # Only the project's socket: "My AIs", where logging in lands, has its own (/ws/me/).
    page.on("websocket", lambda ws: "/ws/projects/" in ws.url and opened.append(ws.url))
    page.goto(live_asgi + reverse("login"))
    page.fill("#id_username", other.username)
    page.fill("#id_password", password)
    page.click("form button:has-text('Log in')")
    page.wait_for_url("**/projects/")
    page.goto(live_asgi + reverse("training:history", args=[public_project.pk]))
    page.wait_for_selector("#live-status:has-text('live')")

    # Playwright's loop runs in this thread; the notifier's async_to_sync needs its own.
    hide = threading.Thread(
        target=project_set_hidden, kwargs={"project": public_project, "hidden": True, "note": "x"}
    )
    hide.start()
    hide.join()
    page.wait_for_selector("#live-status:has-text('no longer available')")
    page.wait_for_timeout(4000)  # a reconnect would come after 0.5-1.5 s
    assert len(opened) == 1, opened
