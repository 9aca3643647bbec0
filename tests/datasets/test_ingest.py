"""datasets.services.image_ingest: the one path every image takes into a project."""

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from datasets.models import Image
from datasets.services import PhashIndex, dataset_summary, image_ingest
from tests.conftest import S3_TESTS
from tests.datasets.imgutil import image_bytes

pytestmark = pytest.mark.django_db


def _ingest(project, label, data, **kw):
    return image_ingest(
        project=project, label=label, data=data, source=Image.Source.UPLOAD,
        added_by=project.owner, original_name=kw.pop("name", "a.jpg"), **kw,
    )  # fmt: skip


def test_it_adds_an_image_with_its_three_files(project):
    cat = project.labels.get(name="cat")
    outcome = _ingest(project, cat, image_bytes(1, "PNG"), name="kitty.png")
    assert outcome.status == "added" and outcome.name == "kitty.png"
    image = outcome.image
    assert image.label == cat and image.format == "PNG" and image.original_name == "kitty.png"
    assert image.original.name.endswith("/original.png")
    assert image.normalized.name.endswith("/normalized.jpg")
    for f in (image.original, image.normalized, image.thumbnail):
        assert default_storage.exists(f.name)
    assert image.original.name == image.path_for("original", "png")


@pytest.mark.skipif(S3_TESTS, reason="S3 overwrites a key in place (AWS_S3_FILE_OVERWRITE)")
def test_it_keeps_a_leftover_file_and_stores_the_image_beside_it(project):
    # A file left at the image's content-addressed name (say, by an interrupted delete) is
    # not overwritten: the storage picks another name and the row points to it.
    data = image_bytes(2, "PNG")
    probe = Image(project=project, sha256=hashlib.sha256(data).hexdigest())
    leftover = default_storage.save(probe.path_for("thumbnail", "jpg"), ContentFile(b"old"))
    image = _ingest(project, project.labels.get(name="cat"), data).image
    image.refresh_from_db()
    assert image.thumbnail.name != leftover and default_storage.exists(image.thumbnail.name)
    assert image.thumbnail.read()[:3] == b"\xff\xd8\xff"  # the new JPEG, not the leftover
    assert image.original.name == image.path_for("original", "png")
    assert default_storage.open(leftover).read() == b"old"


def test_it_skips_an_exact_duplicate_and_says_where_it_is(project):
    cat, dog = project.labels.all()
    data = image_bytes(2)
    assert _ingest(project, cat, data).status == "added"
    outcome = _ingest(project, dog, data, name="again.jpg")
    assert outcome.status == "duplicate"
    assert outcome.reason == "already in this project (as cat)"
    assert Image.objects.count() == 1


def test_it_catches_a_duplicate_that_races_past_the_check(project, monkeypatch):
    cat = project.labels.get(name="cat")
    data = image_bytes(3)
    first = _ingest(project, cat, data).image
    # Simulate the race: the pre-check sees nothing, the unique constraint catches it.

    real_filter = Image.objects.filter
    calls = {"n": 0}

    def first_check_misses(*args, **kwargs):
        calls["n"] += 1
        qs = real_filter(*args, **kwargs)
        return qs.none() if calls["n"] == 1 else qs

    monkeypatch.setattr(Image.objects, "filter", first_check_misses)
    with transaction.atomic():
        outcome = _ingest(project, cat, data, name="race.jpg")
    assert outcome.status == "duplicate" and outcome.image == first
    assert Image.objects.count() == 1
    assert default_storage.exists(first.thumbnail.name)  # the winner's files are untouched


def test_it_rejects_a_bad_file_with_a_reason(project):
    cat = project.labels.get(name="cat")
    outcome = _ingest(project, cat, b"hello, not an image", name="notes.txt")
    assert outcome.status == "rejected" and outcome.reason == "not an image"
    assert Image.objects.count() == 0


def test_it_flags_a_near_duplicate(project):
    cat = project.labels.get(name="cat")
    a = _ingest(project, cat, image_bytes(4, "PNG")).image
    # The same picture re-encoded: other bytes, same perceptual hash.
    b = _ingest(project, cat, image_bytes(4, "JPEG"), name="copy.jpg").image
    assert b.near_duplicate_of == a
    c = _ingest(project, cat, image_bytes(5), name="other.jpg").image
    assert c.near_duplicate_of is None


def test_it_keeps_provenance(project):
    cat = project.labels.get(name="cat")
    image = _ingest(
        project, cat, image_bytes(6), provenance={
            "source_url": "https://example.com/a.jpg", "creator": "Ann", "license": "by",
            "attribution": "“Cat” by Ann, CC BY", "provider": "openverse", "bogus": "x",
        },
    ).image  # fmt: skip
    image.refresh_from_db()
    assert image.creator == "Ann" and image.license == "by" and image.provider == "openverse"
    assert image.source_url == "https://example.com/a.jpg"


def test_it_deletes_files_when_the_row_goes(project, django_capture_on_commit_callbacks):
    cat = project.labels.get(name="cat")
    image = _ingest(project, cat, image_bytes(7)).image
    names = [image.original.name, image.thumbnail.name]
    with django_capture_on_commit_callbacks(execute=True):
        image.delete()
    assert not any(default_storage.exists(n) for n in names)


def test_it_refuses_a_label_of_another_project(project, public_project):
    from projects.models import Label

    bird = Label.objects.create(project=public_project, name="bird")
    with pytest.raises(ValueError):
        _ingest(project, bird, image_bytes(8))


def test_it_finds_near_duplicates_by_hamming_distance(project):
    index = PhashIndex(project)
    index.add(1, "ffffffffffffffff")
    assert index.find("fffffffffffffff0") == 1  # 4 bits apart
    assert index.find("ffffffffffffff00") is None  # 8 bits apart
    assert index.find("not-hex") is None


def test_it_summarises_readiness(project, settings):
    settings.AIMAKER_MIN_IMAGES_PER_LABEL = 2
    cat, dog = project.labels.all()
    for seed in range(2):
        _ingest(project, cat, image_bytes(20 + seed))
    _ingest(project, dog, image_bytes(30))
    summary = dataset_summary(project)
    assert summary["total"] == 3 and not summary["ready"]
    assert [(r["name"], r["count"], r["enough"]) for r in summary["labels"]] == [
        ("cat", 2, True), ("dog", 1, False),
    ]  # fmt: skip
    assert "“dog” has 1 image(s)" in summary["problems"][0]
    _ingest(project, dog, image_bytes(31))
    assert dataset_summary(project)["ready"]


def test_it_rejects_an_image_the_decoder_trips_over_instead_of_raising(project, monkeypatch):
    # An unexpected library error (not ImageRejected) must reject one file, like imports do,
    # not fail the upload request (HTTP 500) or a whole web collection.
    def broken(data, *, limits):
        raise OSError("broken data stream when reading image file")

    monkeypatch.setattr("datasets.services.ingest.process_image", broken)
    cat = project.labels.get(name="cat")
    outcome = _ingest(project, cat, image_bytes(1))
    assert outcome.status == "rejected" and outcome.reason == "could not be processed"
    assert Image.objects.count() == 0


def test_it_does_not_link_a_near_duplicate_to_an_image_deleted_during_the_import(project):
    # A long import or collection keeps one PhashIndex; the owner deletes images meanwhile.
    # Linking to a deleted row breaks the foreign key: the good image was lost as "could not
    # be saved".
    cat = project.labels.get(name="cat")
    index = PhashIndex(project)
    a = _ingest(project, cat, image_bytes(4, "PNG"), phash_index=index).image
    Image.objects.filter(pk=a.pk).delete()
    with transaction.atomic():  # a commit, where SQLite checks the (deferred) foreign keys
        b = _ingest(project, cat, image_bytes(4, "JPEG"), name="copy.jpg", phash_index=index)
        assert b.status == "added"
        assert b.image.near_duplicate_of_id is None
