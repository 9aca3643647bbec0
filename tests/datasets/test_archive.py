"""datasets.archive: ZIP uploads are read entry by entry with real-byte limits; hostile entries are
skipped with a reason, hostile archives refused, and good neighbours are never lost."""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile
from collections.abc import Callable

import pytest

from datasets.archive import (
    ArchiveEntry,
    ArchiveLimits,
    ArchiveRejected,
    SkippedEntry,
    iter_archive,
    scan_archive,
)
from tests.datasets import hostile


def entries(data: bytes, limits: ArchiveLimits = ArchiveLimits()) -> list:
    started = time.perf_counter()
    result = list(iter_archive(io.BytesIO(data), limits=limits))
    assert time.perf_counter() - started < 1.0
    return result


def reasons(items: list) -> dict[str, str]:
    return {e.name: e.reason for e in items if isinstance(e, SkippedEntry)}


def accepted(items: list) -> dict[str, str | None]:
    return {e.name: e.label for e in items if isinstance(e, ArchiveEntry)}


def refused(data: bytes, limits: ArchiveLimits = ArchiveLimits()) -> str:
    """Both the scan and the import must refuse it, quickly and without large allocations."""
    reasons_seen = set()
    for action in (scan_archive, lambda f, limits: list(iter_archive(f, limits=limits))):
        tracemalloc.start()
        started = time.perf_counter()
        try:
            with pytest.raises(ArchiveRejected) as exc:
                action(io.BytesIO(data), limits=limits)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert time.perf_counter() - started < 1.0
        assert peak < 50 * 1024 * 1024
        reasons_seen.add(exc.value.reason)
    assert len(reasons_seen) == 1
    return reasons_seen.pop()


# --------------------------------------------------------------------------- good archives


def test_it_plans_label_folders_and_loose_files() -> None:
    plan = scan_archive(io.BytesIO(hostile.good_zip()))
    assert plan.labels == {"cats": 2, "dogs": 1}
    assert (plan.loose_files, plan.image_count, plan.total_entries) == (1, 4, 5)
    assert plan.skipped == [] and plan.root_folder is None


def test_it_yields_image_bytes_with_their_labels() -> None:
    items = entries(hostile.good_zip())
    assert accepted(items) == {
        "cats/a.jpg": "cats",
        "cats/b.png": "cats",
        "dogs/c.JPEG": "dogs",
        "loose.webp": None,
    }
    source = zipfile.ZipFile(io.BytesIO(hostile.good_zip()))
    for item in items:
        assert item.data == source.read(item.name)


def test_it_looks_through_a_single_wrapping_folder() -> None:
    plan = scan_archive(io.BytesIO(hostile.wrapped_zip()))
    assert plan.root_folder == "photos"
    assert plan.labels == {"cats": 1, "dogs": 1} and plan.loose_files == 1
    assert {s.reason for s in plan.skipped} == {"macOS metadata (__MACOSX)", "hidden file"}
    assert accepted(entries(hostile.wrapped_zip())) == {
        "photos/cats/a.jpg": "cats",
        "photos/dogs/b.jpg": "dogs",
        "photos/extra.jpg": None,
    }


def test_it_keeps_a_lone_folder_of_images_as_the_label() -> None:
    data = hostile.build_zip([hostile.Member("cats/a.jpg", hostile.jpeg())] * 2)
    assert scan_archive(io.BytesIO(data)).labels == {"cats": 2}


def test_it_reads_archives_written_by_zipfile_including_zip64_and_prepended_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)  # forces the ZIP64 end records
    buf = io.BytesIO()
    buf.write(b"MZ self-extractor stub" * 10)
    with zipfile.ZipFile(buf, "a") as zf:
        zf.writestr("cats/a.jpg", hostile.jpeg())
        with zf.open("dogs/b.jpg", "w", force_zip64=True) as dest:
            dest.write(hostile.jpeg())
    assert b"PK\x06\x06" in buf.getvalue()
    items = entries(buf.getvalue())
    assert accepted(items) == {"cats/a.jpg": "cats", "dogs/b.jpg": "dogs"}


def test_it_decodes_legacy_and_decomposed_names() -> None:
    plan = scan_archive(io.BytesIO(hostile.odd_names_zip()))
    assert plan.skipped == []
    labels = set(plan.labels)
    assert {"café", "Café", "naïve", "spaced"} <= labels  # cp437, NFD->NFC, raw UTF-8, stripped
    assert "rtl\ufffdgpj.exe" in labels  # bidi override neutralized
    items = entries(hostile.odd_names_zip())
    assert "café/Ä.jpg" in accepted(items)


# --------------------------------------------------------------------------- refused entries


def test_it_skips_hostile_entries_with_the_right_reason() -> None:
    items = entries(hostile.hostile_names_zip())
    assert reasons(items) == {
        "../evil.jpg": "unsafe path (..)",
        "cats/../../evil.jpg": "unsafe path (..)",
        "/abs.jpg": "absolute path",
        "C:\\x.jpg": "absolute path",
        "\\\\server\\share\\x.jpg": "absolute path",
        "link.jpg": "symbolic link",
        "secret.jpg": "encrypted entry",
        "inner.zip": "nested archive",
        "archive.tar.gz": "nested archive",
        "__MACOSX/._a.jpg": "macOS metadata (__MACOSX)",
        ".hidden.jpg": "hidden file",
        "cats/.thumbs/x.jpg": "hidden file",
        "notes.txt": "not an image file",
        "bad\ufffd\ufffd.jpg": "name is not valid text",
        "bell\ufffd.jpg": "name is not valid text",
    }
    assert accepted(items) == {"cats/ok.jpg": "cats"}
    plan = scan_archive(io.BytesIO(hostile.hostile_names_zip()))
    assert {s.name: s.reason for s in plan.skipped} == reasons(items)
    assert plan.labels == {"cats": 1}


def test_it_skips_a_classic_zip_bomb_that_lies_about_its_size() -> None:
    data = hostile.classic_zip_bomb()  # 3 GB of zeros in ~3 MB, header says 1000 bytes
    tracemalloc.start()
    try:
        items = entries(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert reasons(items) == {"bomb.jpg": "suspicious compression ratio (ZIP bomb)"}
    assert peak < 50 * 1024 * 1024


def test_it_skips_entries_with_a_declared_bomb_ratio_without_inflating() -> None:
    plan = scan_archive(io.BytesIO(hostile.high_ratio_zip()))
    assert [(s.name, s.reason) for s in plan.skipped] == [
        ("flat.png", "suspicious compression ratio (ZIP bomb)")
    ]
    assert reasons(entries(hostile.high_ratio_zip())) == {
        "flat.png": "suspicious compression ratio (ZIP bomb)"
    }


def test_it_skips_entries_over_the_size_limit_declared_or_real() -> None:
    limits = ArchiveLimits(max_entry_bytes=4_000)
    big = hostile.jpeg((400, 300))
    assert len(big) > 4_000
    honest = hostile.build_zip([hostile.Member("a.jpg", big, method=0)])
    liar = hostile.build_zip([hostile.Member("a.jpg", big, method=0, file_size=3000)])
    deflated_liar = hostile.build_zip([hostile.Member("a.jpg", big, file_size=3000)])
    assert reasons(entries(honest, limits)) == {"a.jpg": "entry too large"}
    assert reasons(entries(liar, limits)) == {"a.jpg": "corrupt entry"}  # stored: sizes disagree
    # Inflated bytes are counted for real: the lie does not get it past the limit.
    assert reasons(entries(deflated_liar, limits)) == {"a.jpg": "entry too large"}


def test_it_never_loses_good_images_because_of_bad_neighbours() -> None:
    items = entries(hostile.mixed_zip())
    assert accepted(items) == {
        "cats/1.jpg": "cats",
        "cats/2.jpg": "cats",
        "dogs/3.png": "dogs",
        "dogs/4.gif": "dogs",
    }
    assert reasons(items) == {
        "cats/bomb.jpg": "suspicious compression ratio (ZIP bomb)",
        "cats/bad_crc.jpg": "corrupt entry",
        "cats/zipped.jpg": "nested archive",
        "cats/link.jpg": "symbolic link",
        "dogs/truncated.jpg": "corrupt entry",
    }


# --------------------------------------------------------------------------- refused archives


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (hostile.overlapping_zip, "overlapping entries (ZIP bomb)"),
        (hostile.nested_overlap_zip, "overlapping entries (ZIP bomb)"),
        (hostile.data_into_central_directory_zip, "overlapping entries (ZIP bomb)"),
        (hostile.jpeg, "not a ZIP archive"),
        (hostile.empty_file, "not a ZIP archive"),
        (lambda: hostile.good_zip()[:-30], "not a ZIP archive"),  # end record cut off
        (lambda: hostile.good_zip()[200:], "corrupt ZIP archive (bad central directory location)"),
    ],
)
def test_it_refuses_hostile_archives(build: Callable[[], bytes], reason: str) -> None:
    assert refused(build()) == reason


def test_it_refuses_too_many_entries_even_when_the_count_field_lies() -> None:
    limits = ArchiveLimits(max_entries=10)
    assert refused(hostile.many_entries_zip(11), limits) == "too many entries (11, limit 10)"
    lying = hostile.many_entries_zip(50, declared_count=1)
    assert refused(lying, limits) == "too many entries (11, limit 10)"
    assert refused(hostile.many_entries_zip(20_001)) == "too many entries (20001, limit 20000)"


def test_it_refuses_an_archive_where_everything_is_encrypted() -> None:
    data = hostile.build_zip([hostile.Member("a.jpg", hostile.jpeg(), flags=1)] * 2)
    assert refused(data) == "encrypted archive (password-protected ZIPs are not supported)"


def test_it_refuses_archives_over_the_total_size_limit() -> None:
    limits = ArchiveLimits(max_total_uncompressed=20_000)
    members = [hostile.Member(f"c/{i}.jpg", hostile.jpeg((300, 300))) for i in range(10)]
    data = hostile.build_zip(members)
    assert refused(data, limits).startswith("total uncompressed size over limit")
    # Declared sizes may lie low: the real bytes read are what counts.
    for m in members:
        m.file_size = 10
    liar = hostile.build_zip(members)
    scan_archive(io.BytesIO(liar), limits=limits)  # headers look fine...
    with pytest.raises(ArchiveRejected):  # ...but reading stops at the real limit
        list(iter_archive(io.BytesIO(liar), limits=limits))


def test_it_refuses_an_archive_of_many_small_bombs() -> None:
    # Each entry stays under the per-entry ratio grace; the overall ratio catches them.
    bomb = hostile.deflate_zeros(900 * 1024)
    members = [
        hostile.Member(f"c/{i}.jpg", compressed=bomb, file_size=900 * 1024, crc=0)
        for i in range(40)
    ]
    items_before = []
    with pytest.raises(ArchiveRejected) as exc:
        for item in iter_archive(io.BytesIO(hostile.build_zip(members))):
            items_before.append(item)
    assert exc.value.reason == "suspicious compression ratio (ZIP bomb)"
    assert len(items_before) < 40
