"""In Chromium, while a real worker trains: "My AIs" follows the run to its new version
without a reload, and staff watch it on the operations page and cancel it from there."""

import re

import pytest
from django.urls import reverse

from projects.models import Project
from tests.browser import log_in
from tests.training.conftest import fill, tiny_backbone  # noqa: F401 - autouse: tiny backbone
from training.models import TrainingRun
from training.services import training_run_start

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_my_ais_follows_a_run_live_to_its_new_version(
    live_asgi, rq_worker, page, project, owner, password
):
    fill(project, 4)
    Project.objects.create(owner=owner, name="Still empty")
    log_in(page, live_asgi, owner.username, password)
    page.goto(live_asgi + reverse("projects:list"))
    page.wait_for_selector("#live-status:has-text('live')")
    card = page.locator(f'.ai-card[data-project-id="{project.pk}"]')
    assert "not trained yet" in card.inner_text() and "8 images" in card.inner_text()
    page.evaluate("window.sameDocument = true")

    training_run_start(project=project, user=owner, params={"epochs": 60, "batch_size": 2})
    card.locator(".ai-run[data-status='running']").wait_for(timeout=60_000)
    card.locator(".ai-run[data-status='succeeded']").wait_for(timeout=90_000)
    page.wait_for_function(
        f"() => document.querySelector('.ai-card[data-project-id=\"{project.pk}\"] .ai-version')"
        ".textContent.includes('v1')"
    )
    assert "run #1 succeeded" in card.inner_text()
    # A new version waits for its owner to publish it.
    assert re.search(
        r"v1 ready to publish · \d+% accurate", card.locator(".ai-version").inner_text()
    )
    assert page.evaluate("window.sameDocument") is True  # live, not reloaded
    # The other project's card did not change.
    assert "not trained yet" in page.locator(".ai-card", has_text="Still empty").inner_text()


def test_staff_watch_a_run_live_and_cancel_it(
    live_asgi, rq_worker, page, project, owner, staff, password
):
    fill(project, 4)
    log_in(page, live_asgi, staff.username, password)
    page.goto(live_asgi + reverse("ops:dashboard"))
    page.wait_for_selector("#live-status:has-text('live')")
    page.locator("#ops-workers tr[data-worker]").first.wait_for()
    assert "Nothing is running or waiting." in page.locator("#ops-active").inner_text()

    run = training_run_start(project=project, user=owner, params={"epochs": 400, "batch_size": 2})
    row = page.locator(f'#ops-active tr[data-run="{run.pk}"]')
    row.wait_for(timeout=30_000)
    row.locator(".badge:has-text('running')").wait_for(timeout=60_000)
    assert "alice" in row.inner_text()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#ops-workers tr')]"
        ".some(tr => tr.textContent.includes('busy'))"
    )
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Cancel").click()
    page.wait_for_selector(".alert:has-text('Cancelling run #1')")
    finished = page.locator("#ops-finished tr", has_text="run #1")
    finished.wait_for(timeout=60_000)
    assert "cancelled" in finished.inner_text() and "by mod" in finished.inner_text()
    run.refresh_from_db()
    assert (run.status, run.cancelled_by) == (TrainingRun.Status.CANCELLED, staff)
    cancelled = page.evaluate(
        "Chart.getChart(document.getElementById('ops-chart-runs')).data.datasets[2].data"
        ".reduce((a, b) => a + b, 0)"
    )
    assert cancelled == 1
