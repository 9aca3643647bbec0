"""Stored files follow their Image row: deleted once the deletion commits (never before, so a
rolled-back delete keeps its files)."""

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from datasets.models import Image


@receiver(post_delete, sender=Image, dispatch_uid="datasets_image_files_delete")
def image_files_delete(sender: type[Image], instance: Image, **kwargs: object) -> None:
    from datasets.services import _delete_files

    names = [f.name for f in (instance.original, instance.normalized, instance.thumbnail) if f]
    if names:
        transaction.on_commit(lambda: _delete_files(names))
