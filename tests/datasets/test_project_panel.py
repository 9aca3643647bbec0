"""The "2. Data" card on the project page: counts, balance chart, hints, ready summary."""

import pytest
from django.urls import reverse

from tests.datasets.imgutil import add_images

pytestmark = pytest.mark.django_db


def test_it_shows_counts_hints_and_readiness(owner_client, project, settings):
    settings.AIMAKER_MIN_IMAGES_PER_LABEL = 2
    cat, dog = project.labels.all()
    add_images(project, cat, 2)
    html = owner_client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert 'id="data"' in html and 'id="panel-balance-data"' in html
    assert "Not ready to train yet." in html and "needs 2 more" in html
    assert 'id="collect-slot"' in html
    assert reverse("datasets:upload", args=[project.pk]) in html
    add_images(project, dog, 2, start=100)
    html = owner_client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert "Ready to train: 2 labels" in html


def test_visitors_see_the_counts_without_owner_tools(client, public_project):
    html = client.get(reverse("projects:detail", args=[public_project.pk])).content.decode()
    assert 'id="data"' in html and "collect-slot" not in html
    assert reverse("datasets:upload", args=[public_project.pk]) not in html
