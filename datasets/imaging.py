"""Validate and normalize one uploaded image (Django-free; limits are passed in).

Accepted formats: JPEG (incl. MPO, first image), PNG (incl. APNG, first frame), WebP (incl.
animated, first frame) and GIF (first frame). Everything else is refused, including formats Pillow
could read (TIFF, BMP, ICO, PSD, ...) and SVG: fewer decoders means less attack surface, and these
four cover what browsers and phones produce. We sniff the magic bytes ourselves, so no other Pillow
plugin ever sees the data.

Pipeline: size checks -> magic sniff -> our own header probe (dimensions, structure, end of the
image data) -> pixel/aspect limits -> polyglot scan -> full decode with Pillow (bomb warnings are
errors) -> EXIF orientation -> re-encode (original, normalized, thumbnail) + hashes.
Nothing from the uploaded bytes is stored as-is: metadata and trailing data are dropped.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import warnings
from dataclasses import dataclass

import imagehash
import numpy as np
from PIL import Image, ImageOps

__all__ = ["ImageLimits", "ImageRejected", "ProcessedImage", "process_image"]

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")

ORIGINAL_JPEG_QUALITY = 92
NORMALIZED_JPEG_QUALITY = 90
THUMBNAIL_JPEG_QUALITY = 85
WEBP_QUALITY = 90


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000  # decompression-bomb threshold, checked from the header
    normalized_short_side: int = 256
    thumbnail_size: int = 160  # square centre-crop, looks best in a grid
    # A 1x20000 strip would become 256x5_120_000 once normalized: refuse such shapes up front.
    max_aspect_ratio: float = 20.0
    # None keeps the original at full resolution. Set it (e.g. 2048) to downscale stored originals;
    # JPEGs are then decoded at reduced DCT scale with Image.draft(), which is much faster.
    original_max_side: int | None = None


class ImageRejected(Exception):
    """The upload is not an acceptable image; .reason is short and safe to show to the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ProcessedImage:
    sha256: str  # of the uploaded bytes (exact-duplicate key)
    phash: str  # imagehash.phash hex of the normalized image (near-duplicate key)
    format: str  # source format: "JPEG" | "PNG" | "WEBP" | "GIF"; `original` is in this format too
    width: int  # of the original, after EXIF orientation
    height: int
    normalized: bytes  # RGB JPEG, shorter side == normalized_short_side (small images upscaled)
    thumbnail: bytes  # RGB JPEG, thumbnail_size square centre crop (b"" for predictions)
    original: bytes  # re-encoded original: no metadata, no trailing data, EXIF orientation applied

    @property
    def extension(self) -> str:
        return {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif"}[self.format]


# --------------------------------------------------------------------------- sniffing

_UNSUPPORTED_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
    (b"qoif", "QOI"),
)
_FTYP_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"mif1": "HEIF", b"msf1": "HEIF"}
_FTYP_BRANDS |= {b"avif": "AVIF", b"avis": "AVIF"}


def _sniff(data: bytes) -> str:
    """Return one of ALLOWED_FORMATS or raise ImageRejected."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for magic, name in _UNSUPPORTED_MAGIC:
        if data.startswith(magic):
            raise ImageRejected(f"unsupported image format: {name}")
    if data[4:8] == b"ftyp" and data[8:12] in _FTYP_BRANDS:
        raise ImageRejected(f"unsupported image format: {_FTYP_BRANDS[data[8:12]]}")
    if b"<svg" in data[:4096].lower():
        raise ImageRejected("unsupported image format: SVG")
    raise ImageRejected("not an image")


# --------------------------------------------------------------------------- header probes
# Our own minimal parsers give the dimensions before Pillow allocates anything, refuse
# pathological structures that would make Pillow's pure-Python header loops slow, and find where
# the image data ends so trailing data can be inspected.

_CORRUPT = "corrupt or truncated image"
_MAX_SEGMENTS = 100_000  # far above real files (a few hundred at most); bounds the probe loops


@dataclass(frozen=True)
class _Decoded:
    image: Image.Image  # first frame, oriented; smaller than width x height after draft()
    width: int  # full-resolution size after orientation
    height: int


@dataclass(frozen=True)
class _Probe:
    width: int
    height: int
    end: int | None  # offset just past the image data; None when it could not be determined


_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}
# Next marker after entropy-coded data: 0xFF not followed by a stuffed 0x00, RSTn or fill byte.
_JPEG_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _probe_jpeg(data: bytes) -> _Probe:
    n = len(data)
    pos, size, segments = 2, None, 0
    while pos + 1 < n:
        segments += 1
        if segments > _MAX_SEGMENTS or data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte; long runs only occur in crafted files
            pos += 1
            if segments > 1024:
                break
            continue
        if marker == 0xD9:  # EOI
            if size is None:
                break
            return _Probe(size[0], size[1], pos + 2)
        if marker in _JPEG_STANDALONE:
            pos += 2
            continue
        if pos + 4 > n:
            break
        seg_len = struct.unpack_from(">H", data, pos + 2)[0]
        if seg_len < 2:
            break
        if marker in _JPEG_SOF and pos + 9 <= n:
            height, width = struct.unpack_from(">HH", data, pos + 5)
            size = size or (width, height)
        pos += 2 + seg_len
        if marker == 0xDA:  # SOS: skip the entropy-coded data
            if size is None:
                break
            m = _JPEG_NEXT_MARKER.search(data, pos)
            if m is None:  # no EOI: truncated; Pillow will refuse it
                return _Probe(size[0], size[1], None)
            pos = m.start()
    if size is None:
        raise ImageRejected(_CORRUPT)
    return _Probe(size[0], size[1], None)


def _probe_png(data: bytes) -> _Probe:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise ImageRejected(_CORRUPT)
    width, height = struct.unpack_from(">II", data, 16)
    pos, n = 8, len(data)
    for _ in range(_MAX_SEGMENTS):
        if pos + 8 > n:
            return _Probe(width, height, None)
        length, ctype = struct.unpack_from(">I4s", data, pos)
        pos += 12 + length
        if ctype == b"IEND":
            return _Probe(width, height, pos if pos <= n else None)
    raise ImageRejected(_CORRUPT)  # millions of chunks: crafted to slow the decoder down


def _probe_gif(data: bytes) -> _Probe:
    n = len(data)
    if n < 13:
        raise ImageRejected(_CORRUPT)
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    budget = _MAX_SEGMENTS * 4
    first_frame_seen = False

    def skip_sub_blocks(p: int) -> int:
        nonlocal budget
        while p < n and budget > 0:
            budget -= 1
            size = data[p]
            p += 1 + size
            if size == 0:
                return p
        return -1

    while pos < n and budget > 0:
        block = data[pos]
        if block == 0x3B:  # trailer
            return _Probe(width, height, pos + 1)
        if block == 0x21:  # extension: label + sub-blocks
            pos = skip_sub_blocks(pos + 2)
        elif block == 0x2C:  # image descriptor (+ local colour table, LZW code size, data)
            if pos + 10 > n:
                break
            left, top, w, h, iflags = struct.unpack_from("<HHHHB", data, pos + 1)
            if not first_frame_seen:
                # Pillow grows the canvas to the first frame's extent.
                width, height = max(width, left + w), max(height, top + h)
                first_frame_seen = True
            pos += 10 + (3 << ((iflags & 7) + 1) if iflags & 0x80 else 0)
            pos = skip_sub_blocks(pos + 1)
        else:
            break
        if pos < 0:
            break
    if budget <= 0:
        raise ImageRejected(_CORRUPT)
    return _Probe(width, height, None)


def _probe_webp(data: bytes) -> _Probe:
    riff_size = struct.unpack_from("<I", data, 4)[0]
    end = 8 + riff_size + (riff_size & 1)
    pos, n = 12, min(len(data), end)
    for _ in range(_MAX_SEGMENTS):
        if pos + 8 > n:
            break
        ctype, length = struct.unpack_from("<4sI", data, pos)
        body = data[pos + 8 : pos + 8 + min(length, 32)]
        if ctype == b"VP8X" and len(body) >= 10:
            w = int.from_bytes(body[4:7], "little") + 1
            h = int.from_bytes(body[7:10], "little") + 1
            return _Probe(w, h, end if end <= len(data) else None)
        if ctype == b"VP8 " and len(body) >= 10 and body[3:6] == b"\x9d\x01\x2a":
            w, h = struct.unpack_from("<HH", body, 6)
            return _Probe(w & 0x3FFF, h & 0x3FFF, end if end <= len(data) else None)
        if ctype == b"VP8L" and len(body) >= 5 and body[0] == 0x2F:
            bits = int.from_bytes(body[1:5], "little")
            w, h = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
            return _Probe(w, h, end if end <= len(data) else None)
        pos += 8 + length + (length & 1)
    raise ImageRejected(_CORRUPT)


_PROBES = {"JPEG": _probe_jpeg, "PNG": _probe_png, "GIF": _probe_gif, "WEBP": _probe_webp}


# --------------------------------------------------------------------------- polyglots

_POLYGLOT_ZIP = "file is also a ZIP archive (polyglot)"
_POLYGLOT_HTML = "file contains HTML/script content (polyglot)"
_WINDOW = 8 * 1024
_DELIMS = b" \t\r\n>/"
# Long or delimited markers: checked over the whole file; random compressed data practically
# never contains them (>= 5 specific case-insensitive bytes + delimiter).
_HTML_STRONG: tuple[tuple[bytes, bytes | None], ...] = (
    (b"<script", None),
    (b"<!doctype html", None),
    (b"<html", _DELIMS),
    (b"<body", _DELIMS),
    (b"<?php", b" \t\r\n"),
    (b"<iframe", None),
    (b"javascript:", None),
    (b"onerror=", None),
    (b"onload=", None),
)
# Short markers would false-positive on large compressed images: only checked where browsers and
# interpreters look (first/last KBs) and in any trailing data after the image end.
_HTML_WEAK: tuple[tuple[bytes, bytes | None], ...] = (
    (b"<svg", _DELIMS),
    (b"<img", _DELIMS),
    (b"<object", None),
    (b"<embed", None),
)
_ZIP_METHODS = frozenset({0, 1, 6, 8, 9, 12, 14, 19, 93, 95, 96, 97, 98, 99})
_MAX_SIGNATURE_HITS = 1000


def _has_marker(hay: bytes, markers: tuple[tuple[bytes, bytes | None], ...]) -> bool:
    for marker, delims in markers:
        start = hay.find(marker)
        while start >= 0:
            nxt = hay[start + len(marker) : start + len(marker) + 1]
            if delims is None or (nxt and nxt in delims):
                return True
            start = hay.find(marker, start + 1)
    return False


def _looks_like_local_header(data: bytes, i: int) -> bool:
    # A real ZIP local file header, not 4 random bytes: sane version, method and name length.
    if i + 30 > len(data):
        return False
    version, _flags, method = struct.unpack_from("<HHH", data, i + 4)
    name_len = struct.unpack_from("<H", data, i + 26)[0]
    return version <= 63 and method in _ZIP_METHODS and 0 < name_len <= 4096


def _looks_like_eocd(data: bytes, i: int) -> bool:
    if i + 22 > len(data):
        return False
    disk, cd_disk, n_disk, n_total, cd_size, cd_offset = struct.unpack_from("<HHHHII", data, i + 4)
    zip64 = 0xFFFF in (disk, cd_disk, n_disk, n_total) or 0xFFFFFFFF in (cd_size, cd_offset)
    return zip64 or (disk == cd_disk == 0 and n_disk == n_total and cd_size <= i)


def _check_polyglot(data: bytes, end: int | None) -> None:
    hits = 0
    i = data.find(b"PK\x03\x04")
    while i >= 0:
        hits += 1
        if _looks_like_local_header(data, i) or hits > _MAX_SIGNATURE_HITS:
            raise ImageRejected(_POLYGLOT_ZIP)
        i = data.find(b"PK\x03\x04", i + 1)
    # ZIP readers locate the end-of-central-directory record within the last 64 KiB.
    tail_start = max(0, len(data) - (0xFFFF + 22))
    i = data.rfind(b"PK\x05\x06", tail_start)
    while i >= tail_start:
        if _looks_like_eocd(data, i):
            raise ImageRejected(_POLYGLOT_ZIP)
        i = data.rfind(b"PK\x05\x06", tail_start, i)

    low = data.lower()  # bytes.lower() only touches ASCII; find() is much faster than re.I
    if _has_marker(low, _HTML_STRONG):
        raise ImageRejected(_POLYGLOT_HTML)
    regions = [low[:_WINDOW], low[-_WINDOW:]]
    if end is not None and end < len(low):
        regions.append(low[end:])
    if any(_has_marker(region, _HTML_WEAK) for region in regions):
        raise ImageRejected(_POLYGLOT_HTML)


# --------------------------------------------------------------------------- decoding


def _sync_pillow_bomb_limit(max_pixels: int) -> None:
    # Pillow's own check is a backstop behind ours. The global is only written when it differs,
    # so with one configured limit per process it is set once and concurrent calls never race.
    if Image.MAX_IMAGE_PIXELS != max_pixels:
        Image.MAX_IMAGE_PIXELS = max_pixels


def _too_large(width: int, height: int, limits: ImageLimits) -> ImageRejected:
    return ImageRejected(
        f"image too large ({width}x{height} pixels, limit {limits.max_pixels / 1e6:g} MP)"
    )


def _mb(n: float) -> str:
    return f"{n / (1024 * 1024):.1f}".removesuffix(".0")


def _check_dimensions(width: int, height: int, limits: ImageLimits) -> None:
    if width <= 0 or height <= 0:
        raise ImageRejected(_CORRUPT)
    if width * height > limits.max_pixels:
        raise _too_large(width, height, limits)
    if max(width, height) / min(width, height) > limits.max_aspect_ratio:
        raise ImageRejected(
            f"extreme aspect ratio ({width}x{height}, limit {limits.max_aspect_ratio:g}:1)"
        )


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _orientation(img: Image.Image) -> int:
    try:
        return int(img.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - malformed EXIF is common; keep the image, unrotated
        return 1


def _decode(data: bytes, fmt: str, probe: _Probe, limits: ImageLimits) -> _Decoded:
    """Fully decode the first frame and apply EXIF orientation. Raises ImageRejected."""
    _sync_pillow_bomb_limit(limits.max_pixels)
    with warnings.catch_warnings():
        # Not thread-safe in 3.11 (global filter list), hence our own header check comes first.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=(fmt,))
            width, height = img.size
            if width * height > limits.max_pixels:  # Pillow's view of the header
                raise _too_large(width, height, limits)
            if fmt == "JPEG" and limits.original_max_side:
                # Decode at 1/2, 1/4 or 1/8 DCT scale; draft() never goes below the request.
                factor = max(
                    limits.original_max_side / max(width, height),
                    limits.normalized_short_side / min(width, height),
                )
                if factor < 0.5:
                    img.draft(img.mode, (int(width * factor) + 1, int(height * factor) + 1))
            img.load()  # full decode: truncated/corrupt data fails here (no LOAD_TRUNCATED_IMAGES)
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_large(probe.width, probe.height, limits) from None
        except Exception:  # noqa: BLE001 - any decoder failure on untrusted input = broken file
            raise ImageRejected(_CORRUPT) from None
    orientation = _orientation(img)
    if orientation in (5, 6, 7, 8):  # 90-degree turns swap the reported dimensions
        width, height = height, width
    method = _TRANSPOSE.get(orientation)
    return _Decoded(img.transpose(method) if method is not None else img, width, height)


def _to_8bit(img: Image.Image) -> Image.Image:
    """Normalize exotic modes to L, LA, P, RGB or RGBA (8 bits per channel)."""
    if img.mode in ("1", "L", "LA", "P", "RGB", "RGBA"):
        return img
    if img.mode.startswith("I"):  # 16-bit grayscale: convert("L") would clip, not scale
        arr = np.clip(np.asarray(img), 0, 0xFFFF) >> 8
        return Image.fromarray(arr.astype(np.uint8))
    if img.mode == "CMYK":
        return img.convert("RGB")
    return img.convert("RGBA" if "A" in img.mode or "a" in img.mode else "RGB")


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("LA", "RGBA", "PA") or "transparency" in img.info


def _flatten(img: Image.Image) -> Image.Image:
    """RGB with any transparency composited on white."""
    if _has_alpha(img):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return img.convert("RGB") if img.mode != "RGB" else img


def _encode_original(img: Image.Image, fmt: str) -> bytes:
    """Re-encode in the source format. Mutates img.info: call it last."""
    # Drop every piece of metadata Pillow would carry over (ICC, EXIF, XMP, text, comments);
    # only the transparency key of palette/gray images is pixel data we must keep.
    keep = {"transparency": img.info["transparency"]} if "transparency" in img.info else {}
    if fmt == "JPEG":
        img = img if img.mode in ("L", "RGB") else _flatten(img)
    elif fmt == "WEBP":
        img = img.convert("RGBA" if _has_alpha(img) else "RGB")
    img.info = keep if fmt in ("PNG", "GIF") else {}
    out = io.BytesIO()
    if fmt == "JPEG":
        img.save(out, "JPEG", quality=ORIGINAL_JPEG_QUALITY)
    elif fmt == "WEBP":
        img.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    else:
        img.save(out, fmt)
    return out.getvalue()


def _encode_jpeg(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _resized_original(img: Image.Image, limits: ImageLimits) -> Image.Image:
    if not limits.original_max_side or max(img.size) <= limits.original_max_side:
        return img
    scale = limits.original_max_side / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def _normalize(rgb: Image.Image, short_side: int) -> Image.Image:
    w, h = rgb.size
    if w <= h:
        size = (short_side, max(1, round(h * short_side / w)))
    else:
        size = (max(1, round(w * short_side / h)), short_side)
    if size == rgb.size:
        return rgb
    # reducing_gap: integer box reduction first, then bicubic; visually identical, much faster.
    return rgb.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)


def _thumbnail(normalized: Image.Image, size: int) -> bytes:
    thumb = ImageOps.fit(normalized, (size, size), Image.Resampling.BICUBIC)
    return _encode_jpeg(thumb, THUMBNAIL_JPEG_QUALITY)


# --------------------------------------------------------------------------- public API


def thumbnail_jpeg(normalized: bytes, *, size: int = ImageLimits.thumbnail_size) -> bytes:
    """The square thumbnail of a normalized image (a JPEG this module made), as JPEG."""
    with Image.open(io.BytesIO(normalized)) as img:
        return _thumbnail(img.convert("RGB"), size)


def process_image(
    data: bytes, *, limits: ImageLimits = ImageLimits(), for_dataset: bool = True
) -> ProcessedImage:
    """Validate `data` as an uploaded image and re-encode it. Raises ImageRejected.

    for_dataset=False (predictions, which keep only the normalized image) skips the original's
    re-encode, the perceptual hash and the thumbnail (`thumbnail_jpeg` makes it later, when a
    page first shows it): `original`, `phash` and `thumbnail` are empty.
    """
    if not data:
        raise ImageRejected("empty file")
    if len(data) > limits.max_bytes:  # before any parsing
        size, limit = f"{_mb(len(data))} MB", f"{_mb(limits.max_bytes)} MB"
        size = size if size != limit else f"{len(data)} bytes"  # "20 MB, limit 20 MB" reads oddly
        raise ImageRejected(f"file too large ({size}, limit {limit})")
    fmt = _sniff(data)
    probe = _PROBES[fmt](data)
    _check_dimensions(probe.width, probe.height, limits)
    _check_polyglot(data, probe.end)

    decoded = _decode(data, fmt, probe, limits)
    img = _to_8bit(decoded.image)
    rgb = _flatten(img)
    normalized = _normalize(rgb, limits.normalized_short_side)
    return ProcessedImage(
        sha256=hashlib.sha256(data).hexdigest(),
        phash=str(imagehash.phash(normalized)) if for_dataset else "",
        format=fmt,
        width=decoded.width,
        height=decoded.height,
        normalized=_encode_jpeg(normalized, NORMALIZED_JPEG_QUALITY),
        thumbnail=_thumbnail(normalized, limits.thumbnail_size) if for_dataset else b"",
        original=_encode_original(_resized_original(img, limits), fmt) if for_dataset else b"",
    )
