"""“Check these labels”: only the images that look like another label, with the label they
look like; a plain “nothing looks mislabelled” otherwise."""

import pytest
from django.urls import reverse

from datasets.models import Image
from tests.training.conftest import make_run

pytestmark = pytest.mark.django_db


def url(run):
    return reverse("training:doubts", kwargs={"pk": run.project_id, "number": run.number})


def doubt_run(project, doubts=None):
    """A run over the project's images (cats first, then dogs) that flagged images 6 (a dog
    that looks like a cat) and 1 (a cat that looks like a dog)."""
    labels = list(project.labels.order_by("pk"))
    images = list(Image.objects.filter(project=project).order_by("label_id", "pk"))
    if doubts is None:
        doubts = [
            {"index": 6, "given": 1, "suggested": 0, "confidence": 0.95, "p_given": 0.03,
             "margin": 0.92},
            {"index": 1, "given": 0, "suggested": 1, "confidence": 0.81, "p_given": 0.12,
             "margin": 0.69},
        ]  # fmt: skip
    run = make_run(
        project,
        snapshot=[[im.pk, [lb.pk for lb in labels].index(im.label_id)] for im in images],
        metrics={
            "image_ids": [im.pk for im in images],
            "doubts": doubts,
            "doubts_info": {"method": "confident_learning", "C": 0.1, "folds": 4},
        },
    )
    return run, images


def test_it_lists_the_flagged_images_with_their_suggested_label(owner_client, ready_project):
    run, images = doubt_run(ready_project)
    body = owner_client.get(url(run)).content.decode()
    assert body.count('class="small doubt-item') == 2
    assert body.index(f"image {images[6].pk}") < body.index(f"image {images[1].pk}")
    assert "looks like <strong>cat</strong> (0.95)" in body
    assert "labelled <strong>dog</strong> (0.03)" in body
    assert images[6].original_name in body
    move = reverse("training:doubt_resolve", args=[ready_project.pk, run.number, images[6].pk])
    assert f'action="{move}"' in body and "Move to cat" in body and "Remove" in body
    assert "csrfmiddlewaretoken" in body
    gallery = reverse("datasets:gallery", kwargs={"pk": ready_project.pk})
    assert f"{gallery}?ids={images[6].pk},{images[1].pk}" in body
    assert "Nothing looks mislabelled" not in body


def test_it_says_nothing_looks_mislabelled_when_nothing_was_flagged(owner_client, ready_project):
    run, _ = doubt_run(ready_project, doubts=[])
    body = owner_client.get(url(run)).content.decode()
    assert "Nothing looks mislabelled" in body and "doubt-item" not in body
    run_page = owner_client.get(reverse("training:run", args=[ready_project.pk, run.number]))
    assert "nothing looks mislabelled" in run_page.content.decode()


def test_it_leaves_out_images_deleted_or_relabelled_since_the_run(owner_client, ready_project):
    run, images = doubt_run(ready_project)
    images[6].delete()
    cat = ready_project.labels.get(name="cat")
    Image.objects.filter(pk=images[1].pk).update(label=ready_project.labels.get(name="dog"))
    body = owner_client.get(url(run)).content.decode()
    assert "doubt-item" not in body
    assert "Nothing looks mislabelled any more: the 2 images run #1 flagged have been" in body
    assert Image.objects.filter(pk=images[1].pk, label=cat).count() == 0


def test_it_says_when_a_run_did_not_check_its_labels(owner_client, ready_project):
    legacy = {"index": 0, "given": 0, "p_given": 0.2, "predicted": 1, "p_predicted": 0.8}
    old = make_run(ready_project, metrics={"doubts": [legacy]})
    body = owner_client.get(url(old)).content.decode()
    assert "train again to check the labels" in body and "doubt-item" not in body
    failed = make_run(ready_project, status="failed")
    assert "has not succeeded" in owner_client.get(url(failed)).content.decode()
    broken = make_run(
        ready_project, metrics={"doubts": [], "doubts_info": {"error": "out of memory"}}
    )
    body = owner_client.get(url(broken)).content.decode()
    assert "could not check the labels (out of memory)" in body
    assert "Nothing looks mislabelled" not in body
    run_page = owner_client.get(reverse("training:run", args=[ready_project.pk, broken.number]))
    assert "mislabelled" not in run_page.content.decode()


def test_it_hides_the_buttons_from_visitors_of_a_public_project(other_client, public_project):
    from projects.models import Label
    from tests.training.conftest import fill

    for name in ("cat", "dog"):
        Label.objects.create(project=public_project, name=name)
    fill(public_project, 4)
    run, _ = doubt_run(public_project)
    response = other_client.get(url(run))
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('class="small doubt-item') == 2
    assert "Move to" not in body and "Only the owner can change them" in body


def test_it_is_404_for_other_users(other_client, ready_project):
    run, _ = doubt_run(ready_project)
    assert other_client.get(url(run)).status_code == 404
    missing = reverse("training:doubts", kwargs={"pk": ready_project.pk, "number": 99})
    assert other_client.get(missing).status_code == 404


@pytest.mark.django_db(transaction=True)  # it runs the worker's code, which closes connections
def test_it_lists_what_the_training_job_found(owner_client, project):
    """The whole path: a red image filed under “dog” among red cats and blue dogs is the one
    image the run flags, stored with the run and shown with the move button."""
    from tests.training.conftest import TINY_PARAMS, add_images
    from training import services

    cat, dog = project.labels.order_by("pk")
    add_images(project, cat, 8)
    add_images(project, dog, 8)
    (stray,) = add_images(project, cat, 1, seed=7)
    Image.objects.filter(pk=stray.pk).update(label=dog)
    run = services.training_run_start(
        project=project, user=project.owner, params={**TINY_PARAMS, "epochs": 2}, enqueue=False
    )
    run = services.training_run_execute(run_id=run.pk)
    assert run.status == "succeeded", run.error
    assert run.metrics["doubts_info"]["method"] == "confident_learning"

    body = owner_client.get(url(run)).content.decode()
    assert body.count('class="small doubt-item') == 1
    assert f'data-image="{stray.pk}"' in body and "Move to cat" in body
