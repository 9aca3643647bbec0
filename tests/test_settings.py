"""The settings module: zero-config defaults, production checks, and a light start-up."""

import os
import subprocess
import sys

from django.conf import settings

MANAGE = [sys.executable, str(settings.BASE_DIR / "manage.py")]


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    env.update(extra)
    return env


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


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off(tmp_path):
    result = subprocess.run(
        [*MANAGE, "check"],
        env=_env(DEBUG="0", AIMAKER_DATA_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


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
