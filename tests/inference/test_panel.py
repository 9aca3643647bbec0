"""The "4. Use" card on the project page."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_shows_the_default_its_accuracy_and_how_to_use_it(owner_client, published, ai):
    content = owner_client.get(reverse("projects:detail", args=[ai.pk])).content.decode()
    assert "4. Use" in content and "<strong>v1</strong>" in content
    assert "validation accuracy <strong>90.0%</strong>" in content
    assert reverse("inference:predict", args=[ai.pk]) in content
    assert reverse("inference:export", args=[ai.pk, 1, "tflite"]) in content
    assert f"/api/v1/projects/{ai.pk}/predict/" in content and "Bearer" in content


def test_it_offers_to_publish_the_first_version(owner_client, make_version, ai):
    make_version(ai)
    content = owner_client.get(reverse("projects:detail", args=[ai.pk])).content.decode()
    assert "Publish v1" in content


def test_visitors_see_predict_but_no_exports(client, public_published, public_ai):
    content = client.get(reverse("projects:detail", args=[public_ai.pk])).content.decode()
    assert reverse("inference:predict", args=[public_ai.pk]) in content
    assert "/export/" not in content


def test_it_says_nothing_is_trained_yet(owner_client, ai):
    content = owner_client.get(reverse("projects:detail", args=[ai.pk])).content.decode()
    assert "Once a training run succeeds" in content
