"""The deployment files: compose.yaml validates (Debian's docker-compose, offline), every
command it and the Dockerfile run exists, and every variable it sets is one the app reads."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands

ROOT = Path(settings.BASE_DIR)
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
EXTERNAL = {  # read by libraries, not by aimaker/settings.py
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "POSTGRES_DB", "POSTGRES_USER",
    "POSTGRES_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD",
}  # fmt: skip


def manage_commands() -> list[list[str]]:
    found = []
    for service in COMPOSE["services"].values():
        command = service.get("command") or []
        if command[:2] == ["python", "manage.py"]:
            found.append(command[2:])
    dockerfile = (ROOT / "Dockerfile").read_text()
    for cmd in re.findall(r"^CMD (\[.*\])$", dockerfile, re.M):
        parts = yaml.safe_load(cmd)
        if parts[:2] == ["python", "manage.py"]:
            found.append(parts[2:])
    return found


def test_compose_validates_offline():
    if not shutil.which("docker-compose"):
        pytest.skip("docker-compose is not installed (make test installs Debian's where it can)")
    env = {"PATH": "/usr/bin:/bin", "SECRET_KEY": "x", "ALLOWED_HOSTS": "example.org"}
    out = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "compose.yaml"), "config", "-q"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    missing = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "compose.yaml"), "config", "-q"],
        env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert missing.returncode != 0 and "set SECRET_KEY" in missing.stderr


def test_every_command_it_runs_exists_with_its_options():
    commands = manage_commands()
    assert {c[0] for c in commands} >= {"migrate", "runall", "monitor"}
    for command in commands:
        assert command[0] in get_commands(), command
        if command[0] == "runall":  # the options parse (argparse would exit otherwise)
            from projects.management.commands.runall import Command

            Command().create_parser("manage.py", "runall").parse_args(command[1:])


def test_every_variable_it_sets_is_read_by_the_app():
    source = (ROOT / "aimaker" / "settings.py").read_text()
    names = set()
    for service in COMPOSE["services"].values():
        names |= set((service.get("environment") or {}).keys())
    unread = sorted(n for n in names - EXTERNAL if f'"{n}"' not in source)
    assert not unread, unread


def test_the_gpu_worker_reserves_a_gpu():
    training = COMPOSE["services"]["training"]
    (device,) = training["deploy"]["resources"]["reservations"]["devices"]
    assert device["capabilities"] == ["gpu"] and training["profiles"] == ["gpu"]
