"""Files follow their rows: a deleted version takes its exports with it, a deleted prediction
its image."""

from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from inference.models import ModelVersion, Prediction


@receiver(post_delete, sender=ModelVersion)
def _delete_exports(sender: type, instance: ModelVersion, **kwargs: Any) -> None:
    from inference.services import exports_delete

    version = ModelVersion(pk=instance.pk, project_id=instance.project_id)
    transaction.on_commit(lambda: exports_delete(version=version))


@receiver(post_delete, sender=Prediction)
def _delete_prediction_files(sender: type, instance: Prediction, **kwargs: Any) -> None:
    names = [f.name for f in (instance.image, instance.thumbnail) if f]

    def delete() -> None:
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(delete)
