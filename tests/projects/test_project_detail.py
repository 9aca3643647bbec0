import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_shows_labels_and_owner_controls(owner_client, project):
    body = owner_client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert "cat" in body and "dog" in body
    assert "Add labels" in body


def test_it_is_404_for_another_user_on_a_private_project(other_client, client, project):
    url = reverse("projects:detail", args=[project.pk])
    assert other_client.get(url).status_code == 404
    assert client.get(url).status_code == 404


def test_a_public_project_is_readable_but_not_changeable_by_others(client, public_project):
    response = client.get(reverse("projects:detail", args=[public_project.pk]))
    assert response.status_code == 200
    assert "Add labels" not in response.content.decode()


def test_the_owner_sees_the_moderation_notice(owner_client, public_project):
    from django.test import Client

    public_project.hidden = True
    public_project.moderation_note = "Spam."
    public_project.save()
    body = owner_client.get(reverse("projects:detail", args=[public_project.pk])).content.decode()
    assert "A moderator hid this project from the public." in body and "Spam." in body
    assert Client().get(reverse("projects:detail", args=[public_project.pk])).status_code == 404


def _visitor_page_fixture(public_project, owner):
    from projects.models import Job
    from tests.datasets.imgutil import add_images

    cat = public_project.labels.create(name="cat")
    add_images(public_project, cat, 3)
    Job.objects.create(
        project=public_project, created_by=owner, kind="import", title="Import anna-private.zip",
        status="failed", error="Corrupt entry anna-passport.jpg",
    )  # fmt: skip


def test_it_shows_visitors_the_images_but_none_of_the_owners_work(
    client, other_client, public_project, owner
):
    _visitor_page_fixture(public_project, owner)
    for visitor in (client, other_client):
        body = visitor.get(reverse("projects:detail", args=[public_project.pk])).content.decode()
        assert 'id="visitor-page"' in body and f"made by {owner.username}" in body
        assert body.count("/file/thumbnail/") == 3  # the gallery preview
        assert reverse("datasets:gallery", args=[public_project.pk]) in body
        assert "Its owner has not published a model yet" in body
        for owners_only in ("anna", "Activity", "Not ready to train", "Ready to train",
                            "Browse and clean", "Test live progress", "Add labels"):  # fmt: skip
            assert owners_only not in body, owners_only


def test_the_owner_still_sees_the_activity_and_hints(owner_client, public_project, owner):
    _visitor_page_fixture(public_project, owner)
    body = owner_client.get(reverse("projects:detail", args=[public_project.pk])).content.decode()
    assert "Import anna-private.zip" in body and "Not ready to train" in body
    assert 'id="visitor-page"' not in body


def test_it_shows_visitors_the_model_and_its_labels_to_try(client, public_project, owner):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from inference.services import model_version_create_for_run, model_version_set_default
    from training.models import TrainingRun

    prefix = f"projects/{public_project.pk}/runs/1/"
    default_storage.save(prefix + "model.keras", ContentFile(b"not loaded by this page"))
    run = TrainingRun.objects.create(
        project=public_project, number=1, status="succeeded", labels=["robin", "wren"],
        best_val_accuracy=0.85, artifact_prefix=prefix,
    )  # fmt: skip
    model_version_set_default(
        version=model_version_create_for_run(run=run), user=owner, note="first"
    )
    body = client.get(reverse("projects:detail", args=[public_project.pk])).content.decode()
    assert "It tells apart" in body and ">robin</span>" in body and ">wren</span>" in body
    assert "right 85% of the time" in body
    assert 'id="predict-form"' in body and 'id="keep-notice"' in body
    assert reverse("inference:predict", args=[public_project.pk]) in body
