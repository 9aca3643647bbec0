"""`manage.py import_images`: the CLI import, same service as the browser."""

import io
import zipfile

import pytest
from django.core.management import CommandError, call_command

from datasets.models import Image
from projects.models import Project
from tests.datasets import hostile
from tests.datasets.imgutil import image_bytes

pytestmark = pytest.mark.django_db


def _tree(root):
    for label, seeds in (("cat", range(3)), ("dog", range(10, 12))):
        (root / label).mkdir(parents=True)
        for s in seeds:
            (root / label / f"{s}.jpg").write_bytes(image_bytes(s))
    (root / "dog" / "copy.jpg").write_bytes(image_bytes(0))  # duplicate of cat/0.jpg
    (root / "dog" / "notes.txt").write_text("hello")
    (root / "dog" / "fake.jpg").write_bytes(b"not an image")
    return root


def _run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_images", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_imports_a_folder_into_a_new_private_project(owner, tmp_path):
    out, err = _run("--owner", "alice", "--project", "Pets", str(_tree(tmp_path / "pets")))
    project = Project.objects.get(name="Pets")
    assert project.owner == owner and project.visibility == "private"
    counts = {n: Image.objects.filter(label__name=n).count() for n in ("cat", "dog")}
    assert counts == {"cat": 3, "dog": 2}
    assert "Accepted: 5" in out and "  cat: 3" in out and "Duplicates skipped: 1" in out
    assert "Rejected: 2" in out and "dog/fake.jpg: not an image" in out
    assert "dog/notes.txt: not an image file" in out
    assert "[###" in err and "Created private project" in err
    # Again: everything is a duplicate, nothing new, same project.
    out, _ = _run("--owner", "alice", "--project", "Pets", str(tmp_path / "pets"))
    assert "Accepted: 0" in out and "Duplicates skipped: 6" in out
    assert Project.objects.filter(name="Pets").count() == 1


def test_it_imports_a_zip_into_an_existing_project(project, tmp_path):
    root = _tree(tmp_path / "pets")
    archive = tmp_path / "pets.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(root.rglob("*")):
            zf.write(path, path.relative_to(tmp_path))  # wrapped in "pets/": looked through
    out, _ = _run("--owner", "alice", "--project", project.name, str(archive))
    assert "Accepted: 5" in out and "Rejected: 2" in out
    assert sorted(project.labels.values_list("name", flat=True)) == ["cat", "dog"]
    assert set(Image.objects.values_list("source", flat=True)) == {"zip"}


def test_it_fails_clearly(owner, tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(hostile.overlapping_zip())
    with pytest.raises(CommandError, match="overlapping entries"):
        _run("--owner", "alice", "--project", "X", str(bad))
    with pytest.raises(CommandError, match="No user"):
        _run("--owner", "nobody", "--project", "X", str(tmp_path))
    with pytest.raises(CommandError, match="does not exist"):
        _run("--owner", "alice", "--project", "X", str(tmp_path / "missing"))
