"""The embedded Redis's socket lives where no other local user can have put it first."""

import os
import stat

import pytest

from aimaker import embedded_redis


@pytest.fixture
def long_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded_redis.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    return tmp_path / ("d" * 120)


def test_it_puts_a_long_paths_socket_in_a_private_directory(long_dir):
    sock = embedded_redis._socket_path(long_dir)
    info = os.lstat(sock.parent)
    assert len(str(sock)) <= 100
    assert stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
    assert stat.S_IMODE(info.st_mode) == 0o700
    assert embedded_redis._socket_path(long_dir) == sock  # stable: later processes find it


def test_it_refuses_a_directory_someone_else_could_use(long_dir):
    sock = embedded_redis._socket_path(long_dir)
    sock.parent.chmod(0o777)
    with pytest.raises(RuntimeError, match="not a private directory"):
        embedded_redis._socket_path(long_dir)


def test_it_refuses_a_link_planted_in_its_place(long_dir, tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    planted = embedded_redis._socket_path(long_dir).parent
    planted.rmdir()
    planted.symlink_to(target)
    with pytest.raises(RuntimeError, match="not a private directory"):
        embedded_redis._socket_path(long_dir)
