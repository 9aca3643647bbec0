"""Versions: created for succeeded runs (by the worker, or the monitor as backstop), the default
switch and its audit."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from inference import services
from inference.models import DefaultSwitch, ModelVersion
from projects.work import monitor_once
from training.models import TrainingRun
from training.signals import run_announced, run_succeeded

pytestmark = pytest.mark.django_db


def test_it_numbers_versions_per_project_and_is_idempotent(ai, public_ai, make_version):
    v1 = make_version(ai)
    v2 = make_version(ai)
    other = make_version(public_ai)
    assert (v1.number, v2.number, other.number) == (1, 2, 1)
    assert services.model_version_create_for_run(run=v2.run) == v2
    assert ModelVersion.objects.filter(project=ai).count() == 2


def test_the_monitor_makes_the_versions_a_dead_worker_did_not(ai, make_version):
    v1 = make_version(ai)
    run = TrainingRun.objects.create(
        project=ai, number=7, status=TrainingRun.Status.SUCCEEDED, labels=v1.labels,
        artifact_prefix=v1.run.artifact_prefix, finished_at=timezone.now(),
    )  # fmt: skip
    TrainingRun.objects.create(project=ai, number=8, status=TrainingRun.Status.FAILED)
    assert [v.number for v in services.model_versions_list(project=ai)] == [1]  # reads only read
    assert monitor_once() == 1
    versions = services.model_versions_list(project=ai)
    assert [v.number for v in versions] == [2, 1]
    assert versions[0].run == run
    assert monitor_once() == 0


def test_a_run_that_succeeds_in_the_worker_yields_its_version_before_the_page_hears(ai):
    heard = []
    run = TrainingRun.objects.create(
        project=ai, number=1, status=TrainingRun.Status.SUCCEEDED, labels=["a", "b"],
        artifact_prefix="runs/x", finished_at=timezone.now(),
    )  # fmt: skip

    def on_announced(sender, run, **kwargs):
        heard.append(ModelVersion.objects.filter(run=run).values_list("number", flat=True)[0])

    run_announced.connect(on_announced, sender=TrainingRun)
    try:
        run_succeeded.send(sender=TrainingRun, run=run)
        run_announced.send(sender=TrainingRun, run=run)
    finally:
        run_announced.disconnect(on_announced, sender=TrainingRun)
    assert heard == [1]


def test_it_ignores_runs_that_did_not_succeed(ai):
    run = TrainingRun.objects.create(project=ai, number=1, status=TrainingRun.Status.RUNNING)
    assert services.model_version_create_for_run(run=run) is None


def test_it_switches_the_default_and_records_who_when_why(ai, make_version, owner):
    v1, v2 = make_version(ai), make_version(ai)
    services.model_version_set_default(version=v1, user=owner, note="first one")
    services.model_version_set_default(version=v2, user=owner, note="more data")
    rollback = services.model_version_set_default(version=v1, user=owner, note="v2 confuses hats")
    assert services.model_version_default(project=ai) == v1
    assert ModelVersion.objects.filter(project=ai, is_default=True).count() == 1
    assert rollback.is_rollback and (rollback.from_number, rollback.to_number) == (2, 1)
    notes = list(DefaultSwitch.objects.filter(project=ai).values_list("note", flat=True))
    assert notes == ["v2 confuses hats", "more data", "first one"]
    assert all(s.user == owner for s in DefaultSwitch.objects.all())


def test_it_refuses_a_switch_without_a_note_or_to_the_same_version(ai, make_version, owner):
    v1 = make_version(ai)
    with pytest.raises(ValidationError):
        services.model_version_set_default(version=v1, user=owner, note="  ")
    services.model_version_set_default(version=v1, user=owner, note="ok")
    with pytest.raises(ValidationError):
        services.model_version_set_default(version=v1, user=owner, note="again")


def test_it_compares_metrics_params_images_and_labels(ai, make_version):
    old = make_version(ai, acc=0.8, f1s=(0.7, 0.8, 0.9), params={"epochs": 10},
                       snapshot=[[1, 0], [2, 1], [3, 2], [4, 2]])  # fmt: skip
    new = make_version(ai, acc=0.9, f1s=(0.9, 0.8, 0.6), params={"epochs": 20},
                       snapshot=[[1, 0], [2, 2], [3, 2], [5, 0], [6, 1]])  # fmt: skip
    diff = services.model_version_compare(version=new, baseline=old)
    acc = next(r for r in diff["metrics"] if r["key"] == "val_accuracy")
    assert acc["delta"] == pytest.approx(0.1)
    assert diff["params"] == [{"key": "epochs", "new": 20, "old": 10, "name": "Epochs (at most)",
                               "new_text": "20", "old_text": "10"}]  # fmt: skip
    assert diff["images"]["added"] == 2 and diff["images"]["removed"] == 1
    assert diff["images"]["relabelled"] == 1
    red = next(r for r in diff["per_label"] if r["label"] == "red")
    assert red["f1_delta"] == pytest.approx(0.2)


def test_it_resolves_version_references(ai, make_version, owner):
    with pytest.raises(services.NoModelVersion, match="no trained model"):
        services.model_version_get(project=ai, ref=None)
    v1, v2 = make_version(ai), make_version(ai)
    with pytest.raises(services.NoModelVersion, match="no default version"):
        services.model_version_get(project=ai, ref=None)
    assert services.model_version_get(project=ai, ref="latest") == v2
    assert services.model_version_get(project=ai, ref="v1") == v1
    assert services.model_version_get(project=ai, ref=2) == v2
    with pytest.raises(services.PredictionError):
        services.model_version_get(project=ai, ref="v9")


# --- the versions page --------------------------------------------------------------------


def test_it_lists_versions_and_the_switch_history(owner_client, published, make_version, ai):
    make_version(ai)
    response = owner_client.get(reverse("inference:versions", args=[ai.pk]))
    assert response.status_code == 200
    assert b"v2" in response.content and b"default" in response.content
    assert b"first" in response.content  # the note of the switch
    assert b"Compare &amp; publish" in response.content
    assert b"<td>90.0%</td>" in response.content and b"0.900" not in response.content


def test_it_hides_a_private_project_from_others(other_client, client, published, ai):
    url = reverse("inference:versions", args=[ai.pk])
    assert other_client.get(url).status_code == 404
    assert client.get(url).status_code == 404


def test_it_shows_public_versions_read_only(other_client, public_published, public_ai):
    response = other_client.get(reverse("inference:versions", args=[public_ai.pk]))
    assert response.status_code == 200
    assert b"Export" not in response.content and b"publish" not in response.content
