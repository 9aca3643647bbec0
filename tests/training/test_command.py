"""`manage.py train`: the same start as the page, clear errors, --inline training."""

import io

import pytest
from django.core.management import CommandError, call_command

from projects.models import Label, Project
from tests.training.conftest import fill
from training.models import TrainingRun


def run_command(*args: str) -> str:
    out = io.StringIO()
    call_command("train", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_it_trains_inline_and_prints_the_metrics(ready_project):
    out = run_command(
        "--project", "cats OR dogs", "--inline", "--param", "epochs=3", "--param",
        "validation_split=0.25", "--param", "augmentation=false", "--param", "batch_size=4",
    )  # fmt: skip
    run = TrainingRun.objects.get()
    assert run.status == "succeeded" and run.params["epochs"] == 3
    assert run.params["augmentation"] is False
    assert "Run #1 succeeded." in out and "validation accuracy" in out
    assert "Training: epoch" in out and f"projects/{ready_project.pk}/runs/1/" in out


@pytest.mark.django_db
def test_it_asks_for_the_owner_when_names_are_ambiguous(ready_project, other):
    twin = Project.objects.create(owner=other, name="Cats or dogs")
    with pytest.raises(CommandError, match="--owner"):
        run_command("--project", "Cats or dogs")
    Label.objects.create(project=twin, name="a")
    with pytest.raises(CommandError, match="at least two labels"):
        run_command("--project", "Cats or dogs", "--owner", "bob")


@pytest.mark.django_db
def test_it_rejects_bad_params_and_unknown_projects(ready_project):
    with pytest.raises(CommandError, match="epochs must be"):
        run_command("--project", str(ready_project.pk), "--param", "epochs=0")
    with pytest.raises(CommandError, match="Unknown training parameter"):
        run_command("--project", str(ready_project.pk), "--param", "epochz=3")
    with pytest.raises(CommandError, match="key=value"):
        run_command("--project", str(ready_project.pk), "--param", "epochs")
    with pytest.raises(CommandError, match="No project"):
        run_command("--project", "nope")
    assert not TrainingRun.objects.exists()


@pytest.mark.django_db
def test_it_starts_from_a_preset_like_the_page(ready_project, monkeypatch):
    from django.core.exceptions import ValidationError

    started = []

    def fake_start(*, project, user, params, enqueue):
        started.append(params)
        raise ValidationError("stop here")  # the parameters are what this test is about

    monkeypatch.setattr("training.management.commands.train.training_run_start", fake_start)
    for args in (("--preset", "best", "--param", "epochs=4"), ("--preset", "fast", "--mode",
                                                                "finetune")):  # fmt: skip
        with pytest.raises(CommandError, match="stop here"):
            run_command("--project", str(ready_project.pk), *args)
    best, fast = started
    assert (best["mode"], best["epochs"], best["finetune_epochs"]) == ("finetune", 4, 5)
    assert fast["mode"] == "finetune" and fast["augmentation"] is False  # --mode wins
    with pytest.raises(CommandError, match="invalid choice"):
        run_command("--project", str(ready_project.pk), "--preset", "turbo")


@pytest.mark.django_db
def test_it_refuses_a_project_that_is_not_ready(project):
    fill(project, 1)
    with pytest.raises(CommandError, match="has 1 image"):
        run_command("--project", str(project.pk))


@pytest.mark.django_db(transaction=True)
def test_it_fine_tunes_inline_and_cleans_up_its_checkpoints(ready_project):
    from training.services import training_resume_dir

    out = run_command(
        "--project", str(ready_project.pk), "--mode", "finetune", "--inline", "--param",
        "epochs=2", "--param", "finetune_epochs=2", "--param", "finetune_layers=2",
        "--param", "validation_split=0.25", "--param", "batch_size=4",
    )  # fmt: skip
    run = TrainingRun.objects.get()
    assert "succeeded" in out and run.mode == "finetune"
    stages = sorted({e.stage for e in run.epochs.all()})
    assert stages == ["finetune", "head"]
    assert not training_resume_dir(run=run).exists()
    # The unknown-detector is fitted on the fine-tuned backbone's features.
    assert run.metrics["unknown"]["images"] == run.image_count


@pytest.mark.django_db
def test_it_says_no_project_for_a_name_made_of_unicode_digits(project):
    with pytest.raises(CommandError, match="No project"):
        run_command("--project", "²")
