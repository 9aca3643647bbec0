import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from datasets.models import Image
from inference.models import ModelVersion, Prediction
from projects.models import Label, Project
from training.models import TrainingRun

pytestmark = pytest.mark.django_db


def fill(project: Project, *, images: int = 2, run_status: str = "", predictions: int = 0):
    """A project with labels, images, optionally a run (and its default version when it
    succeeded) and predictions: rows only, no files, which is all a card reads."""
    label = Label.objects.create(project=project, name="cat")
    Label.objects.create(project=project, name="dog")
    for n in range(images):
        Image.objects.create(
            project=project, label=label, original=f"o{n}", normalized=f"n{n}", thumbnail=f"t{n}",
            sha256=f"{project.pk}-{n}", width=10, height=10, format="JPEG", source="upload",
        )  # fmt: skip
    if not run_status:
        return None
    run = TrainingRun.objects.create(
        project=project, number=1, status=run_status, best_val_accuracy=0.875,
        error="Out of memory" if run_status == "failed" else "",
        phase="training" if run_status == "running" else "",
        progress={"epoch": 2, "epochs": 4, "val_accuracy": 0.5} if run_status == "running" else {},
    )  # fmt: skip
    version = None
    if run_status == "succeeded":
        version = ModelVersion.objects.create(project=project, run=run, number=1, is_default=True)
    for n in range(predictions):
        Prediction.objects.create(
            project=project, version=version, version_number=1, image="p", thumbnail="p",
            sha256=str(n),
            labels=["cat", "dog"], probabilities=[0.9, 0.1], label="cat", probability=0.9,
        )  # fmt: skip
    return run


def test_it_lists_only_my_projects(owner_client, project, other):
    Project.objects.create(owner=other, name="Bob's secret")
    body = owner_client.get(reverse("projects:list")).content.decode()
    assert "Cats or dogs" in body
    assert "Bob&#x27;s secret" not in body and "Bob's secret" not in body


def test_it_shows_a_moderation_badge(owner_client, project):
    project.hidden = True
    project.save()
    assert "hidden by a moderator" in owner_client.get(reverse("projects:list")).content.decode()


def test_it_shows_each_projects_state_at_a_glance(owner_client, owner):
    trained = Project.objects.create(owner=owner, name="Trained")
    fill(trained, images=3, run_status="succeeded", predictions=4)
    broken = Project.objects.create(owner=owner, name="Broken")
    fill(broken, run_status="failed")
    busy = Project.objects.create(owner=owner, name="Busy")
    fill(busy, run_status="running")
    fresh = Project.objects.create(owner=owner, name="Fresh")
    response = owner_client.get(reverse("projects:list"))
    cards = {card["name"]: card for card in response.context["cards"]}
    assert (cards["Trained"]["labels"], cards["Trained"]["images"]) == (2, 3)
    version = cards["Trained"]["version"]
    assert (version["name"], version["accuracy"], version["published"]) == ("v1", 0.875, True)
    assert cards["Trained"]["predictions_7d"][-1] == 4 and cards["Trained"]["thumbnail"]
    assert cards["Broken"]["run"]["text"] == "Failed: Out of memory"
    assert cards["Busy"]["run"]["percent"] == 25.0 and cards["Busy"]["run"]["val_accuracy"] == 0.5
    assert "run" not in cards["Fresh"] and cards["Fresh"]["version"] is None
    body = response.content.decode()
    assert re.search(r'Default <a href="[^"]+/models/v1/"[^>]*>v1</a> · 88% accurate', body)
    assert "Failed: Out of memory" in body
    assert '<span class="ai-predictions">4</span> predictions in 7 days' in body
    assert "not trained yet" in body
    assert fresh.name in body


def test_it_offers_an_unpublished_version_to_publish(owner_client, owner):
    project = Project.objects.create(owner=owner, name="Trained")
    fill(project, run_status="succeeded")
    ModelVersion.objects.filter(project=project).update(is_default=False)
    card = owner_client.get(reverse("projects:list")).context["cards"][0]
    assert (card["version"]["name"], card["version"]["published"]) == ("v1", False)
    assert (
        "ready to publish · 88% accurate"
        in owner_client.get(reverse("projects:list")).content.decode()
    )


def test_it_sorts_by_latest_activity(owner_client, owner):
    old = Project.objects.create(owner=owner, name="Old but used")
    Project.objects.create(owner=owner, name="Newer, idle")
    Project.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=30))
    fill(old, images=1)  # an image added now makes it the most active
    cards = owner_client.get(reverse("projects:list")).context["cards"]
    assert [c["name"] for c in cards] == ["Old but used", "Newer, idle"]


def test_it_searches_by_name(owner_client, owner):
    Project.objects.create(owner=owner, name="Bird songs")
    Project.objects.create(owner=owner, name="Shoes")
    body = owner_client.get(reverse("projects:list"), {"q": "bird"}).content.decode()
    assert "Bird songs" in body and "Shoes" not in body
    body = owner_client.get(reverse("projects:list"), {"q": "zebra"}).content.decode()
    assert "No AI matches “zebra”" in body and "Make your first AI" not in body


def test_it_renders_in_the_same_number_of_queries_for_5_or_50_projects(owner_client, owner):
    def render_with(n: int) -> int:
        Project.objects.filter(owner=owner).delete()
        statuses = ["succeeded", "failed", "running", "queued", ""]
        for i in range(n):
            project = Project.objects.create(owner=owner, name=f"AI {i}")
            fill(project, images=2, run_status=statuses[i % 5], predictions=i % 3)
        with CaptureQueriesContext(connection) as queries:
            response = owner_client.get(reverse("projects:list"))
        assert len(response.context["cards"]) == n
        return len(queries)

    few, many = render_with(5), render_with(50)
    assert few == many <= 12, (few, many)
