"""In Chromium against the real server: publish a version with a note, predict an uploaded
photo and see the chart, create an API token."""

import pytest
from django.urls import reverse

from inference.models import DefaultSwitch, PersonalToken, Prediction
from projects.models import Job
from tests.browser import log_in
from tests.inference.conftest import (  # noqa: F401 - fixtures shared with tests/inference
    _inference_settings,
    ai,
    colour_jpeg,
    make_version,
    model_files,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_publishes_predicts_and_creates_a_token(
    live_asgi,
    page,
    owner,
    password,
    ai,  # noqa: F811 - fixture imported above
    make_version,  # noqa: F811
    tmp_path,
):
    make_version(ai)
    page.goto(live_asgi + reverse("login"))
    page.fill("#id_username", owner.username)
    page.fill("#id_password", password)
    page.click("form button:has-text('Log in')")
    page.wait_for_url("**/projects/")

    page.goto(live_asgi + reverse("projects:detail", args=[ai.pk]))
    page.click("#use-publish")
    page.fill("#id_note", "first model, good enough")
    page.click("#set-default-btn")
    page.wait_for_selector("#switch-history")
    assert "first model, good enough" in page.inner_text("#switch-history")
    switch = DefaultSwitch.objects.get(project=ai)
    assert (switch.to_number, switch.user) == (1, owner)

    photo = tmp_path / "photo.jpg"
    photo.write_bytes(colour_jpeg("green", (320, 240)))
    page.goto(live_asgi + reverse("inference:predict", args=[ai.pk]))
    page.set_input_files("#id_image", str(photo))
    page.click("#predict-btn")
    page.wait_for_selector("#predict-chart[data-ready='1']")
    assert page.inner_text("#result-title") == "green"
    assert page.evaluate("window.Chart.getChart('predict-chart').data.labels[0]") == "green"
    page.click("#toggle-all")
    assert page.locator("#all-labels tbody tr").count() == 3
    assert Prediction.objects.get(project=ai).label == "green"

    page.goto(live_asgi + reverse("projects:list"))
    page.click("nav .dropdown-toggle")
    page.click("text=API tokens")
    page.fill("#id_name", "scanner")
    page.click("#token-form button")
    secret = page.input_value("#token-secret")
    assert secret.startswith("aim_")
    assert PersonalToken.objects.get(user=owner).prefix == secret[:12]
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_asgi)
    page.click("#copy-token")
    page.wait_for_selector("#copy-token:has-text('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == secret


def test_its_export_page_ends_downloaded_with_a_download_again_link(
    live_asgi,
    page,
    owner,
    password,
    ai,  # noqa: F811 - fixture imported above
    make_version,  # noqa: F811
    tmp_path,
):
    from inference import jobs

    version = make_version(ai)
    page.goto(live_asgi + reverse("login"))
    page.fill("#id_username", owner.username)
    page.fill("#id_password", password)
    page.click("form button:has-text('Log in')")
    page.wait_for_url("**/projects/")

    # No worker runs here: the build waits in the queue until the test does the worker's part.
    url = live_asgi + reverse("inference:export", args=[ai.pk, version.number, "keras"])
    page.goto(url)
    assert page.is_visible("#export-building") and not page.is_visible("#export-ready")
    with page.expect_download(timeout=30_000) as download:
        job = Job.objects.get(kind=Job.Kind.MODEL_EXPORT, params__version_id=version.pk)
        jobs.export_build(job.pk)
    assert download.value.suggested_filename == "colours-v1-keras.zip"
    page.wait_for_selector("#export-ready:has-text('Downloaded Keras')")
    assert not page.is_visible("#export-building") and page.url == url
    page.screenshot(path=str(tmp_path / "export-downloaded.png"), full_page=True)
    with page.expect_download() as again:
        page.click("#download-again")
    assert again.value.suggested_filename == "colours-v1-keras.zip"


def test_it_shows_what_a_prediction_rests_on(
    live_asgi,
    page,
    owner,
    password,
    ai,  # noqa: F811 - fixture imported above
    make_version,  # noqa: F811
    tmp_path,
):
    from PIL import Image

    from inference import services

    services.model_version_set_default(version=make_version(ai), user=owner, note="first")
    # Grey, with red in the top-left quarter of the centre square the model sees.
    img = Image.new("RGB", (320, 240), (128, 128, 128))
    img.paste((220, 30, 30), (40, 0, 160, 120))
    photo = tmp_path / "corner.jpg"
    img.save(photo, quality=95)
    log_in(page, live_asgi, owner.username, password)
    page.goto(live_asgi + reverse("inference:predict", args=[ai.pk]))
    assert page.is_checked("#id_explain")
    page.set_input_files("#id_image", str(photo))
    page.click("#predict-btn")
    page.wait_for_selector("#explain:not(.d-none)")
    assert page.inner_text("#result-title") == "red"
    assert "Why “red”?" in page.inner_text("#explain")
    # The brightest (least dimmed) cell of the drawn map is in the top-left quarter.
    hottest = page.evaluate(
        """() => {
          const c = document.getElementById('explain-heat');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let best = 0, at = 0;
          for (let k = 0; k < d.length; k += 4) {
            const heat = 255 - d[k + 3];
            if (heat > best) { best = heat; at = k / 4; }
          }
          return [Math.floor(at / c.width), at % c.width, best];
        }"""
    )
    assert hottest[0] < 4 and hottest[1] < 4 and hottest[2] > 100, hottest
    assert page.is_visible("#explain-heat")
    page.click("#explain-toggle")
    assert not page.is_visible("#explain-heat")
    assert page.inner_text("#explain-toggle") == "Show heat map"


def test_it_turns_unsure_predictions_into_training_images(
    live_asgi,
    page,
    owner,
    password,
    ai,  # noqa: F811 - fixture imported above
    make_version,  # noqa: F811
):
    from datasets.models import Image as TrainingImage
    from inference import services

    services.model_version_set_default(version=make_version(ai), user=owner, note="first")
    unsure = [
        services.prediction_create(project=ai, data=colour_jpeg(c, seed=i), user=owner).prediction
        for i, c in enumerate(("red", "green"))
    ]
    Prediction.objects.filter(pk__in=[p.pk for p in unsure]).update(probability=0.55)
    log_in(page, live_asgi, owner.username, password)
    page.goto(live_asgi + reverse("inference:history", args=[ai.pk]))
    page.click("#review-link")
    card = page.locator(".card", has_text=f"#{unsure[0].pk}")
    card.locator("select").select_option(label="blue")  # the model said red: it is blue
    card.get_by_role("button", name="Add to training").click()
    page.wait_for_selector(".alert:has-text('Added to the training set as “blue”')")
    assert page.locator("#review-grid .card").count() == 1  # one left to review
    image = TrainingImage.objects.get(project=ai)
    assert (image.label.name, image.source) == ("blue", "correction")


def test_it_says_not_sure_and_lets_the_owner_move_the_threshold(
    live_asgi,
    page,
    owner,
    password,
    ai,  # noqa: F811 - fixture imported above
    make_version,  # noqa: F811
    tmp_path,
):
    from inference import services
    from tests.inference.conftest import grey_jpeg

    version = make_version(ai, unknown=True)
    services.model_version_set_default(version=version, user=owner, note="first")
    log_in(page, live_asgi, owner.username, password)
    page.goto(live_asgi + reverse("inference:predict", args=[ai.pk]))
    page.uncheck("#id_explain")
    for name, data in (("red.jpg", colour_jpeg("red", (320, 240))), ("grey.jpg", grey_jpeg())):
        (tmp_path / name).write_bytes(data)
    page.set_input_files("#id_image", str(tmp_path / "red.jpg"))
    page.click("#predict-btn")
    page.wait_for_selector("#predict-chart[data-ready='1']")
    assert page.inner_text("#result-title") == "red"
    assert not page.is_visible("#result-unknown")
    page.set_input_files("#id_image", str(tmp_path / "grey.jpg"))
    page.click("#predict-btn")
    page.wait_for_selector("#result-unknown:not(.d-none)")
    assert "doesn’t look like any of your labels" in page.inner_text("#result-unknown")
    assert page.inner_text("#result-title").startswith("Closest: ")
    page.screenshot(path=str(tmp_path / "not-sure.png"))

    page.goto(live_asgi + reverse("inference:version", args=[ai.pk, 1]))
    assert page.inner_text("#unknown-own") in {"0%", "1%", "2%", "3%", "4%", "5%"}
    page.fill("#id_reject_percent", "30")  # a range input: sets the value, fires input
    assert page.inner_text("#unknown-own") == "30%"
    assert "never saw" in page.inner_text("#unknown-effect")
    page.click("#unknown-save")
    page.wait_for_selector("text=now says “not sure” for about 30%")
    page.screenshot(path=str(tmp_path / "threshold.png"), full_page=True)
    version.refresh_from_db()
    assert (
        version.unknown_threshold is not None and version.threshold < version.unknown["threshold"]
    )
    assert page.input_value("#id_reject_percent") == "30"
