"""ZIP uploads stream straight to a file under DATA_DIR/uploads (never into memory, never a
second copy), and are refused mid-stream once they pass AIMAKER_ZIP_MAX_BYTES."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload

TOKEN_RE = re.compile(r"^[0-9a-f]{32}$")
STALE_AFTER = 24 * 3600  # abandoned plans: their archives are swept (monitor, next upload)
PART_STALE_AFTER = 3600  # a ".part" nobody wrote to for an hour: its upload died
FIELD = "archive"  # the one file field a ZIP upload may carry


def uploads_dir() -> Path:
    path = Path(settings.DATA_DIR) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def archive_path(project_id: int, token: str) -> Path | None:
    """The stored archive for this project and token, or None (bad token, gone)."""
    if not TOKEN_RE.match(token):
        return None
    path = uploads_dir() / f"p{project_id}-{token}.zip"
    return path if path.is_file() else None


def sweep_stale() -> int:
    now, swept = time.time(), 0
    for path in uploads_dir().glob("p*-*.zip*"):
        limit = PART_STALE_AFTER if path.suffix == ".part" else STALE_AFTER
        try:
            if path.stat().st_mtime < now - limit:
                path.unlink()
                swept += 1
        except OSError:
            pass
    return swept


class StoredArchive(UploadedFile):
    def __init__(self, path: Path, name: str, size: int, token: str) -> None:
        super().__init__(None, name, "application/zip", size)
        self.path = path
        self.token = token


class ArchiveUploadHandler(FileUploadHandler):
    """Writes each uploaded file to uploads/p<project>-<token>.zip as it arrives."""

    def __init__(self, request=None, *, project_id: int) -> None:
        super().__init__(request)
        self.project_id = project_id
        self.too_large = False
        self.received = False
        self.path: Path | None = None
        self._fh = None
        self._size = 0

    def new_file(self, field_name, *args, **kwargs) -> None:
        # Only the first file of the "archive" field is kept; anything else in the request is
        # read past without a byte stored (each could otherwise take up to the size limit).
        if field_name != FIELD or self.received:
            raise SkipFile
        self.received = True
        super().new_file(field_name, *args, **kwargs)
        self.token = secrets.token_hex(16)
        self.path = uploads_dir() / f"p{self.project_id}-{self.token}.zip.part"
        self._fh = open(self.path, "wb")  # noqa: SIM115 - closed in file_complete/upload_complete
        self._size = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self._size += len(raw_data)
        if self._size > settings.AIMAKER_ZIP_MAX_BYTES:
            self.too_large = True
            self._discard()
            raise StopUpload(connection_reset=False)  # answer with a message
        assert self._fh is not None
        self._fh.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> StoredArchive:
        assert self._fh is not None
        self._fh.close()
        self._fh = None
        final = self.path.with_suffix("")  # drop ".part"
        self.path.replace(final)
        return StoredArchive(final, self.file_name, file_size, self.token)

    def upload_interrupted(self) -> None:
        self._discard()

    def upload_complete(self) -> None:
        if self._fh is not None:  # the request ended before the file did
            self._discard()

    def _discard(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self.path is not None:
            self.path.unlink(missing_ok=True)
