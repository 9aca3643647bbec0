"""The off-topic check after a collection: the collected images unlike their label's others
are flagged for the owner, who keeps or removes them."""

import pytest
from django.urls import reverse

from datasets.models import Image
from datasets.services import image_ingest
from datasets.signals import images_collected
from projects.models import Job
from tests.training.conftest import jpeg_bytes
from training.jobs import offtopic_check

pytestmark = pytest.mark.django_db(transaction=True)


def collect(project, label, colour, count, seed):
    for i in range(count):
        outcome = image_ingest(
            project=project, label=label, data=jpeg_bytes(colour, seed + i), source="collected",
            added_by=project.owner, original_name=f"web-{seed + i}.jpg",
        )  # fmt: skip
        assert outcome.status == "added"


def test_it_flags_the_collected_images_unlike_their_label_and_the_owner_decides(
    project, owner, owner_client, settings
):
    settings.AIMAKER_OFFTOPIC_CHECK = True
    cat = project.labels.get(name="cat")
    collect(project, cat, (220, 30, 30), 20, seed=0)  # red, as the label's photos are
    collect(project, cat, (30, 50, 220), 2, seed=500)  # two blue ones slipped in
    images_collected.send(sender=Image, project=project, label_ids=[cat.pk], user=owner)
    job = Job.objects.get(kind="offtopic")
    offtopic_check(job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error
    assert job.result == {"checked": 22, "flagged": 2}
    flagged = Image.objects.filter(offtopic=True)
    assert sorted(flagged.values_list("original_name", flat=True)) == ["web-500.jpg", "web-501.jpg"]
    panel = owner_client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert "2 collected images look off-topic" in panel

    keep = flagged.first()
    owner_client.post(
        reverse("datasets:images_action", args=[project.pk]), {"action": "keep", "ids": [keep.pk]}
    )
    keep.refresh_from_db()
    assert (keep.offtopic, keep.offtopic_kept) == (False, True)
    # A later check scores it again but never flags a kept image.
    offtopic_check(Job.objects.create(project=project, kind="offtopic", title="again",
                                      params={"label_ids": [cat.pk]}).pk)  # fmt: skip
    keep.refresh_from_db()
    assert not keep.offtopic and keep.offtopic_score is not None
    assert Image.objects.filter(offtopic=True).count() == 1


def test_it_is_off_when_the_setting_says_so(project, owner, settings):
    settings.AIMAKER_OFFTOPIC_CHECK = False
    images_collected.send(sender=Image, project=project, label_ids=[1], user=owner)
    assert not Job.objects.filter(kind="offtopic").exists()
