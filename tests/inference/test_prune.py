"""Predictions kept per AI: the monitor deletes the oldest beyond the setting, images too."""

import pytest
from django.core.files.storage import default_storage

from inference import services
from inference.models import Prediction
from inference.services import predictions
from projects.work import monitor_once

from .conftest import colour_jpeg

pytestmark = pytest.mark.django_db


def test_it_keeps_the_newest_predictions_of_each_ai(
    published, ai, owner, settings, django_capture_on_commit_callbacks
):
    settings.AIMAKER_PREDICTIONS_KEPT = 2
    made = [
        services.prediction_create(project=ai, data=colour_jpeg(c, seed=i), user=owner).prediction
        for i, c in enumerate(("red", "green", "blue", "red"))
    ]
    old_files = [made[0].image.name, services.prediction_thumbnail(prediction=made[1])]
    assert all(default_storage.exists(name) for name in old_files)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.predictions_prune(force=True) == 2
    assert sorted(Prediction.objects.values_list("pk", flat=True)) == [made[2].pk, made[3].pk]
    assert not any(default_storage.exists(name) for name in old_files)


def test_the_monitor_prunes_at_most_every_few_minutes(published, ai, owner, settings, monkeypatch):
    settings.AIMAKER_PREDICTIONS_KEPT = 1
    for colour in ("red", "green"):
        services.prediction_create(project=ai, data=colour_jpeg(colour), user=owner)
    monkeypatch.setattr(predictions, "_last_prune", float("-inf"))  # as when a process starts
    monitor_once()  # the first tick prunes...
    assert Prediction.objects.count() == 1
    services.prediction_create(project=ai, data=colour_jpeg("blue"), user=owner)
    monitor_once()  # ...the next ones within PRUNE_EVERY do not count again
    assert Prediction.objects.count() == 2
