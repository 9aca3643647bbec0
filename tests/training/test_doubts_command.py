"""`manage.py doubts`: one JSON line per flagged image of a run, nothing else on stdout;
errors on stderr with a non-zero exit."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from projects.models import Project
from tests.training.conftest import make_run
from tests.training.test_doubts import doubt_run
from training.management.commands.doubts import Command

pytestmark = pytest.mark.django_db


def run(*args) -> list[dict]:
    out = StringIO()
    call_command("doubts", *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_it_prints_the_latest_succeeded_runs_flagged_images(ready_project):
    first, images = doubt_run(ready_project)
    make_run(ready_project, status="failed")  # newer but failed: not the default
    lines = run("--project", ready_project.name)
    assert lines == [
        {"image": images[6].pk, "original_name": images[6].original_name, "given": "dog",
         "suggested": "cat", "confidence": 0.95},
        {"image": images[1].pk, "original_name": images[1].original_name, "given": "cat",
         "suggested": "dog", "confidence": 0.81},
    ]  # fmt: skip


def test_it_reads_a_given_run_and_prints_nothing_when_nothing_looks_wrong(ready_project, owner):
    doubt_run(ready_project)
    clean, _ = doubt_run(ready_project, doubts=[])
    args = ["--project", str(ready_project.pk), "--owner", owner.username]
    assert run(*args, "--run", str(clean.number)) == []
    assert len(run(*args, "--run", "1")) == 2


def test_it_explains_errors_on_stderr_with_a_non_zero_exit(ready_project, capsys):
    with pytest.raises(CommandError, match="no succeeded training run"):
        run("--project", ready_project.name)
    make_run(ready_project, status="failed")
    with pytest.raises(CommandError, match="no run #5"):
        run("--project", ready_project.name, "--run", "5")
    with pytest.raises(SystemExit) as exit_info:
        Command().run_from_argv(["manage.py", "doubts", "--project", ready_project.name,
                                 "--run", "1"])  # fmt: skip
    assert exit_info.value.code != 0
    out, err = capsys.readouterr()
    assert out == "" and "Run #1 has not succeeded (failed)" in err


def test_it_asks_for_the_owner_when_names_clash(ready_project, other):
    doubt_run(ready_project)
    Project.objects.create(owner=other, name=ready_project.name)
    with pytest.raises(CommandError, match="--owner"):
        run("--project", ready_project.name)
    assert len(run("--project", ready_project.name, "--owner", ready_project.owner.username)) == 2
