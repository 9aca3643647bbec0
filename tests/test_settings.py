"""The settings module: zero-config defaults, production checks, and a light start-up."""

import json
import os
import subprocess
import sys

from django.conf import settings

MANAGE = [sys.executable, str(settings.BASE_DIR / "manage.py")]


# What an operator may set; each test starts from none of them (zero configuration).
CONFIG = {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "AIMAKER_HTTPS", "EMAIL_HOST", "EMAIL_BACKEND",
          "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
          "SECURE_HSTS_SECONDS", "DATABASE_URL"}  # fmt: skip


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in CONFIG}
    env.update(extra)
    return env


def _settings(tmp_path, names, **extra):
    code = (
        "from django.conf import settings; import json; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))"
    )
    result = subprocess.run(
        [*MANAGE, "shell", "-c", code],
        env=_env(AIMAKER_DATA_DIR=str(tmp_path), **extra),
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


SECURITY = ["DEBUG", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
            "SECURE_HSTS_SECONDS", "EMAIL_BACKEND", "ALLOWED_HOSTS"]  # fmt: skip


def test_it_runs_without_debug_over_plain_http_with_zero_configuration(tmp_path):
    got = _settings(tmp_path, SECURITY)
    assert got["DEBUG"] is False
    assert not got["SECURE_SSL_REDIRECT"] and got["SECURE_HSTS_SECONDS"] == 0
    assert not got["SESSION_COOKIE_SECURE"] and not got["CSRF_COOKIE_SECURE"]
    assert "127.0.0.1" in got["ALLOWED_HOSTS"] and "localhost" in got["ALLOWED_HOSTS"]
    assert got["EMAIL_BACKEND"].endswith("console.EmailBackend")  # no SMTP server needed
    assert _settings(tmp_path, ["DEBUG"], DEBUG="1")["DEBUG"] is True


def test_a_deployment_keeps_the_https_defaults(tmp_path):
    deployed = {"ALLOWED_HOSTS": "aimaker.example.com", "SECRET_KEY": "k" * 50}
    got = _settings(tmp_path, SECURITY, **deployed)
    assert got["DEBUG"] is False and got["ALLOWED_HOSTS"] == ["aimaker.example.com"]
    assert got["SECURE_SSL_REDIRECT"] and got["SECURE_HSTS_SECONDS"] == 31536000
    assert got["SESSION_COOKIE_SECURE"] and got["CSRF_COOKIE_SECURE"]
    # Behind plain http on purpose, or https on a local machine: one switch each way.
    assert not _settings(tmp_path, ["SECURE_SSL_REDIRECT"], AIMAKER_HTTPS="0", **deployed)[
        "SECURE_SSL_REDIRECT"
    ]
    assert _settings(tmp_path, ["SESSION_COOKIE_SECURE"], AIMAKER_HTTPS="1")[
        "SESSION_COOKIE_SECURE"
    ]
    smtp = _settings(tmp_path, ["EMAIL_BACKEND"], EMAIL_HOST="mail.example.com")
    assert smtp["EMAIL_BACKEND"].endswith("smtp.EmailBackend")


def test_a_plain_run_logs_in_over_http_and_hides_the_url_list_on_404(tmp_path):
    env = _env(AIMAKER_DATA_DIR=str(tmp_path))
    migrate = subprocess.run([*MANAGE, "migrate", "--noinput"], env=env, capture_output=True,
                             text=True, cwd=settings.BASE_DIR)  # fmt: skip
    assert migrate.returncode == 0, migrate.stderr
    code = """
from django.contrib.auth.models import User
from django.test import Client
User.objects.create_user("zoe", password="a-long-secret-77")
c = Client(enforce_csrf_checks=True)
page = c.get("/accounts/login/")
token = page.cookies["csrftoken"]
r = c.post("/accounts/login/", {"username": "zoe", "password": "a-long-secret-77",
           "csrfmiddlewaretoken": token.value})
print("LOGIN", page.status_code, r.status_code, r.get("Location"),
      bool(token["secure"]), bool(r.cookies["sessionid"]["secure"]))
missing = c.get("/no-such-page/")
body = missing.content.decode()
print("404", missing.status_code, "URLconf" in body or "urlpatterns" in body,
      "Page not found" in body)
"""
    result = subprocess.run([*MANAGE, "shell", "-c", code], env=env, capture_output=True,
                            text=True, cwd=settings.BASE_DIR)  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    # No https redirect, cookies that travel over http, a signed-in user.
    assert lines["LOGIN"] == "200 302 /projects/ False False"
    assert lines["404"] == "404 False True"


def test_it_is_deploy_clean_with_production_settings(tmp_path):
    result = subprocess.run(
        [*MANAGE, "check", "--deploy", "--fail-level", "WARNING"],
        env=_env(
            DEBUG="0",
            SECRET_KEY="x" * 30 + "a-real-production-secret-key-0123456789",
            ALLOWED_HOSTS="aimaker.example.com",
            AIMAKER_DATA_DIR=str(tmp_path),
        ),
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_to_start_a_deployment_without_a_secret_key(tmp_path):
    result = subprocess.run(
        [*MANAGE, "check"],
        env=_env(ALLOWED_HOSTS="aimaker.example.com", AIMAKER_DATA_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when ALLOWED_HOSTS is set (a deployment)." in result.stderr


def test_it_generates_and_keeps_a_development_secret_key(tmp_path):
    code = "from django.conf import settings; print(settings.SECRET_KEY)"

    def run():
        return (
            subprocess.run(
                [*MANAGE, "shell", "-c", code],
                env=_env(AIMAKER_DATA_DIR=str(tmp_path)),
                capture_output=True,
                text=True,
                cwd=settings.BASE_DIR,
            )
            .stdout.strip()
            .splitlines()[-1]
        )

    first = run()
    assert len(first) > 40 and first == run()
    assert (tmp_path / "secret_key").read_text().strip() == first


def test_the_web_app_and_worker_parent_do_not_import_tensorflow_at_start_up():
    # Every module the web process and an RQ worker load at start-up, jobs included.
    code = (
        "import sys, importlib, django, os;"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'aimaker.settings');"
        "import aimaker.asgi;"
        "from django.apps import apps;"
        "[importlib.import_module(m) for a in apps.get_app_configs() for m in "
        "(a.name + '.jobs', a.name + '.views', a.name + '.services') "
        "if importlib.util.find_spec(m)];"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'jax', 'torch', 'onnxruntime', 'tf2onnx'));"
        "print('HEAVY', heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=settings.BASE_DIR
    )
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr
