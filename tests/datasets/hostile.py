"""Builders for hostile (and a few good) uploads, all in memory and fast.

Images return bytes; ZIPs are written by a tiny raw writer (`build_zip`) because zipfile refuses
to produce most of the interesting lies (wrong sizes, flag bits, overlapping entries, raw names).
Bombs are built from a repeated, self-contained deflate block, so a stream that inflates to
gigabytes of zeros costs a few MB and a few milliseconds to build.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib
from dataclasses import dataclass

from PIL import Image

# --------------------------------------------------------------------------- deflate helpers

_ZERO_BLOCK = 1024 * 1024


@functools.cache
def _deflated_zero_block(size: int) -> bytes:
    # A fresh compressor + full flush gives a byte-aligned, non-final piece that references
    # nothing before it: copies of it can be concatenated into one valid deflate stream.
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(bytes(size)) + c.flush(zlib.Z_FULL_FLUSH)


def deflate_zeros(n: int) -> bytes:
    """Raw deflate stream that inflates to n zero bytes (about n / 1000 bytes long)."""
    full, rest = divmod(n, _ZERO_BLOCK)
    parts = [_deflated_zero_block(_ZERO_BLOCK)] * full
    if rest:
        parts.append(_deflated_zero_block(rest))
    parts.append(zlib.compressobj(9, zlib.DEFLATED, -15).flush())  # empty final block
    return b"".join(parts)


def zlib_zeros(n: int) -> bytes:
    """zlib stream (header + deflate + Adler-32) of n zero bytes, as found in PNG IDAT."""
    adler = ((n % 65521) << 16) | 1  # Adler-32 of zeros: a stays 1, b grows by 1 per byte
    return b"\x78\xda" + deflate_zeros(n) + struct.pack(">I", adler)


# --------------------------------------------------------------------------- images


def pattern(size: tuple[int, int] = (64, 48), mode: str = "RGB") -> Image.Image:
    """A non-flat test picture (gradients), so encoders and hashes have something to chew on."""
    w, h = size
    img = Image.new("RGB", size)
    img.putdata(
        [
            ((x * 255) // max(w - 1, 1), (y * 255) // max(h - 1, 1), 128)
            for y in range(h)
            for x in range(w)
        ]
    )
    return img.convert(mode) if mode != "RGB" else img


def scene(size: tuple[int, int] = (800, 600)) -> Image.Image:
    """A simple 'photo': large coloured shapes, so perceptual hashes are stable across sizes."""
    from PIL import ImageDraw

    w, h = size
    img = Image.new("RGB", size, (30, 60, 90))
    draw = ImageDraw.Draw(img)
    draw.ellipse((w * 0.1, h * 0.2, w * 0.5, h * 0.9), fill=(230, 200, 40))
    draw.rectangle((w * 0.55, h * 0.1, w * 0.9, h * 0.5), fill=(200, 40, 40))
    draw.polygon([(w * 0.6, h * 0.95), (w * 0.95, h * 0.6), (w * 0.95, h * 0.95)], fill="white")
    return img


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def jpeg(size: tuple[int, int] = (64, 48), **params: object) -> bytes:
    return encode(pattern(size), "JPEG", quality=90, **params)


def png(size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    return encode(pattern(size, mode), "PNG")


def truncated_jpeg() -> bytes:
    data = jpeg((200, 150))
    return data[: len(data) // 2]


def corrupt_jpeg() -> bytes:
    """Valid markers, but the Huffman tables are garbage: libjpeg fails while decoding."""
    data = bytearray(jpeg((200, 150)))
    pos = data.find(b"\xff\xc4")
    while pos >= 0:
        length = struct.unpack_from(">H", data, pos + 2)[0]
        data[pos + 5 : pos + 2 + length] = b"\xff" * (length - 3)
        pos = data.find(b"\xff\xc4", pos + 2 + length)
    return bytes(data)


def text_named_jpg() -> bytes:
    return b"Shopping list:\n- milk\n- eggs\n" * 20


def html_as_jpeg() -> bytes:
    return b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def jpeg_html_polyglot() -> bytes:
    """A real JPEG with a script appended after the end-of-image marker."""
    return jpeg() + b"<script>fetch('/api/token').then(r=>r.text()).then(alert)</script>"


def jpeg_html_in_comment() -> bytes:
    """A real JPEG whose COM segment (inside the file, before the pixels) carries HTML."""
    data = jpeg()
    payload = b"<html><svg onload=alert(1)>"
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(payload) + 2) + payload + data[2:]


def jpeg_svg_trailing() -> bytes:
    """Short marker (<svg) deep in trailing data: only found because we know where JPEG ends."""
    return jpeg() + b"\x00" * 20_000 + b"<svg xmlns='http://www.w3.org/2000/svg'/>" + bytes(20_000)


def jpeg_zip_polyglot() -> bytes:
    """A JPEG with a working ZIP archive appended (opens both as an image and as a ZIP)."""
    return jpeg() + good_zip()


def cmyk_jpeg() -> bytes:
    return encode(pattern((64, 48), "CMYK"), "JPEG", quality=90)


def png_16bit() -> bytes:
    import numpy as np

    ramp = (np.arange(64 * 48, dtype=np.uint32).reshape(48, 64) * 21).astype(np.uint16)
    img = Image.fromarray(ramp)  # mode I;16, values up to 64k: 8-bit clipping would be white
    assert img.mode == "I;16"
    return encode(img, "PNG")


def palette_png_with_transparency() -> bytes:
    img = Image.new("P", (32, 32), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.paste(1, (0, 0, 16, 32))  # left half red, right half index 0 = transparent
    return encode(img, "PNG", transparency=0)


def animated(fmt: str) -> bytes:
    """Three frames (red, green, blue); the first frame is red."""
    frames = [Image.new("RGB", (40, 30), color) for color in ("red", "lime", "blue")]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def exif_rotated_jpeg() -> bytes:
    """Stored 40x20, left half red and right half blue, EXIF orientation 6 (rotate 90 CW):
    displayed 20x40 with red on top and blue at the bottom."""
    img = Image.new("RGB", (40, 20), "blue")
    img.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(img, "JPEG", quality=95, exif=exif.tobytes())


def _png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid RGB PNG of width x height black pixels (1.2 GB decoded for the default) in ~1 MB:
    hand-written header and an IDAT made of repeated deflate blocks."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw_size = height * (1 + 3 * width)  # filter byte 0 + zero pixels: all zeros
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib_zeros(raw_size))
        + _png_chunk(b"IEND", b"")
    )


def png_header_only_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """Header claims 10 GP, no pixel data at all."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IEND", b"")


def gif_bomb(width: int = 65_535, height: int = 65_535) -> bytes:
    """A GIF whose logical screen is 4.3 GP."""
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0) + b";"


# Structures that are cheap to write but make pure-Python header loops (ours or Pillow's) spin:
# millions of tiny segments. They must be refused from the structure, quickly.
FLOOD_BYTES = 8 * 1024 * 1024


def jpeg_marker_flood() -> bytes:
    return b"\xff\xd8" + b"\xff\xe1\x00\x02" * (FLOOD_BYTES // 4)  # empty APP1 segments


def jpeg_fill_flood() -> bytes:
    return b"\xff\xd8" + b"\xff" * FLOOD_BYTES


def gif_sub_block_flood() -> bytes:
    screen = struct.pack("<HHBBB", 10, 10, 0, 0, 0)
    return b"GIF89a" + screen + b"\x21\xfe" + b"\x01a" * (FLOOD_BYTES // 2) + b"\x00;"


def png_chunk_flood() -> bytes:
    return png()[:33] + _png_chunk(b"tEXt", b"") * (FLOOD_BYTES // 12) + _png_chunk(b"IEND", b"")


def jpeg_zip_signature_flood() -> bytes:
    return jpeg() + b"PK\x03\x04" * (FLOOD_BYTES // 4)


def oversized_file(limit: int) -> bytes:
    """limit + 1 bytes that start like a JPEG: must be refused before any parsing."""
    return b"\xff\xd8\xff\xe0" + bytes(limit - 3)


def empty_file() -> bytes:
    return b""


def tiff() -> bytes:
    return encode(pattern(), "TIFF")


def bmp() -> bytes:
    return encode(pattern(), "BMP")


def svg() -> bytes:
    return b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>'


# --------------------------------------------------------------------------- ZIP writer


@dataclass
class Member:
    name: bytes | str
    data: bytes = b""
    method: int = 8  # 0 stored, 8 deflated
    flags: int = 0  # bit 0 encrypted, bit 11 UTF-8 name (set automatically for non-ASCII str)
    external_attr: int = 0o100644 << 16
    compressed: bytes | None = None  # raw stream to write instead of compressing data
    file_size: int | None = None  # declared uncompressed size (defaults to len(data))
    crc: int | None = None

    def raw_name(self) -> bytes:
        return self.name.encode() if isinstance(self.name, str) else self.name

    def name_flags(self) -> int:
        non_ascii = isinstance(self.name, str) and not self.name.isascii()
        return self.flags | (0x800 if non_ascii else 0)

    def payload(self) -> bytes:
        if self.compressed is not None:
            return self.compressed
        if self.method == 0:
            return self.data
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        return c.compress(self.data) + c.flush()

    def declared(self) -> tuple[int, int]:
        crc = self.crc if self.crc is not None else zlib.crc32(self.data)
        size = self.file_size if self.file_size is not None else len(self.data)
        return crc, size


def local_header(m: Member, payload: bytes) -> bytes:
    crc, size = m.declared()
    name = m.raw_name()
    # signature, version, flags, method, time, date, crc, sizes, name length, extra length
    head = (b"PK\x03\x04", 20, m.name_flags(), m.method, 0, 0x21, crc, len(payload), size)
    return struct.pack("<4s5H3I2H", *head, len(name), 0) + name


def central_record(m: Member, payload_size: int, offset: int) -> bytes:
    crc, size = m.declared()
    name = m.raw_name()
    made_by = (3 << 8) | 20  # Unix, so external_attr carries the file type (symlinks)
    head = (b"PK\x01\x02", made_by, 20, m.name_flags(), m.method, 0, 0x21, crc, payload_size)
    tail = (size, len(name), 0, 0, 0, 0, m.external_attr, offset)
    return struct.pack("<4s6H3I5H2I", *head, *tail) + name


def end_record(count: int, cd_size: int, cd_offset: int) -> bytes:
    return struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, count, count, cd_size, cd_offset, 0)


def build_zip(members: list[Member], *, declared_count: int | None = None) -> bytes:
    out = bytearray()
    central = bytearray()
    for m in members:
        payload = m.payload()
        offset = len(out)
        out += local_header(m, payload) + payload
        central += central_record(m, len(payload), offset)
    count = len(members) if declared_count is None else declared_count
    return bytes(out + central + end_record(count, len(central), len(out)))


# --------------------------------------------------------------------------- ZIPs


def good_zip() -> bytes:
    """Two label folders (cats: 2, dogs: 1), one loose image, plus a directory entry."""
    return build_zip(
        [
            Member("cats/", method=0, external_attr=0o40755 << 16),
            Member("cats/a.jpg", jpeg()),
            Member("cats/b.png", png(), method=0),
            Member("dogs/c.JPEG", jpeg((40, 40))),
            Member("loose.webp", encode(pattern(), "WEBP")),
        ]
    )


def wrapped_zip() -> bytes:
    """What zipping a dataset folder on macOS gives: one top folder, label folders inside."""
    return build_zip(
        [
            Member("photos/cats/a.jpg", jpeg()),
            Member("photos/dogs/b.jpg", jpeg()),
            Member("photos/extra.jpg", jpeg()),
            Member("__MACOSX/photos/cats/._a.jpg", b"\x00\x05\x16\x07"),
            Member("photos/.DS_Store", b"\x00\x00\x00\x01Bud1"),
        ]
    )


def classic_zip_bomb(size: int = 3 * 1024**3) -> bytes:
    """One 'image' inflating to `size` zero bytes, whose header claims 1 KB."""
    return build_zip([Member("bomb.jpg", compressed=deflate_zeros(size), file_size=1000, crc=0)])


def high_ratio_zip(size: int = 8 * 1024 * 1024) -> bytes:
    """An honest header, but 1000:1 compression: no image compresses like that."""
    zeros = bytes(size)
    return build_zip([Member("flat.png", zeros, compressed=deflate_zeros(size))])


def overlapping_zip(copies: int = 50) -> bytes:
    """Fifield-style: many central-directory records share one local file (kernel)."""
    kernel = Member("k.jpg", compressed=deflate_zeros(10 * 1024 * 1024), file_size=10 * 1024**2)
    kernel.crc = zlib.crc32(bytes(10 * 1024 * 1024))
    payload = kernel.payload()
    local = local_header(kernel, payload) + payload
    central = b"".join(central_record(kernel, len(payload), 0) for _ in range(copies))
    return local + central + end_record(copies, len(central), len(local))


def nested_overlap_zip() -> bytes:
    """Entry 'outer.jpg' (stored) whose data contains the complete local entry 'inner.jpg'."""
    inner = Member("inner.jpg", jpeg(), method=0)
    inner_local = local_header(inner, inner.data) + inner.data
    outer = Member("outer.jpg", b"\x00" * 10 + inner_local, method=0)
    outer_local = local_header(outer, outer.data) + outer.data
    inner_offset = len(local_header(outer, outer.data)) + 10
    central = central_record(outer, len(outer.data), 0) + central_record(
        inner, len(inner.data), inner_offset
    )
    return outer_local + central + end_record(2, len(central), len(outer_local))


def data_into_central_directory_zip() -> bytes:
    """An entry whose declared compressed size runs over the central directory."""
    m = Member("a.jpg", jpeg(), method=0)
    local = local_header(m, m.data) + m.data
    m.file_size = len(m.data) + 500
    central = central_record(m, len(m.data) + 500, 0)
    return local + central + end_record(1, len(central), len(local))


def many_entries_zip(count: int, *, declared_count: int | None = None) -> bytes:
    return build_zip(
        [Member(f"x/{i}.jpg", b"", method=0) for i in range(count)], declared_count=declared_count
    )


def hostile_names_zip() -> bytes:
    """One entry per name-based refusal, plus one good image (last) that must survive."""
    img = jpeg()
    return build_zip(
        [
            Member("../evil.jpg", img),
            Member("cats/../../evil.jpg", img),
            Member("/abs.jpg", img),
            Member("C:\\x.jpg", img),
            Member("\\\\server\\share\\x.jpg", img),
            Member("link.jpg", b"/etc/passwd", external_attr=0o120777 << 16),
            Member("secret.jpg", img, flags=0x1),
            Member("inner.zip", good_zip()),
            Member("archive.tar.gz", b"\x1f\x8b\x08\x00"),
            Member("__MACOSX/._a.jpg", b"\x00\x05\x16\x07"),
            Member(".hidden.jpg", img),
            Member("cats/.thumbs/x.jpg", img),
            Member("notes.txt", b"hello"),
            Member(b"bad\xff\xfe.jpg", img, flags=0x800),  # claims UTF-8, is not
            Member(b"bell\x07.jpg", img),
            Member("cats/ok.jpg", img),
        ]
    )


def odd_names_zip() -> bytes:
    """Names in legacy and decomposed encodings that must be decoded, not refused."""
    img = jpeg()
    return build_zip(
        [
            Member(b"caf\x82/\x8e.jpg", img),  # cp437 (no UTF-8 flag): "café/Ä.jpg"
            Member("Cafe\u0301/b.jpg", img),  # NFD with the UTF-8 flag, as macOS writes it
            Member(b"na\xc3\xafve/c.jpg", img),  # raw UTF-8 without the flag (old Info-ZIP)
            Member(" spaced /d.jpg", img),
            Member("rtl\u202egpj.exe/e.jpg", img),  # bidi override: must not reach the UI as-is
        ]
    )


def mixed_zip() -> bytes:
    """Good images interleaved with bad neighbours; every good one must still come out."""
    good = jpeg()
    bad_crc = Member("cats/bad_crc.jpg", good, crc=0x12345678)
    return build_zip(
        [
            Member("cats/1.jpg", good),
            Member(
                "cats/bomb.jpg", compressed=deflate_zeros(50 * 1024 * 1024), file_size=10, crc=0
            ),
            Member("cats/2.jpg", good, method=0),
            bad_crc,
            Member("cats/zipped.jpg", build_zip([Member("x.jpg", good)])),  # ZIP magic in a .jpg
            Member("cats/link.jpg", b"x", external_attr=0o120777 << 16),
            Member("dogs/3.png", png()),
            Member(
                "dogs/truncated.jpg", compressed=zlib.compress(good)[2:100], file_size=len(good)
            ),
            Member("dogs/4.gif", animated("GIF")),
        ]
    )
