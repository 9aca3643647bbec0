"""datasets.imaging: hostile uploads are refused quickly with a clear reason; good ones are
normalized (RGB JPEG, shorter side 256) and always re-encoded."""

from __future__ import annotations

import io
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from datasets.imaging import (
    ImageLimits,
    ImageRejected,
    ProcessedImage,
    process_image,
    thumbnail_jpeg,
)
from tests.datasets import hostile

SMALL = ImageLimits(max_bytes=64 * 1024, max_pixels=100_000)


def rejected(data: bytes, limits: ImageLimits = ImageLimits()) -> str:
    started = time.perf_counter()
    with pytest.raises(ImageRejected) as exc:
        process_image(data, limits=limits)
    assert time.perf_counter() - started < 1.0
    return exc.value.reason


def opened(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def assert_normalized(result: ProcessedImage, short_side: int = 256) -> None:
    norm = opened(result.normalized)
    assert (norm.format, norm.mode) == ("JPEG", "RGB")
    assert min(norm.size) == short_side
    assert not norm.info.get("exif") and not norm.info.get("icc_profile")
    thumb = opened(result.thumbnail)
    assert (thumb.format, thumb.mode, thumb.size) == ("JPEG", "RGB", (160, 160))


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (hostile.empty_file, "empty file"),
        (hostile.text_named_jpg, "not an image"),
        (hostile.html_as_jpeg, "not an image"),
        (hostile.truncated_jpeg, "corrupt or truncated image"),
        (hostile.corrupt_jpeg, "corrupt or truncated image"),
        (hostile.jpeg_html_polyglot, "file contains HTML/script content (polyglot)"),
        (hostile.jpeg_html_in_comment, "file contains HTML/script content (polyglot)"),
        (hostile.jpeg_svg_trailing, "file contains HTML/script content (polyglot)"),
        (hostile.jpeg_zip_polyglot, "file is also a ZIP archive (polyglot)"),
        (hostile.tiff, "unsupported image format: TIFF"),
        (hostile.bmp, "unsupported image format: BMP"),
        (hostile.svg, "unsupported image format: SVG"),
    ],
)
def test_it_refuses_hostile_input_with_a_clear_reason(
    build: Callable[[], bytes], reason: str
) -> None:
    assert rejected(build()) == reason


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (hostile.jpeg_marker_flood, "corrupt or truncated image"),
        (hostile.jpeg_fill_flood, "corrupt or truncated image"),
        (hostile.gif_sub_block_flood, "corrupt or truncated image"),
        (hostile.png_chunk_flood, "corrupt or truncated image"),
        (hostile.jpeg_zip_signature_flood, "file is also a ZIP archive (polyglot)"),
    ],
)
def test_it_refuses_pathological_structures_quickly(
    build: Callable[[], bytes], reason: str
) -> None:
    assert rejected(build()) == reason


def test_it_refuses_oversized_files_before_parsing() -> None:
    limits = ImageLimits(max_bytes=20 * 1024 * 1024)
    assert rejected(hostile.oversized_file(limits.max_bytes), limits) == (
        "file too large (20971521 bytes, limit 20 MB)"
    )
    assert rejected(b"\xff\xd8\xff" + bytes(26_000_000), limits) == (
        "file too large (24.8 MB, limit 20 MB)"
    )


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (hostile.png_bomb, "image too large (20000x20000 pixels, limit 40 MP)"),
        (hostile.png_header_only_bomb, "image too large (100000x100000 pixels, limit 40 MP)"),
        (hostile.gif_bomb, "image too large (65535x65535 pixels, limit 40 MP)"),
    ],
)
def test_it_refuses_decompression_bombs_from_the_header(
    build: Callable[[], bytes], reason: str
) -> None:
    data = build()
    tracemalloc.start()
    try:
        assert rejected(data) == reason
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024


def test_it_checks_pixels_against_the_configured_limit() -> None:
    limits = ImageLimits(max_pixels=1000)
    assert rejected(hostile.jpeg((64, 48)), limits) == (
        "image too large (64x48 pixels, limit 0.001 MP)"
    )
    assert rejected(hostile.png((32, 32)), limits) == (
        "image too large (32x32 pixels, limit 0.001 MP)"
    )


def test_it_keeps_pillows_own_bomb_limit_in_sync() -> None:
    process_image(hostile.jpeg(), limits=ImageLimits(max_pixels=12_345_678))
    assert Image.MAX_IMAGE_PIXELS == 12_345_678
    process_image(hostile.jpeg())
    assert Image.MAX_IMAGE_PIXELS == ImageLimits().max_pixels


def test_it_refuses_extreme_aspect_ratios() -> None:
    assert rejected(hostile.png((2000, 10))) == "extreme aspect ratio (2000x10, limit 20:1)"


def test_it_refuses_webp_and_gif_that_are_cut_short() -> None:
    for fmt in ("WEBP", "GIF", "PNG"):
        data = hostile.encode(hostile.pattern((200, 150)), fmt)
        assert rejected(data[: len(data) // 2]) == "corrupt or truncated image", fmt


# --------------------------------------------------------------------------- normalization


def test_it_normalizes_a_jpeg_to_an_rgb_jpeg_with_shorter_side_256() -> None:
    data = hostile.jpeg((600, 400))
    result = process_image(data)
    assert (result.format, result.width, result.height) == ("JPEG", 600, 400)
    assert_normalized(result)
    assert opened(result.normalized).size == (384, 256)
    assert len(result.sha256) == 64 and len(result.phash) == 16
    assert result.extension == ".jpg"


def test_it_makes_the_same_normalized_image_for_a_prediction_and_its_thumbnail_later() -> None:
    data = hostile.jpeg((600, 400))
    full = process_image(data)
    lean = process_image(data, for_dataset=False)
    assert (lean.normalized, lean.sha256) == (full.normalized, full.sha256)
    assert lean.original == lean.thumbnail == b"" and lean.phash == ""
    later = opened(thumbnail_jpeg(lean.normalized))
    assert later.size == opened(full.thumbnail).size == (160, 160)
    # Made from the stored JPEG, it looks like the one made from the decoded pixels.
    diff = np.abs(np.asarray(later, np.int16) - np.asarray(opened(full.thumbnail), np.int16))
    assert later.mode == "RGB" and diff.mean() < 3


def test_it_upscales_small_images_so_training_input_is_uniform() -> None:
    result = process_image(hostile.png((50, 40)))
    assert opened(result.normalized).size == (320, 256)


def test_it_reencodes_every_original_and_drops_metadata_and_trailing_data() -> None:
    data = hostile.jpeg(comment=b"secret location") + b"\x00trailing garbage"
    result = process_image(data)
    assert result.original != data
    assert b"secret location" not in result.original
    assert not result.original.endswith(b"trailing garbage")
    original = opened(result.original)
    assert (original.format, original.size) == ("JPEG", (64, 48))
    assert "exif" not in original.info and "comment" not in original.info


def test_it_converts_cmyk_jpeg_to_rgb() -> None:
    result = process_image(hostile.cmyk_jpeg())
    assert result.format == "JPEG"
    assert_normalized(result)
    assert opened(result.original).mode == "RGB"


def test_it_scales_16_bit_png_instead_of_clipping() -> None:
    result = process_image(hostile.png_16bit())
    assert_normalized(result)
    original = opened(result.original)
    assert (original.format, original.mode) == ("PNG", "L")
    # top-left is dark, bottom-right bright: clipping to 8 bits would make nearly all white.
    assert original.getpixel((0, 0)) < 10 and original.getpixel((63, 47)) > 240
    assert original.getpixel((10, 10)) < 200


def test_it_composites_transparency_on_white() -> None:
    result = process_image(hostile.palette_png_with_transparency())
    norm = opened(result.normalized)
    left, right = norm.getpixel((10, 128)), norm.getpixel((250, 128))
    assert left[0] > 200 and left[1] < 50  # red
    assert min(right) > 240  # transparent -> white
    original = opened(result.original)
    assert original.format == "PNG" and "transparency" in original.info


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_it_takes_the_first_frame_of_animations(fmt: str) -> None:
    result = process_image(hostile.animated(fmt))
    assert result.format == fmt and (result.width, result.height) == (40, 30)
    r, g, b = opened(result.normalized).getpixel((100, 100))
    assert r > 200 and g < 60 and b < 60
    original = opened(result.original)
    assert original.format == fmt and getattr(original, "n_frames", 1) == 1


def test_it_applies_exif_orientation() -> None:
    result = process_image(hostile.exif_rotated_jpeg())
    assert (result.width, result.height) == (20, 40)  # stored 40x20, displayed 20x40
    norm = opened(result.normalized)
    assert norm.size == (256, 512)
    top, bottom = norm.getpixel((128, 100)), norm.getpixel((128, 400))
    assert top[0] > 200 and top[2] < 60  # red on top
    assert bottom[2] > 200 and bottom[0] < 60  # blue at the bottom
    original = opened(result.original)
    assert original.size == (20, 40) and not original.getexif().get(0x0112)


def test_it_gives_near_identical_phash_for_a_resized_copy() -> None:
    import imagehash

    scene = hostile.scene((800, 600))
    big = process_image(hostile.encode(scene, "JPEG", quality=90))
    small = process_image(hostile.encode(scene.resize((400, 300)), "WEBP", quality=70))
    assert big.sha256 != small.sha256
    assert imagehash.hex_to_hash(big.phash) - imagehash.hex_to_hash(small.phash) <= 4


def test_it_can_downscale_originals_with_jpeg_draft_without_visible_loss() -> None:
    import numpy as np

    data = hostile.encode(hostile.scene((2400, 1800)), "JPEG", quality=90)
    full = process_image(data)
    fast = process_image(data, limits=ImageLimits(original_max_side=1000))
    assert (fast.width, fast.height) == (2400, 1800)  # the real size is still reported
    assert opened(fast.original).size == (1000, 750)
    a = np.asarray(opened(full.normalized), dtype=float)
    b = np.asarray(opened(fast.normalized), dtype=float)
    psnr = 10 * np.log10(255**2 / np.mean((a - b) ** 2))
    assert psnr > 35


def test_it_is_fast_for_a_typical_photo() -> None:
    data = hostile.jpeg((500, 375))
    process_image(data)
    started = time.process_time()  # CPU time: immune to other processes on a busy CI machine
    for _ in range(10):
        process_image(data)
    assert (time.process_time() - started) / 10 < 0.05
