"""The Content-Security-Policy: every page sends it, and the pages work under it in Chromium
(no script, style or connection of ours is refused)."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_sends_a_policy_that_allows_only_our_own_scripts(client):
    policy = client.get(reverse("home"))["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"


@pytest.mark.browser
def test_its_pages_run_under_the_policy(live_asgi, page, owner, password, public_project):
    from inference.services import token_create

    token_create(user=owner, name="seen")
    refused: list[str] = []
    page.on(
        "console",
        lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.goto(live_asgi + reverse("login"))
    page.fill("#id_username", owner.username)
    page.fill("#id_password", password)
    page.click("form button:has-text('Log in')")
    page.wait_for_url("**/projects/")
    for url in (
        reverse("home"),
        reverse("explore"),
        reverse("projects:detail", args=[public_project.pk]),
        reverse("training:start", args=[public_project.pk]),
        reverse("training:history", args=[public_project.pk]),
        reverse("inference:predict", args=[public_project.pk]),
        reverse("tokens:list"),
        reverse("api:docs"),
    ):
        page.goto(live_asgi + url)
        page.wait_for_load_state("networkidle")
    page.goto(live_asgi + reverse("api:docs"))
    page.wait_for_selector(".swagger-ui .info", timeout=20_000)  # its script ran
    page.goto(live_asgi + reverse("projects:detail", args=[public_project.pk]))
    page.wait_for_selector("#live-status:has-text('live')")  # the websocket is allowed
    assert refused == []
