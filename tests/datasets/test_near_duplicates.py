"""The near-duplicates page: each pair side by side, keep both or delete one."""

import pytest
from django.urls import reverse

from datasets.models import Image
from tests.datasets.imgutil import add_images

pytestmark = pytest.mark.django_db


def _url(project) -> str:
    return reverse("datasets:near_duplicates", args=[project.pk])


@pytest.fixture
def pair(project):
    cat, dog = project.labels.get(name="cat"), project.labels.get(name="dog")
    first, later = add_images(project, cat, 1)[0], add_images(project, dog, 1, start=50)[0]
    Image.objects.filter(pk=later.pk).update(near_duplicate_of=first)
    return first, later


def test_it_shows_each_pair_side_by_side_with_its_choices(owner_client, project, pair):
    first, later = pair
    body = owner_client.get(_url(project)).content.decode()
    assert "1 pair to look at" in body and body.count('class="card mb-3 near-pair"') == 1
    for image in (first, later):
        assert reverse("datasets:image_file", args=[project.pk, image.pk, "normalized"]) in body
        assert f'name="ids" value="{image.pk}"' in body
    assert body.count(">Delete this one</button>") == 2 and body.count(">Keep both</button>") == 1
    assert body.index(f'data-image-id="{first.pk}"') < body.index(f'data-image-id="{later.pk}"')
    assert "different labels" in body  # cat and dog


def test_it_says_when_there_are_none(owner_client, project):
    add_images(project, project.labels.get(name="cat"), 2)
    body = owner_client.get(_url(project)).content.decode()
    assert "No near-duplicates found." in body and ">Keep both</button>" not in body


def test_keeping_both_marks_the_pair_reviewed(owner_client, project, pair):
    first, later = pair
    keep = reverse("datasets:near_duplicate_keep", args=[project.pk, later.pk])
    response = owner_client.post(keep, {"next": _url(project)})
    assert response.status_code == 302 and response["Location"] == _url(project)
    assert Image.objects.filter(pk__in=[first.pk, later.pk]).count() == 2
    body = owner_client.get(_url(project)).content.decode()
    assert "Kept both images" in body and "No near-duplicates found." in body


def test_deleting_one_removes_it_and_the_pair(owner_client, project, pair):
    first, later = pair
    response = owner_client.post(
        reverse("datasets:images_action", args=[project.pk]),
        {"action": "delete", "ids": str(first.pk), "confirmed": "1", "next": _url(project)},
    )
    assert response.status_code == 302 and response["Location"] == _url(project)
    assert list(Image.objects.values_list("pk", flat=True)) == [later.pk]
    assert "No near-duplicates found." in owner_client.get(_url(project)).content.decode()


def test_others_get_404_and_change_nothing(other_client, client, public_project, owner):
    label = public_project.labels.create(name="cat")
    first, later = add_images(public_project, label, 2)
    Image.objects.filter(pk=later.pk).update(near_duplicate_of=first)
    keep = reverse("datasets:near_duplicate_keep", args=[public_project.pk, later.pk])
    for visitor in (other_client, client):
        assert visitor.get(_url(public_project)).status_code == 404
        assert visitor.post(keep).status_code == 404
    later.refresh_from_db()
    assert later.near_duplicate_of_id == first.pk


def test_the_gallery_leads_owners_there_and_shows_visitors_no_cleaning_hints(
    owner_client, other_client, public_project
):
    label = public_project.labels.create(name="cat")
    first, later = add_images(public_project, label, 2)
    Image.objects.filter(pk=later.pk).update(near_duplicate_of=first)
    gallery = reverse("datasets:gallery", args=[public_project.pk])
    owners = owner_client.get(gallery).content.decode()
    assert f'href="{_url(public_project)}"' in owners and "near-dup" in owners
    visitors = other_client.get(gallery).content.decode()
    assert _url(public_project) not in visitors and "near-duplicate" not in visitors
    assert "add at least" not in visitors and "Ready to train" not in visitors
