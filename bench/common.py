"""What the benchmarks share."""

import os
import tempfile
from pathlib import Path


def use_throwaway_data_dir(name: str) -> Path:
    """Point the settings at a new temporary data dir with its own SQLite database, media and
    feature cache. Settings read the environment at import: call this before django.setup().
    Returns the temporary dir; the caller deletes it."""
    tmp = Path(tempfile.mkdtemp(prefix=f"aimaker-bench-{name}-"))
    os.environ["AIMAKER_DATA_DIR"] = str(tmp / "data")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'data' / 'bench.sqlite3'}"
    for variable in ("AIMAKER_MEDIA_ROOT", "AWS_STORAGE_BUCKET_NAME", "AIMAKER_FEATURE_CACHE_DIR"):
        os.environ.pop(variable, None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aimaker.settings")
    return tmp
