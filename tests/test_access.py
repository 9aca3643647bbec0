"""Access rules for EVERY URL the app has, found by walking the URL resolver (not a sample).

- Another user gets 404 on every URL of a private project, GET and POST.
- Anonymous users get 404 (or are sent to log in) on every URL of a private project.
- A public project is readable by everyone: its read URLs answer 200 to another user and to
  anonymous visitors; every change URL answers 404 to them and changes nothing.

A new project URL with an unknown kwarg makes this test fail until it is covered here."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from inference.models import ModelVersion, PersonalToken, Prediction, Rerun
from projects.models import Job, Label, Project
from training.models import TrainingRun

pytestmark = pytest.mark.django_db

# URLs that are not about one project: covered by their own tests.
# The API has its own per-endpoint tests with another user's token (tests/inference/).
# The staff operations page ("ops:"): tests/staff/ (404 for everyone but staff).
GLOBAL_PREFIXES = ("admin:", "django_rq:", "api-", "api:", "schema", "docs", "tokens:", "ops:")
GLOBAL_NAMES = {
    "home", "signup", "login", "logout", "password_change", "password_change_done",
    "password_reset", "password_reset_done", "password_reset_confirm",
    "password_reset_complete", "explore", "projects:list", "projects:create",
    "healthz", "readyz", "metrics",  # operations: tests/test_ops.py
}  # fmt: skip

# Read URLs of a public project: everyone may GET them.
PUBLIC_READ = {
    "projects:detail",
    "datasets:gallery",
    "datasets:image_detail",
    "datasets:image_file",
    "training:history",
    "training:run",
    "training:doubts",
    "inference:versions",
    "inference:version",
    "inference:predict",
}
# Actions anyone may POST on a public project: trying the model (rate limited per visitor).
PUBLIC_ACTIONS = {"inference:predict"}


@dataclass
class Route:
    name: str
    pattern: str
    kwargs: tuple[str, ...]


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = "") -> list[Route]:
    routes: list[Route] = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}{entry.namespace}:"
            routes += _walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern) and entry.name:
            pattern = prefix + str(entry.pattern)
            kwargs = tuple(re.findall(r"<(?:\w+:)?(\w+)>", pattern))
            routes.append(Route(f"{namespace}{entry.name}", pattern, kwargs))
    return routes


def project_routes() -> list[Route]:
    return [
        route
        for route in _walk(get_resolver())
        if route.name not in GLOBAL_NAMES and not route.name.startswith(GLOBAL_PREFIXES)
    ]


def _objects_for(project: Project, owner) -> dict[str, int | str]:
    """One object of every kind a project URL can name."""
    from tests.datasets.imgutil import add_images

    label = project.labels.first() or Label.objects.create(project=project, name="cat")
    job = Job.objects.create(project=project, created_by=owner, kind="import", title="Import")
    (image,) = add_images(project, label, 1)
    run = TrainingRun.objects.create(
        project=project, number=1, status=TrainingRun.Status.SUCCEEDED, labels=["cat"],
        artifact_prefix=f"projects/{project.pk}/runs/1/",
    )  # fmt: skip
    version = ModelVersion.objects.create(project=project, run=run, number=1)
    prediction = Prediction.objects.create(
        project=project, version=version, version_number=1, labels=["cat"],
        probabilities=[1.0], label="cat", probability=1.0, sha256="0" * 64,
    )  # fmt: skip
    rerun = Rerun.objects.create(
        project=project, version=version, version_number=1, created_by=owner, up_to=timezone.now()
    )
    return {
        "pk": project.pk,
        "label_pk": label.pk,
        "job_pk": job.pk,
        "image_pk": image.pk,
        "kind": "thumbnail",
        "token": "0123456789abcdef0123456789abcdef",
        "number": 1,  # run #1 and version v1
        "fmt": "keras",
        "rerun_pk": rerun.pk,
        "prediction_pk": prediction.pk,
    }


def _url(route: Route, values: dict[str, int | str]) -> str:
    from django.urls import reverse

    missing = [k for k in route.kwargs if k not in values]
    assert not missing, f"{route.name}: no test object for URL kwarg(s) {missing}; add one"
    return reverse(route.name, kwargs={k: values[k] for k in route.kwargs})


def _fingerprint(project: Project) -> tuple:
    project.refresh_from_db()
    return (
        project.name,
        project.visibility,
        tuple(project.labels.values_list("name", flat=True)),
        tuple(project.jobs.values_list("status", "cancel_requested")),
        tuple(project.images.values_list("id", "label_id")),
    )


def test_it_walks_project_urls():
    names = {r.name for r in project_routes()}
    assert {"projects:detail", "projects:labels_add", "projects:label_delete"} <= names


def _refused(response) -> bool:
    return response.status_code in (401, 404) or (
        response.status_code == 302 and "/accounts/login/" in response["Location"]
    )


def _is_hidden(client: Client, route: Route, values: dict, method: str) -> bool:
    """404 (or a login redirect for anonymous users); or 405 for a method the URL never
    accepts, which it also answers for a project that does not exist: it tells nothing."""
    response = getattr(client, method)(_url(route, values))
    if response.status_code == 405:
        missing = {k: (v + 10_000 if k == "pk" else v) for k, v in values.items()}
        return getattr(client, method)(_url(route, missing)).status_code == 405
    return _refused(response)


def test_another_user_gets_404_on_every_private_project_url(owner, other, project):
    values = _objects_for(project, owner)
    client = Client()
    client.force_login(other)
    before = _fingerprint(project)
    for route in project_routes():
        url = _url(route, values)
        for method in ("get", "post"):
            assert _is_hidden(client, route, values, method), f"{method.upper()} {url}"
        statuses = {getattr(client, m)(url).status_code for m in ("get", "post")}
        assert 404 in statuses, f"{url} ({route.name}) answered {statuses}"
    assert _fingerprint(project) == before


def test_anonymous_users_get_404_or_login_on_every_private_project_url(owner, project):
    values = _objects_for(project, owner)
    client = Client()
    before = _fingerprint(project)
    for route in project_routes():
        for method in ("get", "post"):
            url = _url(route, values)
            assert _is_hidden(client, route, values, method), f"{method.upper()} {url}"
    assert _fingerprint(project) == before


@pytest.mark.parametrize("signed_in", [True, False], ids=["other-user", "anonymous"])
def test_a_public_project_is_readable_but_not_changeable(owner, other, public_project, signed_in):
    values = _objects_for(public_project, owner)
    client = Client()
    if signed_in:
        client.force_login(other)
    before = _fingerprint(public_project)
    for route in project_routes():
        url = _url(route, values)
        if route.name in PUBLIC_READ:
            assert client.get(url).status_code == 200, f"GET {url} ({route.name})"
            continue
        if route.name in PUBLIC_ACTIONS:
            continue
        for method in ("get", "post"):
            assert _is_hidden(client, route, values, method), f"{method.upper()} {url}"
    assert _fingerprint(public_project) == before


def test_the_owner_can_open_every_read_url(owner, project):
    values = _objects_for(project, owner)
    client = Client()
    client.force_login(owner)
    for route in project_routes():
        if route.name in PUBLIC_READ:
            assert client.get(_url(route, values)).status_code == 200, route.name


def test_another_user_gets_404_revoking_someone_elses_token(owner, other):
    from django.urls import reverse

    token = PersonalToken.objects.create(user=owner, name="ci", prefix="abc", token_hash="1" * 64)
    client = Client()
    client.force_login(other)
    assert client.post(reverse("tokens:revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.is_active
