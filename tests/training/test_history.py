"""History: every run with its status, parameters, duration and accuracy, curves to compare."""

import pytest
from django.urls import reverse

from tests.training.conftest import make_run
from training.models import EpochMetric

pytestmark = pytest.mark.django_db


def url(project):
    return reverse("training:history", kwargs={"pk": project.pk})


def test_it_lists_every_run_with_its_curves(owner_client, project):
    first = make_run(project, status="failed", error="x")
    second = make_run(project, best_val_accuracy=0.875, params={"epochs": 12, "batch_size": 8,
                      "learning_rate": 0.001, "validation_split": 0.1, "seed": 3})  # fmt: skip
    EpochMetric.objects.create(run=second, epoch=1, loss=0.9, accuracy=0.6, val_loss=0.8,
                               val_accuracy=0.625)  # fmt: skip
    response = owner_client.get(url(project))
    assert response.status_code == 200
    body = response.content.decode()
    assert f'data-run-id="{first.pk}"' in body and f'data-run-id="{second.pk}"' in body
    assert "87.5%" in body and "12 epochs" in body and "10% validation" in body
    assert "learning rate 0.001" in body and "seed 3" in body
    assert "0.625" in body  # the curve data for Chart.js
    assert 'class="form-check-input tr-compare"' in body


def test_it_is_404_for_other_users(other_client, client, project):
    make_run(project)
    assert other_client.get(url(project)).status_code == 404
    assert client.get(url(project)).status_code == 404


def test_it_lets_others_read_a_public_projects_history(other_client, public_project):
    make_run(public_project)
    response = other_client.get(url(public_project))
    assert response.status_code == 200
    assert "New run" not in response.content.decode()
