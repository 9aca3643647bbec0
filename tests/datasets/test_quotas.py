"""Storage quotas per account: images and bytes across all of a user's AIs, clear messages,
nothing already stored lost, other users unaffected."""

import pytest

from datasets.models import Image
from datasets.quotas import QuotaReached
from datasets.services import dataset_import_archive, image_ingest
from projects.models import Label, Project
from tests.datasets import hostile
from tests.datasets.imgutil import data_dir, image_bytes  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]


def ingest(project, n, seed=0):
    label = project.labels.first()
    return [
        image_ingest(
            project=project,
            label=label,
            data=image_bytes(seed=seed * 100 + i),
            source="upload",
            added_by=project.owner,
            original_name=f"{i}.png",
        )  # fmt: skip
        for i in range(n)
    ]


def test_it_refuses_images_past_the_accounts_limit_across_its_ais(project, owner, settings):
    settings.AIMAKER_QUOTA_IMAGES = 3
    second = Project.objects.create(owner=owner, name="Second")
    Label.objects.create(project=second, name="x")
    assert [o.status for o in ingest(project, 2)] == ["added", "added"]
    third, fourth = ingest(second, 2, seed=1)
    assert third.status == "added"
    assert fourth.status == "rejected" and fourth.quota_reached
    assert "Storage limit reached: your AIs hold 3 images" in fourth.reason
    assert Image.objects.count() == 3


def test_it_counts_bytes_too(project, settings):
    added = ingest(project, 1)[0].image
    assert added.stored_bytes > 0
    settings.AIMAKER_QUOTA_BYTES = added.stored_bytes + 10
    refused = ingest(project, 1, seed=2)[0]
    assert refused.status == "rejected" and "Storage limit reached" in refused.reason


def test_other_users_are_not_counted(project, other, settings):
    settings.AIMAKER_QUOTA_IMAGES = 2
    ingest(project, 2)
    theirs = Project.objects.create(owner=other, name="Theirs")
    Label.objects.create(project=theirs, name="y")
    assert ingest(theirs, 1, seed=3)[0].status == "added"


def test_an_import_stops_at_the_limit_and_keeps_what_it_stored(project, settings, tmp_path):
    settings.AIMAKER_QUOTA_IMAGES = 2
    archive = tmp_path / "photos.zip"
    archive.write_bytes(hostile.good_zip())  # four images in two folders
    with pytest.raises(QuotaReached, match="Storage limit reached"):
        dataset_import_archive(
            project=project, archive_path=str(archive), label_map={}, user=project.owner,
            loose_label=project.labels.first(), create_labels=["cats", "dogs"],
        )  # fmt: skip
    assert Image.objects.filter(project=project).count() == 2
