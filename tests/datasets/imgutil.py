"""Small generated images and archives for the datasets tests."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable

import pytest
from PIL import Image as PILImage


def image_bytes(seed: int = 0, fmt: str = "JPEG", size: tuple[int, int] = (64, 48)) -> bytes:
    """A distinct image per seed: a blocky pattern, so perceptual hashes differ too."""
    img = PILImage.new("RGB", size)
    px = img.load()
    w, h = size
    for x in range(w):
        for y in range(h):
            bit = ((x * 8 // w) * 3 + (y * 8 // h) * 5 + seed * 7) % 11 > 5
            v = (seed * 37 + x * 3 + y * 2) % 256
            px[x, y] = (v, 255 - v, (seed * 91) % 256) if bit else (20, 20, (seed * 13) % 256)
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


def zip_bytes(entries: Iterable[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return out.getvalue()


def add_images(project, label, n: int, start: int = 0) -> list:
    """n real images (files and all) in `label`, through the ingest service."""
    from datasets.models import Image
    from datasets.services import image_ingest

    out = []
    for seed in range(start, start + n):
        outcome = image_ingest(
            project=project, label=label, data=image_bytes(seed), source=Image.Source.UPLOAD,
            added_by=project.owner, original_name=f"img{seed}.jpg",
        )  # fmt: skip
        assert outcome.status == "added", outcome
        out.append(outcome.image)
    return out


@pytest.fixture
def data_dir(tmp_path, settings):
    """A DATA_DIR of this test's own (uploaded archives land in DATA_DIR/uploads)."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    return settings.DATA_DIR
