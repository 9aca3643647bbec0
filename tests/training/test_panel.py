"""The “3. Train” card on the project page."""

import pytest
from django.urls import reverse

from tests.training.conftest import make_run

pytestmark = pytest.mark.django_db


def test_it_offers_training_when_the_project_is_ready(owner_client, ready_project):
    body = owner_client.get(ready_project.get_absolute_url()).content.decode()
    assert "3. Train" in body
    assert reverse("training:start", kwargs={"pk": ready_project.pk}) in body
    assert "js/training.js" in body


def test_it_says_what_is_missing(owner_client, project):
    body = owner_client.get(project.get_absolute_url()).content.decode()
    assert "“cat” has 0 image" in body and 'id="train-btn"' in body
    assert reverse("training:start", kwargs={"pk": project.pk}) not in body


def test_it_shows_the_latest_run_and_the_history_link(owner_client, project):
    make_run(project, status="failed", error="worker gone")
    make_run(project, status="running", phase="training",
             progress={"epoch": 2, "epochs": 5, "batch": 1, "batches": 4})  # fmt: skip
    body = owner_client.get(project.get_absolute_url()).content.decode()
    assert "Run #2" in body and "Training: epoch 2/5, batch 1/4" in body
    assert reverse("training:history", kwargs={"pk": project.pk}) in body


def test_it_shows_no_training_controls_or_run_errors_to_visitors(other_client, public_project):
    # Issue 8 §3: visitors get a visitor's page; runs and their errors are the owner's work.
    make_run(public_project, status="failed", error="worker gone")
    body = other_client.get(public_project.get_absolute_url()).content.decode()
    assert 'id="train-btn"' not in body and "worker gone" not in body and "3. Train" not in body
