"""Shared fixtures: a user who owns things and one who must get 404, their projects, and real
processes (an RQ worker, a daphne server, Chromium) for the integration and browser tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from bench.common import free_port, wait_for_port
from projects.models import Label, Project

BASE_DIR = Path(settings.BASE_DIR)
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session", autouse=True)
def _clean_redis() -> None:
    """Tests get an empty Redis database (queues, channel layer, cache)."""
    import django_rq

    django_rq.get_connection("default").flushdb()


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    """Rate-limit counters are per client address, and every test client is 127.0.0.1."""
    from django.core.cache import cache

    client = cache._cache.get_client(write=True)
    for pattern in ("*ratelimit:*", "*throttle_*"):
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)


# AIMAKER_TEST_S3=1 (`make test-s3`): media in a real S3 HTTP endpoint (moto's server) instead
# of a folder, for the storage-touching tests.
S3_TESTS = os.environ.get("AIMAKER_TEST_S3") == "1"
S3_BUCKET = "aimaker-test-media"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory) -> Iterator[str]:
    """moto's S3 server on 127.0.0.1 with an empty bucket; yields its URL."""
    import boto3

    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port, proc, timeout=30)
        url = f"http://127.0.0.1:{port}"
        boto3.client(
            "s3", endpoint_url=url, region_name="us-east-1",
            aws_access_key_id="test", aws_secret_access_key="test",
        ).create_bucket(Bucket=S3_BUCKET)  # fmt: skip
        yield url
    finally:
        _stop(proc)
        log.close()


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings, request) -> None:
    storages = dict(settings.STORAGES)
    if S3_TESTS:
        prefix = f"t-{tmp_path.name}"  # each test its own key prefix in the bucket
        storages["default"] = {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": S3_BUCKET, "endpoint_url": request.getfixturevalue("s3_server"),
                "access_key": "test", "secret_key": "test", "region_name": "us-east-1",
                "location": prefix, "default_acl": None, "querystring_auth": True,
            },
        }  # fmt: skip
    else:
        storages["default"] = {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        }
    settings.STORAGES = storages
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _no_offtopic_check(settings, monkeypatch) -> None:
    # A collection would queue the off-topic check (a second job, the real backbone): off,
    # here and in worker/server subprocesses, except where a test turns it on (tests/training).
    settings.AIMAKER_OFFTOPIC_CHECK = False
    monkeypatch.setenv("AIMAKER_OFFTOPIC_CHECK", "0")


@pytest.fixture(autouse=True)
def _fresh_channel_layer():
    # Each test gets its own channel layer (and Redis pools): a layer whose pools were made
    # by an earlier test's event loop must not serve this test's loop.
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def password() -> str:
    return "correct-horse-battery-9"


@pytest.fixture
def owner(django_user_model, password):
    return django_user_model.objects.create_user("alice", "alice@example.com", password)


@pytest.fixture
def other(django_user_model, password):
    return django_user_model.objects.create_user("bob", "bob@example.com", password)


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def other_client(owner, other):
    from django.test import Client

    c = Client()
    c.force_login(other)
    return c


@pytest.fixture
def staff(django_user_model, password):
    return django_user_model.objects.create_user("mod", "mod@example.com", password, is_staff=True)


@pytest.fixture
def staff_client(staff):
    from django.test import Client

    c = Client()
    c.force_login(staff)
    return c


@pytest.fixture
def owner_api(owner):
    """A script of the owner's, with a bearer token."""
    from django.test import Client

    from inference import services

    _token, secret = services.token_create(user=owner, name="script")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def other_api(other):
    """Another user's script: must get 404 for the owner's private things."""
    from django.test import Client

    from inference import services

    _token, secret = services.token_create(user=other, name="script")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


@pytest.fixture
def project(owner) -> Project:
    project = Project.objects.create(owner=owner, name="Cats or dogs", description="pets")
    Label.objects.create(project=project, name="cat")
    Label.objects.create(project=project, name="dog")
    return project


@pytest.fixture
def public_project(owner) -> Project:
    return Project.objects.create(owner=owner, name="Birds", visibility=Project.Visibility.PUBLIC)


# --- Real processes -----------------------------------------------------------------------


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for a child process that must see this test's database and Redis."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        url = f"sqlite:///{db['NAME']}"
    else:
        user = db.get("USER") or ""
        auth = f"{user}:{db.get('PASSWORD')}@" if db.get("PASSWORD") else f"{user}@"
        host = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
        url = f"postgres://{auth}{host}/{db['NAME']}"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        REDIS_URL=settings.REDIS_URL,
        AIMAKER_DATA_DIR=str(settings.DATA_DIR),
        PYTHONUNBUFFERED="1",
    )
    options = settings.STORAGES["default"].get("OPTIONS", {})
    if "bucket_name" in options:  # the S3 test run: children use the same bucket and prefix
        env.update(
            AWS_STORAGE_BUCKET_NAME=options["bucket_name"],
            AWS_S3_ENDPOINT_URL=options["endpoint_url"],
            AWS_S3_REGION_NAME="us-east-1",
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_LOCATION=options["location"],
        )
    elif options.get("location"):
        env["AIMAKER_MEDIA_ROOT"] = str(options["location"])
    env.update(extra)
    return env


def _stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class WorkerProcess:
    def __init__(
        self, queues: tuple[str, ...], log_path: Path, env: dict[str, str] | None = None
    ) -> None:
        self.queues = queues
        self.log_path = log_path
        self.env = env or {}  # extra environment, e.g. a test provider's base URL
        self.proc: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        self.log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, str(BASE_DIR / "manage.py"), "rqworker", *self.queues],
            env=subprocess_env(**self.env),
            cwd=BASE_DIR,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        return self

    def stop(self) -> None:
        if self.proc:
            _stop(self.proc)
            self.log.close()

    def kill(self) -> None:
        assert self.proc
        # Children first: once the parent is dead, its work-horse is reparented and lost.
        children = _children(self.proc.pid)
        self.proc.send_signal(signal.SIGKILL)
        for child in children:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def _children(pid: int) -> list[int]:
    import psutil

    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


@pytest.fixture
def rq_worker(transactional_db, tmp_path) -> Iterator[WorkerProcess]:
    """A real `manage.py rqworker` process on every queue, sharing the test database."""
    worker = WorkerProcess(("default", "collect", "training"), tmp_path / "worker.log").start()
    yield worker
    worker.stop()


@contextlib.contextmanager
def daphne_server(log_path: Path, **env: str) -> Iterator[str]:
    """A real daphne serving the ASGI app (HTTP + WebSocket) on the test database; `env`
    overrides the child's environment (e.g. another REDIS_URL)."""
    port = free_port()
    log = open(log_path, "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "aimaker.asgi:application"],
        env=subprocess_env(**env), cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port, proc, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(proc)
        log.close()


@pytest.fixture
def live_asgi(transactional_db, tmp_path) -> Iterator[str]:
    """The real ASGI app under daphne (HTTP + WebSocket), on the test database."""
    with daphne_server(tmp_path / "daphne.log") as url:
        yield url


@pytest.fixture
def page(tmp_path):
    """A Chromium page (Playwright). Per test: Playwright's sync API runs an event loop in
    this thread while it is open, which must be gone before the database is flushed."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); browser tests skipped")
    from playwright.sync_api import sync_playwright

    # The ORM calls a test makes between browser steps are ordinary blocking calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-quic", "--no-first-run", "--disable-component-update",
                      "--disable-sync",
                      # A fake camera that is allowed without a prompt (camera capture tests).
                      "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"],
            )  # fmt: skip
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(20_000)
            try:
                yield page
            finally:
                try:
                    page.screenshot(path=str(tmp_path / "last-page.png"))
                except Exception:  # noqa: BLE001 - the screenshot is only a debugging aid
                    pass
                browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def pytest_report_header(config) -> list[str]:
    db = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    redis = "embedded" if settings.REDIS_URL.startswith("unix://") else settings.REDIS_URL
    browser = CHROMIUM if shutil.which(CHROMIUM) else "missing (browser tests skip)"
    return [f"aimaker: database={db} redis={redis} chromium={browser}"]
