"""Image detail: full size, provenance, near-duplicate link, move/delete for the owner."""

import pytest
from django.urls import reverse

from datasets.models import Image
from datasets.services import image_ingest
from tests.datasets.imgutil import add_images, image_bytes

pytestmark = pytest.mark.django_db


def _url(project, image):
    return reverse("datasets:image_detail", args=[project.pk, image.pk])


def test_it_shows_the_image_with_its_provenance(owner_client, project):
    cat = project.labels.get(name="cat")
    image = image_ingest(
        project=project, label=cat, data=image_bytes(1), source=Image.Source.COLLECTED,
        added_by=project.owner, original_name="tabby.jpg",
        provenance={"source_url": "https://img.example.com/tabby.jpg",
                    "landing_url": "https://example.com/tabby", "creator": "Ann <b>",
                    "license": "by", "license_url": "https://creativecommons.org/licenses/by/4.0/",
                    "attribution": "“Tabby” by Ann is licensed under CC BY 4.0",
                    "provider": "openverse"},
    ).image  # fmt: skip
    html = owner_client.get(_url(project, image)).content.decode()
    for text in ("Collected from the web", "tabby.jpg", "https://img.example.com/tabby.jpg",
                 "https://example.com/tabby", "Ann &lt;b&gt;", "BY", "licensed under CC BY 4.0",
                 "by alice", 'id="move-form"', 'id="delete-form"'):  # fmt: skip
        assert text in html, text
    assert reverse("datasets:image_file", args=[project.pk, image.pk, "normalized"]) in html


def test_it_links_a_near_duplicate(owner_client, project):
    cat = project.labels.get(name="cat")
    first, second = add_images(project, cat, 2)
    Image.objects.filter(pk=second.pk).update(near_duplicate_of=first)
    html = owner_client.get(_url(project, second)).content.decode()
    assert "Near-duplicate" in html and _url(project, first) in html


def test_it_is_viewable_on_a_public_project_without_owner_tools(client, public_project):
    from projects.models import Label

    bird = Label.objects.create(project=public_project, name="bird")
    image = add_images(public_project, bird, 1)[0]
    html = client.get(_url(public_project, image)).content.decode()
    assert "move-form" not in html and "by alice" not in html


def test_it_is_404_for_anyone_else(other_client, project, public_project):
    from django.test import Client

    cat = project.labels.get(name="cat")
    image = add_images(project, cat, 1)[0]
    assert other_client.get(_url(project, image)).status_code == 404
    assert Client().get(_url(project, image)).status_code == 404
    # An image id of another project under a project you may see: still 404.
    url = reverse("datasets:image_detail", args=[public_project.pk, image.pk])
    assert other_client.get(url).status_code == 404


def test_the_near_duplicate_hint_is_for_the_owner_and_leads_to_the_pair(
    owner_client, other_client, public_project
):
    label = public_project.labels.create(name="cat")
    first, later = add_images(public_project, label, 2)
    Image.objects.filter(pk=later.pk).update(near_duplicate_of=first)
    url = reverse("datasets:image_detail", args=[public_project.pk, later.pk])
    near = reverse("datasets:near_duplicates", args=[public_project.pk])
    assert near in owner_client.get(url).content.decode()
    visitors = other_client.get(url).content.decode()
    assert "Near-duplicate" not in visitors and near not in visitors
