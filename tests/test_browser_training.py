"""A person, in Chromium: logs in, starts training from the project page, watches the curves
draw live and the run succeed, then sees its evaluation."""

import re

import pytest

from tests.training.conftest import fill, tiny_backbone  # noqa: F401 - autouse: tiny backbone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_trains_from_the_page_and_draws_the_curves(
    live_asgi, rq_worker, page, project, owner, password
):
    fill(project, 4)
    page.goto(live_asgi + "/accounts/login/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_asgi}/projects/{project.pk}/")
    page.wait_for_selector("#live-status:has-text('live')")
    page.locator("#train-btn").click()

    page.wait_for_url(re.compile(r"/training/start/$"))
    page.check("#preset-fast")
    page.click("#advanced summary")
    page.fill("#id_epochs", "6")
    page.fill("#id_batch_size", "4")
    page.fill("#id_learning_rate", "0.05")
    page.fill("#id_validation_split", "25")
    page.get_by_role("button", name="Start training").click()
    page.wait_for_url(re.compile(r"/training/runs/1/$"))
    page.wait_for_selector("#live-status:has-text('live')")

    # The curves grow live, epoch by epoch, and the run succeeds (the page then reloads once).
    page.wait_for_function(
        "() => Number(document.querySelector('.tr-charts').dataset.points) >= 1", timeout=90_000
    )
    page.wait_for_selector("#evaluation #val-accuracy", timeout=90_000)
    assert page.locator(".tr-status").first.inner_text() == "succeeded"
    points = int(page.locator(".tr-charts").get_attribute("data-points"))
    assert points >= 1
    legend = page.evaluate(
        "Chart.getChart(document.querySelector('.tr-chart-loss')).data.datasets.map(d => d.label)"
    )
    assert legend == ["train", "validation"]
    assert page.locator("#confusion-matrix td").count() == 4

    # The project card shows the finished run; the history overlays runs.
    page.goto(f"{live_asgi}/projects/{project.pk}/")
    page.wait_for_selector("#training .tr-status:has-text('succeeded')")
    page.get_by_role("link", name=re.compile("History")).click()
    page.wait_for_function("() => Number(document.querySelector('.tr-charts').dataset.points) >= 1")


def test_it_starts_from_presets_with_the_parameters_tucked_away(
    live_asgi, page, project, owner, password, tmp_path
):
    from training.models import TrainingRun

    fill(project, 4)
    page.goto(live_asgi + "/accounts/login/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_asgi}/projects/{project.pk}/training/start/")
    assert page.is_checked("#preset-balanced")
    assert "for 8 images" in page.inner_text("label[for=preset-fast]")
    assert not page.is_visible("#id_epochs")  # "Advanced" starts collapsed
    page.screenshot(path=str(tmp_path / "start-presets.png"), full_page=True)

    page.click("#advanced summary")
    assert page.is_visible("#id_epochs") and page.get_attribute("#id_epochs", "placeholder") == "30"
    assert not page.is_visible("#id_finetune_epochs")  # not for a quick run
    page.check("#preset-best")
    assert page.is_visible("#id_finetune_epochs")
    page.screenshot(path=str(tmp_path / "start-advanced-best.png"), full_page=True)
    page.select_option("#id_mode", "quick")
    assert not page.is_visible("#id_finetune_epochs")
    page.select_option("#id_mode", "")
    page.check("#preset-fast")
    assert not page.is_visible("#id_finetune_epochs")
    assert page.get_attribute("#id_epochs", "placeholder") == "20"

    page.get_by_role("button", name="Start training").click()
    page.wait_for_url(re.compile(r"/training/runs/1/$"))
    run = TrainingRun.objects.get(project=project)
    assert run.mode == "quick" and run.params["augmentation"] is False
    assert run.params["epochs"] == 20
