"""Per-user storage quotas: how many images and bytes one account's AIs may hold.

A StorageQuota is loaded once (one aggregate query) for a whole import or collection and
counted down as images are stored, so a 3,000-image import costs one query, not 3,000."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Sum
from django.template.defaultfilters import filesizeformat

from datasets.models import Image


class QuotaReached(Exception):
    """The owner's AIs hold as much as they may; .message is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def storage_usage(*, owner_id: int) -> tuple[int, int]:
    """(images, bytes) stored in all of this owner's AIs."""
    usage = Image.objects.filter(project__owner_id=owner_id).aggregate(
        n=Count("id"), size=Sum("stored_bytes")
    )
    return usage["n"] or 0, usage["size"] or 0


class StorageQuota:
    def __init__(self, owner_id: int) -> None:
        self.images, self.bytes = storage_usage(owner_id=owner_id)

    def check(self, size: int) -> None:
        """Raise QuotaReached if one more image of `size` bytes would pass a limit."""
        max_images, max_bytes = settings.AIMAKER_QUOTA_IMAGES, settings.AIMAKER_QUOTA_BYTES
        if self.images + 1 > max_images:
            raise QuotaReached(
                f"Storage limit reached: your AIs hold {self.images:,} images, the most this "
                "server allows per account. Delete some images to add new ones."
            )
        if self.bytes + size > max_bytes:
            raise QuotaReached(
                f"Storage limit reached: your AIs' images take {filesizeformat(self.bytes)} of "
                f"the {filesizeformat(max_bytes)} this server allows per account. Delete some "
                "images to add new ones."
            )

    def take(self, size: int) -> None:
        self.images += 1
        self.bytes += size
