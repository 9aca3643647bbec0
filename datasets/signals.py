"""Stored files follow their Image row: deleted once the deletion commits (never before, so a
rolled-back delete keeps its files). And what datasets tells the apps built on it."""

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import Signal, receiver

from datasets.models import Image
from projects.models import Job

# Sent by a collection job that added images, with `project=`, `label_ids=` and `user=`: the
# training app checks them for off-topic ones (datasets never imports training).
images_collected = Signal()


@receiver(post_delete, sender=Image, dispatch_uid="datasets_image_files_delete")
def image_files_delete(sender: type[Image], instance: Image, **kwargs: object) -> None:
    from datasets.services import storage_files_delete

    names = [f.name for f in (instance.original, instance.normalized, instance.thumbnail) if f]
    if names:
        transaction.on_commit(lambda: storage_files_delete(names))


@receiver(post_delete, sender=Job, dispatch_uid="datasets_export_file_delete")
def export_file_delete(sender: type[Job], instance: Job, **kwargs: object) -> None:
    """A dataset export's ZIP goes with its job row (e.g. when the project is deleted)."""
    name = (instance.result or {}).get("file") if instance.kind == Job.Kind.EXPORT else None
    if name:
        from datasets.services import storage_files_delete

        transaction.on_commit(lambda: storage_files_delete([name]))
