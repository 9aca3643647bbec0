"""GET /api/v1/projects/<id>/runs/<n>/doubts/: the run's likely mislabelled images as JSON,
with the same access rules as the rest of the API (others: 404)."""

import pytest
from django.urls import reverse

from projects.models import Label
from tests.training.conftest import fill, make_run
from tests.training.test_doubts import doubt_run

pytestmark = pytest.mark.django_db


def url(run):
    return reverse("api:run_doubts", args=[run.project_id, run.number])


def test_it_lists_the_flagged_images(owner_api, project):
    fill(project, 4)
    run, images = doubt_run(project)
    response = owner_api.get(url(run))
    assert response.status_code == 200
    assert response.json() == [
        {"image": images[6].pk, "original_name": images[6].original_name, "given": "dog",
         "suggested": "cat", "confidence": 0.95},
        {"image": images[1].pk, "original_name": images[1].original_name, "given": "cat",
         "suggested": "dog", "confidence": 0.81},
    ]  # fmt: skip


def test_it_answers_an_empty_list_when_nothing_looks_wrong(owner_api, project):
    fill(project, 4)
    run, _ = doubt_run(project, doubts=[])
    assert owner_api.get(url(run)).json() == []


def test_it_says_409_for_a_run_that_did_not_check(owner_api, project):
    failed = make_run(project, status="failed")
    response = owner_api.get(url(failed))
    assert response.status_code == 409 and "not succeeded" in response.json()["detail"]
    old = make_run(project, metrics={"doubts": []})
    assert owner_api.get(url(old)).status_code == 409


def test_it_is_404_for_others_and_missing_runs(other_api, owner_api, client, project):
    fill(project, 4)
    run, _ = doubt_run(project)
    assert other_api.get(url(run)).status_code == 404
    assert client.get(url(run)).status_code in (401, 404)
    assert owner_api.get(reverse("api:run_doubts", args=[project.pk, 7])).status_code == 404
    assert owner_api.get(reverse("api:run_doubts", args=[project.pk + 99, 1])).status_code == 404


def test_a_public_projects_doubts_are_readable_by_anyone(other_api, client, public_project):
    for name in ("cat", "dog"):
        Label.objects.create(project=public_project, name=name)
    fill(public_project, 4)
    run, _ = doubt_run(public_project)
    assert len(other_api.get(url(run)).json()) == 2
    assert len(client.get(url(run)).json()) == 2
