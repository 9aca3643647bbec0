"""Every succeeded run yields a model version, made once by the worker that ran it; files follow
their rows: a deleted version takes its exports with it, a deleted prediction its image."""

from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from inference.models import ModelVersion, Prediction
from inference.services import (
    exports_delete,
    model_version_create_for_run,
    model_version_prepare_serving,
)
from training.models import TrainingRun
from training.signals import run_announced, run_succeeded


@receiver(run_succeeded, sender=TrainingRun)
def _create_version(sender: type, run: TrainingRun, **kwargs: Any) -> None:
    model_version_create_for_run(run=run)


@receiver(run_announced, sender=TrainingRun)
def _prepare_serving(sender: type, run: TrainingRun, **kwargs: Any) -> None:
    # Its ONNX form now, in the worker, not on the first visitor's prediction.
    version = ModelVersion.objects.filter(run=run).first()
    if version is not None:
        model_version_prepare_serving(version=version)


@receiver(post_delete, sender=ModelVersion)
def _delete_exports(sender: type, instance: ModelVersion, **kwargs: Any) -> None:
    version = ModelVersion(pk=instance.pk, project_id=instance.project_id)
    transaction.on_commit(lambda: exports_delete(version=version))


@receiver(post_delete, sender=Prediction)
def _delete_prediction_files(sender: type, instance: Prediction, **kwargs: Any) -> None:
    names = [f.name for f in (instance.image, instance.thumbnail) if f]

    def delete() -> None:
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(delete)
