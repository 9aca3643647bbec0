"""A person, in Chromium: signs up, makes an AI with labels, and watches live progress."""

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_signs_up_creates_a_project_and_sees_live_progress(live_asgi, rq_worker, page):
    page.goto(live_asgi + "/")
    page.get_by_role("link", name="Sign up free").click()
    page.fill("#id_username", "dora")
    page.fill("#id_email", "dora@example.com")
    page.fill("#id_password1", "a-long-secret-77")
    page.fill("#id_password2", "a-long-secret-77")
    page.get_by_role("button", name="Sign up").click()

    page.fill("#id_name", "Fruit sorter")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r"/projects/\d+/$"))

    page.fill("#id_names", "apple, pear\nplum")
    page.get_by_role("button", name="Add labels").click()
    labels = page.locator("#label-list .label-pill")
    assert sorted(labels.evaluate_all("els => els.map(e => e.dataset.label)")) == [
        "apple", "pear", "plum",
    ]  # fmt: skip

    # A rejected input keeps the typed text and says why.
    page.fill("#id_names", "Apple")
    page.get_by_role("button", name="Add labels").click()
    assert "“Apple” already exists in this project." in page.content()
    assert page.input_value("#id_names") == "Apple"

    page.wait_for_selector("#live-status:has-text('live')")
    # The demo job is not offered on the page: start it the way the tests and operators do.
    from projects.models import Project
    from projects.services import job_create

    project = Project.objects.get(name="Fruit sorter")
    job_create(
        project=project, user=project.owner, kind="demo", title="Live progress demo",
        func="projects.jobs.demo_progress", params={"steps": 20, "delay": 0.2}, total=20,
    )  # fmt: skip
    bar = page.locator(".job .progress").first
    seen: set[int] = set()
    for _ in range(200):
        seen.add(int(bar.get_attribute("aria-valuenow") or 0))
        if 100 in seen:
            break
        page.wait_for_timeout(50)
    assert len(seen - {0, 100}) >= 2, f"the bar did not move through values: {sorted(seen)}"
    page.wait_for_selector(".job .job-status:has-text('succeeded')")
