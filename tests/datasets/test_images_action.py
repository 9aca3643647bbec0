"""Selecting images in the gallery to move them to another label or delete them."""

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from datasets.models import Image
from tests.datasets.imgutil import add_images

pytestmark = pytest.mark.django_db


def _post(client, project, **data):
    return client.post(reverse("datasets:images_action", args=[project.pk]), data)


def test_it_moves_the_selected_images(owner_client, project):
    cat, dog = project.labels.all()
    images = add_images(project, cat, 3)
    ids = [images[0].pk, images[1].pk]
    next_url = reverse("datasets:gallery", args=[project.pk]) + f"?label={cat.pk}"
    response = _post(owner_client, project, action="move", ids=ids, label=dog.pk, next=next_url)
    assert response.status_code == 302 and response["Location"] == next_url
    assert set(Image.objects.filter(label=dog).values_list("pk", flat=True)) == set(ids)


def test_it_asks_before_deleting_then_deletes_rows_and_files(
    owner_client, project, django_capture_on_commit_callbacks
):
    cat = project.labels.get(name="cat")
    images = add_images(project, cat, 3)
    ids = [images[0].pk, images[2].pk]
    page = _post(owner_client, project, action="delete", ids=ids)
    assert page.status_code == 200 and "Delete 2 images?" in page.content.decode()
    assert Image.objects.count() == 3
    files = [images[0].thumbnail.name, images[2].original.name]
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(
            owner_client, project, action="delete", ids=",".join(map(str, ids)), confirmed="1"
        )
    assert response.status_code == 302
    assert list(Image.objects.values_list("pk", flat=True)) == [images[1].pk]
    assert not any(default_storage.exists(f) for f in files)
    assert default_storage.exists(images[1].thumbnail.name)


def test_it_ignores_images_of_other_projects(owner_client, other, project):
    from projects.models import Label, Project

    theirs = Project.objects.create(owner=other, name="Theirs")
    their_label = Label.objects.create(project=theirs, name="x")
    victim = add_images(theirs, their_label, 1)[0]
    _post(owner_client, project, action="delete", ids=[victim.pk], confirmed="1")
    dog = project.labels.get(name="dog")
    _post(owner_client, project, action="move", ids=[victim.pk], label=dog.pk)
    victim.refresh_from_db()
    assert victim.label == their_label


def test_it_explains_bad_requests(owner_client, project):
    cat = project.labels.get(name="cat")
    image = add_images(project, cat, 1)[0]
    for data in (
        {"action": "delete"},  # nothing selected
        {"action": "move", "ids": [image.pk]},  # no target label
        {"action": "explode", "ids": [image.pk]},
        {"action": "delete", "ids": ["1; DROP TABLE"], "confirmed": "1"},
    ):
        response = _post(owner_client, project, **data)
        assert response.status_code == 302
    assert Image.objects.count() == 1
    # An unsafe next URL falls back to the gallery.
    response = _post(owner_client, project, action="move", ids=[image.pk],
                     label=cat.pk, next="https://evil.example.com/")  # fmt: skip
    assert response["Location"] == reverse("datasets:gallery", args=[project.pk])


def test_it_is_404_for_anyone_else(other_client, project, public_project):
    from django.test import Client

    cat, dog = project.labels.all()
    image = add_images(project, cat, 1)[0]
    for c in (Client(), other_client):
        assert _post(c, project, action="delete", ids=[image.pk], confirmed="1").status_code == 404
        assert _post(c, project, action="move", ids=[image.pk], label=dog.pk).status_code == 404
    assert _post(other_client, public_project, action="delete", ids=[1]).status_code == 404
    assert Image.objects.get().label == cat


@pytest.mark.parametrize("ids", ["²", "99999999999999999999999"])
@pytest.mark.parametrize("action", ["delete", "move"])
def test_it_refuses_ids_that_are_not_plain_database_integers(owner_client, project, ids, action):
    cat, dog = project.labels.all()
    add_images(project, cat, 2)
    response = _post(owner_client, project, action=action, ids=ids, label=dog.pk, confirmed="1")
    assert response.status_code == 302
    assert Image.objects.filter(label=cat).count() == 2
