"""versions, set_default, predict and export management commands."""

import json
import zipfile

import pytest
from django.core.management import CommandError, call_command

from inference.models import DefaultSwitch
from projects.models import Project

from .conftest import colour_jpeg

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_it_lists_versions_with_the_default(published, make_version, ai):
    make_version(ai)
    out = run("versions", "--project", str(ai.pk))
    assert "* v1" in out and "v2" in out and "0.9000" in out


def test_it_sets_the_default_like_the_page(published, make_version, ai, owner):
    make_version(ai)
    out = run("set_default", "--project", "Colours", "--version", "latest", "--note", "cli")
    assert "v1 -> v2" in out
    switch = DefaultSwitch.objects.filter(project=ai).first()
    assert (switch.to_number, switch.note, switch.via, switch.user) == (2, "cli", "command", owner)


def test_it_predicts_files_one_json_line_each(published, ai, tmp_path):
    good = tmp_path / "red.jpg"
    good.write_bytes(colour_jpeg("red"))
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image")
    lines = run("predict", "--project", str(ai.pk), str(good), str(bad), str(tmp_path / "gone.jpg"))
    first, second, third = [json.loads(line) for line in lines.splitlines()]
    assert first["label"] == "red" and first["version"] == 1 and first["file"] == str(good)
    assert set(first["probabilities"]) == {"red", "green", "blue"}
    assert first["unknown"] is None  # this version has no unknown-detector
    assert "not an image" in second["error"] and "cannot read" in third["error"]
    assert "explanation" not in first
    explained = json.loads(run("predict", "--project", str(ai.pk), "--explain", str(good)))
    assert len(explained["explanation"]["grid"]) == 8


def test_it_exports_a_zip(published, ai, tmp_path):
    out = tmp_path / "m.zip"
    run("export", "--project", str(ai.pk), "--version", "1", "--format", "onnx", str(out))
    assert "model.onnx" in zipfile.ZipFile(out).namelist()


def test_it_asks_for_the_owner_when_names_clash(published, ai, other, make_version):
    clash = Project.objects.create(owner=other, name="Colours")
    make_version(clash)
    with pytest.raises(CommandError, match="--owner"):
        run("versions", "--project", "Colours")
    assert "v1" in run("versions", "--project", "Colours", "--owner", "bob")
    with pytest.raises(CommandError, match="No project"):
        run("versions", "--project", "Colours", "--owner", "nobody")


def test_it_explains_a_missing_default(make_version, ai, tmp_path):
    make_version(ai)
    with pytest.raises(CommandError, match="no default"):
        run("predict", "--project", str(ai.pk), str(tmp_path / "x.jpg"))


def test_it_says_no_project_for_a_name_made_of_unicode_digits(published):
    with pytest.raises(CommandError, match="No project"):
        run("versions", "--project", "²")
