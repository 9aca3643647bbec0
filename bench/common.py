"""What the benchmarks share."""

import os
import socket
import subprocess
import tempfile
import time
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server process exited early")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("the server did not start in time")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def machine() -> dict[str, object]:
    """What every benchmark line ends with, so its figures can be compared."""
    import platform

    return {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2),
            "python": platform.python_version()}  # fmt: skip
