"""The run page: live state + curves for everyone who may see the project, the evaluation of a
succeeded run with links to the misclassified images, 404 for others."""

import pytest
from django.urls import reverse

from datasets.models import Image
from tests.training.conftest import make_run
from training.models import EpochMetric

pytestmark = pytest.mark.django_db


def url(run):
    return reverse("training:run", kwargs={"pk": run.project_id, "number": run.number})


def succeeded_run(project):
    images = list(Image.objects.filter(project=project).order_by("pk"))
    labels = list(project.labels.order_by("pk"))
    run = make_run(
        project,
        snapshot=[[im.pk, [lb.pk for lb in labels].index(im.label_id)] for im in images],
        best_val_accuracy=0.75,
        metrics={
            "val_accuracy": 0.75, "val_loss": 0.5, "val_count": 4, "train_count": 4,
            "macro_f1": 0.7, "confusion_matrix": [[2, 0], [1, 1]],
            "per_label": [
                {"label": "cat", "precision": 0.67, "recall": 1.0, "f1": 0.8, "support": 2},
                {"label": "dog", "precision": 1.0, "recall": 0.5, "f1": 0.67, "support": 2},
            ],
            "misclassified": [{"index": 5, "true": 1, "predicted": 0, "confidence": 0.81}],
            "doubts": [{"index": 5, "given": 1, "suggested": 0, "confidence": 0.9,
                        "p_given": 0.1, "margin": 0.8}],
            "doubts_info": {"method": "confident_learning"},
            "unknown": {"method": "knn_cosine", "threshold": 0.2, "held_out": {
                "auroc": 0.91, "rejected": 0.62, "per_label": [
                    {"label": "cat", "auroc": 0.9, "rejected": 0.5},
                    {"label": "dog", "auroc": 0.92, "rejected": 0.74}]}},
            "calibration": {"temperature": 1.8, "ece_before": 0.12, "ece_after": 0.03},
            "image_ids": [im.pk for im in images],
        },
    )  # fmt: skip
    for epoch in (1, 2):
        EpochMetric.objects.create(
            run=run, epoch=epoch, loss=1 / epoch, accuracy=0.5, val_loss=1, val_accuracy=0.5
        )
    return run, images


def test_it_shows_the_evaluation_of_a_succeeded_run(owner_client, ready_project):
    run, images = succeeded_run(ready_project)
    response = owner_client.get(url(run))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="confusion-matrix"' in body and 'id="per-label"' in body
    assert ">75.0%</div>" in body  # validation accuracy, as a percent like every page
    wrong = images[5]
    detail = reverse("datasets:image_detail", kwargs={"pk": ready_project.pk, "image_pk": wrong.pk})
    assert detail in body and "predicted cat (81.0%)" in body
    assert reverse("training:doubts", kwargs={"pk": ready_project.pk, "number": 1}) in body
    assert "Check these labels: 1 training image looks mislabelled" in body
    assert "AUROC of <strong>0.91</strong>" in body and "dog 74.0%" in body
    assert "temperature 1.80" in body and "12.0% → 3.0%" in body
    assert '"val_loss": 1' in body or '"val_loss": 1.0' in body  # curves embedded for Chart.js
    assert 'id="cancel-run"' in body  # hidden (d-none) for a finished run, shown live


def test_it_names_parameters_and_phases_for_people_and_keeps_the_keys_aside(owner_client, project):
    from training.ml.types import TrainParams

    params = {**TrainParams().to_dict(), "learning_rate": 0.01, "backbone": "mobilenet_v2"}
    timings = {"preparing": 1.93, "extracting": 4.812, "training": 3.29, "evaluating": 0.61,
               "saving": 0.25, "total": 10.9, "fetching": 0.12, "job_total": 75.2}  # fmt: skip
    run = make_run(project, params=params, timings=timings, code_version="560e985")
    body = owner_client.get(url(run)).content.decode()
    settings_part = body[body.index('id="run-params"') : body.index('id="technical-details"')]
    for words in ("Learning rate</th><td>0.01<", "Validation images</th><td>10%<",
                  "Mirrored images</th><td>Yes<", "Batch size</th><td>32 images<",
                  "Pretrained network</th><td>MobileNetV2 1.0 ImageNet<",
                  "Feature extraction</th><td>4.8 s<", "Total</th><td>1 min 15 s<"):  # fmt: skip
        assert words in settings_part, words
    # No internal keys up front, and no fine-tune settings for a quick run.
    for key in ("learning_rate", "job_total", "(s)", "560e985", "Fine-tune learning rate"):
        assert key not in settings_part, key
    technical = body[body.index('id="technical-details"') :]
    assert "finetune_learning_rate" in technical and "job_total (s)" in technical
    assert "560e985" in technical


def test_it_shows_a_failed_runs_error_and_retry(owner_client, project):
    run = make_run(project, status="failed", error="The training worker stopped")
    body = owner_client.get(url(run)).content.decode()
    assert "The training worker stopped" in body and 'id="retry-run"' in body


def test_it_is_404_for_other_users(other_client, client, project):
    run = make_run(project)
    assert other_client.get(url(run)).status_code == 404
    assert client.get(url(run)).status_code == 404
    missing = reverse("training:run", kwargs={"pk": project.pk, "number": 99})
    assert other_client.get(missing).status_code == 404


def test_it_lets_others_read_a_public_projects_run_without_controls(other_client, public_project):
    run = make_run(public_project, status="failed", error="Training failed: /srv/secret.jpg")
    response = other_client.get(url(run))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="retry-run"' not in body and 'id="cancel-run"' not in body
    assert "Failed." in body and "secret.jpg" not in body  # visitors never see error texts
    history = other_client.get(reverse("training:history", kwargs={"pk": public_project.pk}))
    assert history.status_code == 200 and "secret.jpg" not in history.content.decode()
