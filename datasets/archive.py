"""Read uploaded ZIP archives of label folders safely (Django-free; limits are passed in).

We parse the ZIP structure ourselves (end record, central directory, local headers) and inflate
with zlib, instead of using `zipfile`, because we need guarantees it does not give on 3.11:
  * entry counts are enforced while walking the central directory, before any per-entry objects
    are built (zipfile ignores the count field and materializes every record);
  * overlapping entries (David Fifield's "better zip bomb") and entries whose data runs into the
    central directory reject the archive (zipfile only checks this from 3.12 on);
  * an undecodable name skips one entry instead of failing the whole archive;
  * sizes are counted from the real inflated bytes, in bounded steps, never trusting headers.
Nothing is ever written to disk: each entry is read into memory, and names are display strings
only, never filesystem paths.

Supported: stored and deflated entries, ZIP64 end records/sizes, prepended data (self-extractors).
Not supported (entry skipped with a reason): other compression methods (bzip2, LZMA, deflate64),
encryption; split/multi-disk archives are refused.

Labels: the first path component (`cats/a.jpg` -> "cats"; `a.jpg` -> loose, label None). When all
image entries share one top-level folder and at least one sits in a subfolder of it (the user
zipped the dataset folder itself: `photos/cats/a.jpg`), that folder is ignored and the second
level becomes the label (`photos/cats/a.jpg` -> "cats", `photos/b.jpg` -> loose). A lone folder of
images (`cats/a.jpg`, `cats/b.jpg`) keeps "cats" as its label.
"""

from __future__ import annotations

import re
import stat
import struct
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import BinaryIO

__all__ = [
    "ArchiveEntry",
    "ArchiveLimits",
    "ArchivePlan",
    "ArchiveRejected",
    "SkippedEntry",
    "iter_archive",
    "read_tables",
    "scan_archive",
]

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif"})
ARCHIVE_EXTENSIONS = frozenset(
    {".zip", ".tar", ".gz", ".tgz", ".7z", ".rar", ".bz2", ".tbz2", ".xz", ".txz", ".zst", ".lz"}
    | {".lzma", ".z", ".cab", ".jar", ".apk", ".iso", ".dmg", ".zipx"}
)


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int = 20_000
    max_total_uncompressed: int = 2 * 1024**3  # counted from real bytes read, not headers
    max_entry_bytes: int = 20 * 1024 * 1024
    max_ratio: float = 200.0  # uncompressed/compressed, per entry and overall


@dataclass
class ArchiveEntry:
    """An image candidate; its bytes still have to go through datasets.imaging.process_image."""

    name: str  # display-safe entry name; never use it as a filesystem path
    label: str | None  # label folder (NFC, stripped), None for a loose file
    data: bytes
    key: str = ""  # the path below the dataset root ("cats/a.jpg"), as tables name it


@dataclass
class SkippedEntry:
    name: str  # display-safe
    reason: str


@dataclass
class ArchivePlan:
    """What an import would do, computed from the central directory without inflating."""

    labels: dict[str, int]  # label -> number of image entries, sorted by label
    loose_files: int  # image entries outside any label folder
    skipped: list[SkippedEntry]  # refused entries (directories are not listed)
    total_entries: int  # central-directory records, directories included
    declared_bytes: int  # sum of the declared sizes of the image entries (headers: a hint only)
    root_folder: str | None  # the single wrapping folder that was looked through, if any
    tables: list[str] = field(default_factory=list)  # CSV files beside the label folders
    loose_keys: list[str] = field(default_factory=list)  # the loose files' paths, as tables say
    image_keys: list[str] = field(default_factory=list)  # the other image files' paths

    @property
    def image_count(self) -> int:
        return sum(self.labels.values()) + self.loose_files


class ArchiveRejected(Exception):
    """The whole archive is refused; .reason is short and safe to show to the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Skip reasons (stable strings: tests and the UI may rely on them).
MACOS_METADATA = "macOS metadata (__MACOSX)"
HIDDEN = "hidden file"
NOT_IMAGE = "not an image file"
NESTED = "nested archive"
SYMLINK = "symbolic link"
UNSAFE_PATH = "unsafe path (..)"
ABSOLUTE = "absolute path"
ENCRYPTED = "encrypted entry"
TOO_LARGE = "entry too large"
RATIO = "suspicious compression ratio (ZIP bomb)"
BAD_NAME = "name is not valid text"
NAME_TOO_LONG = "name too long"
CORRUPT_ENTRY = "corrupt entry"
OVERLAP = "overlapping entries (ZIP bomb)"

_DIRECTORY = "directory"  # internal: directory entries are dropped silently
_TABLE = "table"  # internal: a CSV beside the label folders (attribution, image lists)
_SILENT = (_DIRECTORY, _TABLE)
TABLE_MAX_BYTES = 64 * 1024 * 1024  # attribution.csv of 20,000 web images: ~15 MB

_EOCD = b"PK\x05\x06"
_EOCD64 = b"PK\x06\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_CENTRAL = b"PK\x01\x02"
_LOCAL = b"PK\x03\x04"
_STORED, _DEFLATED = 0, 8
_MAX_NAME_BYTES = 1024  # longer names are refused; bounds memory at 20k entries
_RATIO_GRACE = 1024 * 1024  # tiny odd files may compress well; bombs need far more output
_TOTAL_RATIO_GRACE = 8 * 1024 * 1024
_READ_CHUNK = 64 * 1024
_INFLATE_CHUNK = 256 * 1024  # bounded output per zlib call: a bomb can't balloon in one step
_NESTED_MAGIC = (
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"PK\x07\x08",
    b"\x1f\x8b",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"BZh",
    b"\xfd7zXZ\x00",
    b"\x28\xb5\x2f\xfd",
)
_SEPARATORS = re.compile(r"[/\\]")  # Windows tools sometimes write backslashes
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass
class _Record:
    raw_name: bytes
    name: str  # display-safe
    parts: tuple[str, ...]
    flags: int
    method: int
    crc: int
    csize: int
    usize: int
    offset: int  # of the local header, in file coordinates
    external_attr: int
    is_dir: bool = False
    data_start: int = -1
    skip: str | None = None
    label: str | None = None
    key: str = ""


@dataclass
class _Directory:
    records: list[_Record] = field(default_factory=list)
    root: str | None = None


# --------------------------------------------------------------------------- names


def _display_safe(text: str, limit: int = 255) -> str:
    """NFC, with control/format characters (incl. bidi overrides) replaced, length-capped."""
    text = unicodedata.normalize("NFC", text)
    text = "".join("\ufffd" if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _unicode_path_extra(extra: bytes, raw_name: bytes) -> str | None:
    """Info-ZIP Unicode Path field (0x7075): a UTF-8 name for tools that don't set bit 11."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + size]
        if tag == 0x7075 and len(body) >= 5 and body[0] == 1:
            if struct.unpack_from("<I", body, 1)[0] == zlib.crc32(raw_name):
                try:
                    return body[5:].decode("utf-8")
                except UnicodeDecodeError:
                    return None
        pos += 4 + size
    return None


def _decode_name(raw: bytes, flags: int, extra: bytes) -> str | None:
    if flags & 0x800:  # bit 11: the name is UTF-8
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    else:
        name = _unicode_path_extra(extra, raw)
        if name is None:
            try:  # many tools write UTF-8 without setting bit 11; cp437 is the spec default
                name = raw.decode("utf-8")
            except UnicodeDecodeError:
                name = raw.decode("cp437")
    if any(unicodedata.category(ch) == "Cc" for ch in name):  # NUL, newlines, escapes...
        return None
    return name


def _zip64_values(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        if tag == 0x0001:
            body, i = extra[pos + 4 : pos + 4 + size], 0
            values = []
            for value in (usize, csize, offset):  # present only where the 32-bit field is full
                if value == 0xFFFFFFFF and i + 8 <= len(body):
                    value = struct.unpack_from("<Q", body, i)[0]
                    i += 8
                values.append(value)
            return values[0], values[1], values[2]
        pos += 4 + size
    return usize, csize, offset


# --------------------------------------------------------------------------- structure


def _corrupt(detail: str) -> ArchiveRejected:
    return ArchiveRejected(f"corrupt ZIP archive ({detail})")


def _too_many(count: int, limits: ArchiveLimits) -> ArchiveRejected:
    return ArchiveRejected(f"too many entries ({count}, limit {limits.max_entries})")


def _read_exact(fp: BinaryIO, offset: int, size: int) -> bytes:
    fp.seek(offset)
    data = fp.read(size)
    if len(data) != size:
        raise _corrupt("unexpected end of file")
    return data


def _find_central_directory(fp: BinaryIO, limits: ArchiveLimits) -> tuple[int, int, int]:
    """Return (start, size, offset_shift) of the central directory."""
    file_size = fp.seek(0, 2)
    tail_len = min(file_size, 22 + 0xFFFF)  # the end record sits within the last 64 KiB
    tail = _read_exact(fp, file_size - tail_len, tail_len)
    i = tail.rfind(_EOCD)
    while i >= 0 and i + 22 > len(tail):
        i = tail.rfind(_EOCD, 0, i)
    if i < 0:
        raise ArchiveRejected("not a ZIP archive")
    eocd_pos = file_size - tail_len + i
    disk, cd_disk, _n_disk, count, cd_size, cd_offset = struct.unpack_from("<4x4H2I", tail, i)
    cd_end = eocd_pos

    locator_pos = eocd_pos - 20
    if locator_pos >= 56 and _read_exact(fp, locator_pos, 4) == _EOCD64_LOCATOR:
        # ZIP64: the real values live in the zip64 end record just before the locator.
        rec = _read_exact(fp, locator_pos - 56, 56)
        if rec[:4] != _EOCD64:
            raise _corrupt("bad ZIP64 end record")
        disk, cd_disk, _n_disk, count, cd_size, cd_offset = struct.unpack_from("<16x2I4Q", rec)
        cd_end = locator_pos - 56
    if disk != 0 or cd_disk != 0:
        raise ArchiveRejected("split (multi-part) ZIP archives are not supported")
    if count > limits.max_entries:
        raise _too_many(count, limits)
    cd_start = cd_end - cd_size
    shift = cd_start - cd_offset  # non-zero when data was prepended (e.g. self-extractors)
    if cd_start < 0 or shift < 0:
        raise _corrupt("bad central directory location")
    return cd_start, cd_size, shift


def _read_central_directory(
    fp: BinaryIO, cd_start: int, cd_size: int, shift: int, limits: ArchiveLimits
) -> list[_Record]:
    fp.seek(cd_start)
    records: list[_Record] = []
    consumed = 0
    while consumed < cd_size:
        # Count while walking: the end record's count may lie, and cd_size alone
        # allows hundreds of thousands of minimal records.
        if len(records) >= limits.max_entries:
            raise _too_many(len(records) + 1, limits)
        fixed = fp.read(46)
        if len(fixed) != 46 or fixed[:4] != _CENTRAL:
            raise _corrupt("bad central directory")
        (flags, method, crc, csize, usize, n_name, n_extra, n_comment) = struct.unpack_from(
            "<8x2H4x3I3H", fixed
        )
        external_attr, offset = struct.unpack_from("<2I", fixed, 38)
        var = fp.read(n_name + n_extra + n_comment)
        if len(var) != n_name + n_extra + n_comment:
            raise _corrupt("bad central directory")
        consumed += 46 + len(var)
        raw, extra = var[:n_name], var[n_name : n_name + n_extra]
        usize, csize, offset = _zip64_values(extra, usize, csize, offset)
        record = _Record(
            raw_name=raw[:_MAX_NAME_BYTES],
            name="",
            parts=(),
            flags=flags,
            method=method,
            crc=crc,
            csize=csize,
            usize=usize,
            offset=offset + shift,
            external_attr=external_attr,
        )
        _classify_name(record, raw, extra)
        records.append(record)
    if consumed != cd_size:
        raise _corrupt("bad central directory")
    return records


def _check_local_headers(fp: BinaryIO, records: list[_Record], cd_start: int) -> None:
    """Locate each entry's data and refuse overlapping spans (Fifield) or data in the CD."""
    spans: list[tuple[int, int]] = []
    for rec in records:
        fp.seek(rec.offset)
        header = fp.read(30)
        if len(header) != 30 or header[:4] != _LOCAL:
            rec.skip = rec.skip or CORRUPT_ENTRY
            spans.append((rec.offset, rec.offset + 30))
            continue
        n_name, n_extra = struct.unpack_from("<2H", header, 26)
        # A different local name is how "zip confusion" tricks show one name and extract another.
        if rec.skip != NAME_TOO_LONG and fp.read(n_name) != rec.raw_name:
            rec.skip = rec.skip or CORRUPT_ENTRY
        rec.data_start = rec.offset + 30 + n_name + n_extra
        spans.append((rec.offset, rec.data_start + rec.csize))
    spans.sort()
    for (_, prev_end), (start, _) in zip(spans, spans[1:], strict=False):
        if start < prev_end:
            raise ArchiveRejected(OVERLAP)
    if spans and max(end for _, end in spans) > cd_start:
        raise ArchiveRejected(OVERLAP)


# --------------------------------------------------------------------------- classification


def _classify_name(rec: _Record, raw: bytes, extra: bytes) -> None:
    """Set name, parts, is_dir and, for refused entries, skip. Needs no entry data."""
    decoded = _decode_name(raw, rec.flags, extra) if len(raw) <= _MAX_NAME_BYTES else None
    if decoded is None:
        rec.name = _display_safe(raw[:_MAX_NAME_BYTES].decode("utf-8", "replace"))
        rec.skip = NAME_TOO_LONG if len(raw) > _MAX_NAME_BYTES else BAD_NAME
        return
    decoded = unicodedata.normalize("NFC", decoded)  # macOS writes NFD names
    rec.name = _display_safe(decoded)
    rec.parts = tuple(p for p in _SEPARATORS.split(decoded) if p not in ("", "."))
    rec.is_dir = decoded.endswith(("/", "\\")) or not rec.parts
    mode = rec.external_attr >> 16
    last = rec.parts[-1] if rec.parts else ""
    suffix = "." + last.rsplit(".", 1)[1].lower() if "." in last else ""
    if decoded.startswith(("/", "\\")) or _DRIVE.match(decoded):
        rec.skip = ABSOLUTE
    elif ".." in rec.parts:
        rec.skip = UNSAFE_PATH
    elif rec.is_dir:
        rec.skip = _DIRECTORY
    elif rec.parts[0] == "__MACOSX":
        rec.skip = MACOS_METADATA
    elif any(p.startswith(".") for p in rec.parts):
        rec.skip = HIDDEN
    elif stat.S_ISLNK(mode):
        rec.skip = SYMLINK
    elif rec.flags & 0x41 or rec.method == 99:  # traditional / strong / AES encryption
        rec.skip = ENCRYPTED
    elif suffix in ARCHIVE_EXTENSIONS:
        rec.skip = NESTED
    elif suffix not in IMAGE_EXTENSIONS:
        rec.skip = NOT_IMAGE


def _check_declared(rec: _Record, limits: ArchiveLimits) -> str | None:
    """Header-based checks; the real bytes are checked again while inflating."""
    if rec.method not in (_STORED, _DEFLATED):
        return f"unsupported compression method ({rec.method})"
    if rec.usize > limits.max_entry_bytes:
        return TOO_LARGE
    if rec.method == _STORED and rec.csize != rec.usize:
        return CORRUPT_ENTRY
    if rec.usize > _RATIO_GRACE and rec.usize > limits.max_ratio * max(rec.csize, 1):
        return RATIO
    return None


def _label_of(parts: tuple[str, ...]) -> str | None:
    if len(parts) < 2:
        return None
    label = _display_safe(parts[0].strip())
    return label or None


def _load(fileobj: BinaryIO, limits: ArchiveLimits) -> _Directory:
    if not fileobj.seekable():
        raise ValueError("ZIP archives need a seekable file object")
    cd_start, cd_size, shift = _find_central_directory(fileobj, limits)
    records = _read_central_directory(fileobj, cd_start, cd_size, shift, limits)
    _check_local_headers(fileobj, records, cd_start)

    files = [r for r in records if not r.is_dir]
    if files and all(r.flags & 0x41 or r.method == 99 for r in files):
        raise ArchiveRejected("encrypted archive (password-protected ZIPs are not supported)")
    for rec in files:
        rec.skip = rec.skip or _check_declared(rec, limits)

    images = [r for r in files if r.skip is None]
    declared = sum(r.usize for r in images)  # honest big archives fail before any inflating
    if declared > limits.max_total_uncompressed:
        raise _total_too_large(declared, limits)
    directory = _Directory(records=records)
    tops = {r.parts[0] for r in images}
    if len(tops) == 1 and all(len(r.parts) >= 2 for r in images):
        if any(len(r.parts) >= 3 for r in images):
            directory.root = _display_safe(next(iter(tops)))
    for rec in images:
        parts = rec.parts[1:] if directory.root is not None else rec.parts
        rec.label = _label_of(parts)
        rec.key = "/".join(parts)
    for rec in files:
        # A CSV at the dataset's top (beside the label folders) is a table, not noise.
        if rec.skip == NOT_IMAGE and rec.parts[-1].lower().endswith(".csv"):
            top = rec.parts[:1] == (directory.root,) if directory.root is not None else True
            if len(rec.parts) == (2 if directory.root is not None else 1) and top:
                rec.skip = _check_declared(rec, _table_limits(limits)) or _TABLE
                if rec.skip == TOO_LARGE:
                    rec.skip = f"table too large (limit {TABLE_MAX_BYTES // 2**20} MB)"
    return directory


# --------------------------------------------------------------------------- public API


def scan_archive(fileobj: BinaryIO, *, limits: ArchiveLimits = ArchiveLimits()) -> ArchivePlan:
    """Validate the structure and list labels without inflating anything.

    Raises ArchiveRejected for whole-archive problems. The file position is left undefined.
    """
    directory = _load(fileobj, limits)
    labels: dict[str, int] = {}
    loose = declared = 0
    skipped: list[SkippedEntry] = []
    tables: list[str] = []
    loose_keys: list[str] = []
    image_keys: list[str] = []
    for rec in directory.records:
        if rec.skip == _TABLE:
            tables.append(rec.name)
        if rec.skip in _SILENT:  # no data, or read separately: nothing to tell the user
            continue
        if rec.skip is not None:
            skipped.append(SkippedEntry(rec.name, rec.skip))
            continue
        declared += rec.usize
        if rec.label is None:
            loose += 1
            loose_keys.append(rec.key)
        else:
            labels[rec.label] = labels.get(rec.label, 0) + 1
            image_keys.append(rec.key)
    return ArchivePlan(
        labels=dict(sorted(labels.items())),
        loose_files=loose,
        skipped=skipped,
        total_entries=len(directory.records),
        declared_bytes=declared,
        root_folder=directory.root,
        tables=tables,
        loose_keys=loose_keys,
        image_keys=image_keys,
    )


def iter_archive(
    fileobj: BinaryIO, *, limits: ArchiveLimits = ArchiveLimits()
) -> Iterator[ArchiveEntry | SkippedEntry]:
    """Yield every image entry's bytes, or a SkippedEntry, in central-directory order.

    A bad entry never stops the others; ArchiveRejected is raised (possibly mid-way) only for
    whole-archive problems: structure, totals, overall compression ratio.
    """
    directory = _load(fileobj, limits)
    totals = _Totals()
    for rec in directory.records:
        if rec.skip in _SILENT:  # no data, or read by read_tables: nothing to tell the user
            continue
        if rec.skip is not None:
            yield SkippedEntry(rec.name, rec.skip)
            continue
        result = _read_entry(fileobj, rec, limits, totals)
        if isinstance(result, str):
            yield SkippedEntry(rec.name, result)
        elif result.startswith(_NESTED_MAGIC) or result[257:262] == b"ustar":
            yield SkippedEntry(rec.name, NESTED)
        else:
            yield ArchiveEntry(name=rec.name, label=rec.label, data=result, key=rec.key)


def read_tables(
    fileobj: BinaryIO, *, limits: ArchiveLimits = ArchiveLimits()
) -> list[tuple[str, bytes | str]]:
    """The CSV files beside the label folders (ArchivePlan.tables): (name, bytes), or
    (name, skip reason) for one that can't be read. Inflated with the same bounds as images."""
    directory = _load(fileobj, limits)
    totals = _Totals()
    out: list[tuple[str, bytes | str]] = []
    for rec in directory.records:
        if rec.skip == _TABLE:
            out.append((rec.name, _read_entry(fileobj, rec, _table_limits(limits), totals)))
    return out


def _table_limits(limits: ArchiveLimits) -> ArchiveLimits:
    return replace(limits, max_entry_bytes=TABLE_MAX_BYTES)


# --------------------------------------------------------------------------- reading


@dataclass
class _Totals:
    produced: int = 0  # real inflated bytes, skipped entries included: it is work we did
    consumed: int = 0


def _total_too_large(size: int, limits: ArchiveLimits) -> ArchiveRejected:
    gib = 1024**3
    return ArchiveRejected(
        "total uncompressed size over limit "
        f"({size / gib:.2f} GB, limit {limits.max_total_uncompressed / gib:.2f} GB)"
    )


def _violation(produced: int, consumed: int, rec: _Record, limits: ArchiveLimits) -> str | None:
    excessive_ratio = produced > limits.max_ratio * max(consumed, 1)
    if excessive_ratio and (produced > _RATIO_GRACE or produced > rec.usize):
        return RATIO
    if produced > limits.max_entry_bytes:
        return TOO_LARGE
    if produced > rec.usize:  # the header lied about the size
        return CORRUPT_ENTRY
    return None


def _read_entry(fp: BinaryIO, rec: _Record, limits: ArchiveLimits, totals: _Totals) -> bytes | str:
    """Inflate one entry in bounded steps. Returns its bytes or a skip reason."""
    fp.seek(rec.data_start)
    remaining = rec.csize
    inflater = zlib.decompressobj(-15) if rec.method == _DEFLATED else None
    parts: list[bytes] = []
    produced = read = 0
    while True:
        if inflater is not None and inflater.unconsumed_tail:
            buf = inflater.unconsumed_tail
        elif remaining > 0:
            buf = fp.read(min(_READ_CHUNK, remaining))
            if not buf:
                return CORRUPT_ENTRY  # truncated file
            remaining -= len(buf)
            read += len(buf)
            totals.consumed += len(buf)
        else:
            buf = b""
        if inflater is None:
            piece = buf
        else:
            piece = inflater.decompress(buf, _INFLATE_CHUNK)
        if not piece and not buf:
            break  # nothing left to read or inflate
        produced += len(piece)
        totals.produced += len(piece)
        parts.append(piece)
        consumed = read - len(inflater.unconsumed_tail) if inflater is not None else read
        if reason := _violation(produced, consumed, rec, limits):
            _check_totals(totals, limits)
            return reason
        _check_totals(totals, limits)
        if inflater is not None and inflater.eof:
            break
    if inflater is not None and not inflater.eof:
        return CORRUPT_ENTRY  # deflate stream cut short
    data = b"".join(parts)
    if len(data) != rec.usize or zlib.crc32(data) != rec.crc:
        return CORRUPT_ENTRY
    return data


def _check_totals(totals: _Totals, limits: ArchiveLimits) -> None:
    if totals.produced > limits.max_total_uncompressed:
        raise _total_too_large(totals.produced, limits)
    if totals.produced > _TOTAL_RATIO_GRACE and totals.produced > limits.max_ratio * max(
        totals.consumed, 1
    ):
        raise ArchiveRejected(RATIO)
