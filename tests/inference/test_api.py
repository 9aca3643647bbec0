"""REST API v1 with personal tokens: same access rules as the pages (others: 404)."""

import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from inference import services
from inference.models import Prediction
from training.models import TrainingRun

from .conftest import colour_jpeg, grey_jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_api(other):
    # Here the other user's script says "Token": both keywords are accepted.
    _token, secret = services.token_create(user=other, name="script")
    return Client(HTTP_AUTHORIZATION=f"Token {secret}")


def api(name, *args):
    return reverse(f"api:{name}", args=args)


def image(colour="red"):
    return SimpleUploadedFile("p.jpg", colour_jpeg(colour), content_type="image/jpeg")


def test_it_lists_own_projects_paginated(owner_api, other_api, ai, public_ai):
    data = owner_api.get(api("projects")).json()
    assert data["count"] == 2 and {p["name"] for p in data["results"]} == {
        "Colours",
        "Public colours",
    }
    assert "next" in data
    assert other_api.get(api("projects")).json()["count"] == 0


def test_it_reads_a_project_its_labels_and_versions(owner_api, published, ai):
    assert owner_api.get(api("project", ai.pk)).json()["default_version"] == 1
    labels = owner_api.get(api("labels", ai.pk)).json()["results"]
    assert [label["name"] for label in labels] == ["blue", "green", "red"]
    versions = owner_api.get(api("versions", ai.pk)).json()["results"]
    assert versions[0]["number"] == 1 and versions[0]["is_default"]
    assert versions[0]["metrics"]["val_accuracy"] == 0.9
    assert owner_api.get(api("version", ai.pk, 1)).json()["labels"] == ["red", "green", "blue"]
    assert owner_api.get(api("version", ai.pk, 5)).status_code == 404


@pytest.mark.parametrize(
    "name",
    ["project", "labels", "versions", "predict", "runs"],
)
def test_it_is_404_for_another_users_token_on_private_projects(other_api, published, ai, name):
    if name == "predict":
        response = other_api.post(api(name, ai.pk), {"image": image()})
    else:
        response = other_api.get(api(name, ai.pk))
    assert response.status_code == 404
    assert other_api.get(api("version", ai.pk, 1)).status_code == 404


def test_it_predicts_with_the_default_or_a_named_version(owner_api, published, make_version, ai):
    response = owner_api.post(api("predict", ai.pk), {"image": image("green")})
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["label"], data["version"]) == ("green", 1)
    assert data["duration_ms"] > 0 and len(data["labels"]) == 3
    make_version(ai, model="b")
    data = owner_api.post(
        api("predict", ai.pk), {"image": image("red"), "version": "latest"}
    ).json()
    assert (data["label"], data["version"]) == ("blue", 2)
    assert Prediction.objects.filter(source="api").count() == 2
    assert data["unknown"] is None  # no unknown-detector in these versions


def test_it_answers_unknown_for_an_image_unlike_any_label(owner_api, make_version, ai):
    make_version(ai, unknown=True)
    grey = SimpleUploadedFile("g.jpg", grey_jpeg(), content_type="image/jpeg")
    data = owner_api.post(api("predict", ai.pk), {"image": grey, "version": "latest"}).json()
    red = owner_api.post(api("predict", ai.pk), {"image": image("red"), "version": "1"}).json()
    assert data["unknown"] is True and data["label"] in {"red", "green", "blue"}
    assert red["unknown"] is False and red["label"] == "red"


def corner_red_jpeg() -> bytes:
    """Grey with a red top-left quarter: "red", because of that corner."""
    img = Image.new("RGB", (64, 64), (128, 128, 128))
    img.paste((220, 30, 30), (0, 0, 32, 32))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95)
    return buf.getvalue()


@pytest.mark.parametrize("where", ["form", "query"])
def test_it_explains_a_prediction_on_request(owner_api, published, ai, where):
    photo = SimpleUploadedFile("p.jpg", corner_red_jpeg(), content_type="image/jpeg")
    if where == "form":
        response = owner_api.post(api("predict", ai.pk), {"image": photo, "explain": "true"})
    else:
        response = owner_api.post(api("predict", ai.pk) + "?explain=true", {"image": photo})
    assert response.status_code == 200, response.content
    data = response.json()
    explanation = data["explanation"]
    assert (data["label"], explanation["label"], explanation["method"]) == (
        "red",
        "red",
        "occlusion",
    )
    heat = np.array(explanation["grid"])
    assert heat.shape == (8, 8) and 0 <= heat.min() and heat.max() <= 1
    # The red corner is what the answer rests on.
    assert heat[:4, :4].mean() > 3 * heat[4:, 4:].mean()
    plain = owner_api.post(api("predict", ai.pk), {"image": image()}).json()
    assert "explanation" not in plain


def test_it_refuses_an_explain_that_is_not_a_boolean(owner_api, published, ai):
    response = owner_api.post(api("predict", ai.pk) + "?explain=maybe", {"image": image()})
    assert response.status_code == 400 and "true or false" in response.json()["detail"]
    assert not Prediction.objects.exists()


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ({}, 400, "multipart"),
        ({"image": SimpleUploadedFile("x.txt", b"plain text")}, 400, "not an image"),
        ({"image": SimpleUploadedFile("x.jpg", colour_jpeg("red")[:200])}, 400, "corrupt"),
        ({"image": image(), "version": "v7"}, 404, "no version v7"),
        ({"image": image(), "version": "newest"}, 400, "Unknown version"),
        ({"image": image(), "version": "²"}, 400, "Unknown version"),
    ],
)
def test_it_answers_bad_predictions_with_json_errors(owner_api, published, ai, payload, status,
                                                     message):  # fmt: skip
    response = owner_api.post(api("predict", ai.pk), payload)
    assert response.status_code == status
    assert message in response.json()["detail"]


def test_it_says_409_without_a_default_version(owner_api, make_version, ai):
    make_version(ai)
    response = owner_api.post(api("predict", ai.pk), {"image": image()})
    assert response.status_code == 409 and "default" in response.json()["detail"]


def test_public_projects_are_readable_and_predictable_not_changeable(
    other_api, client, public_published, public_ai, monkeypatch
):
    assert other_api.get(api("project", public_ai.pk)).status_code == 200
    assert other_api.get(api("versions", public_ai.pk)).status_code == 200
    assert other_api.post(api("predict", public_ai.pk), {"image": image()}).status_code == 200
    assert client.post(api("predict", public_ai.pk), {"image": image()}).status_code == 200
    started = []
    monkeypatch.setattr("training.services.training_run_start", lambda **kw: started.append(kw))
    response = other_api.post(api("runs", public_ai.pk), {}, content_type="application/json")
    assert response.status_code == 404 and not started
    assert client.post(api("runs", public_ai.pk), {}).status_code == 401


@pytest.mark.parametrize("name", ["project", "labels", "versions", "predict", "runs"])
def test_it_asks_for_a_token_on_a_private_project_without_one(client, published, ai, name):
    if name == "predict":
        response = client.post(api(name, ai.pk), {"image": image()})
    else:
        response = client.get(api(name, ai.pk))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer <personal token>" in response.json()["detail"]
    # The same answer for a project that does not exist: it reveals nothing.
    missing = client.get(api("project", ai.pk + 1000))
    assert (missing.status_code, missing.json()) == (401, response.json())


def test_it_asks_for_a_token_to_list_projects(client, ai):
    response = client.get(api("projects"))
    assert response.status_code == 401 and "personal token" in response.json()["detail"]


def test_it_starts_a_training_run_and_reads_its_status(owner_api, owner, ai, monkeypatch):
    def fake_start(*, project, user, params):
        assert (project, user, params) == (ai, owner, {"epochs": 5})
        return TrainingRun.objects.create(project=project, number=1, params=params)

    monkeypatch.setattr("training.services.training_run_start", fake_start)
    response = owner_api.post(api("runs", ai.pk), {"params": {"epochs": 5}},
                              content_type="application/json")  # fmt: skip
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "queued"
    run = owner_api.get(api("run", ai.pk, 1)).json()
    assert run["number"] == 1 and run["metrics"] == {}
    assert owner_api.get(api("runs", ai.pk)).json()["count"] == 1


def test_it_starts_a_training_run_from_a_preset(owner_api, ai, monkeypatch):
    started = []

    def fake_start(*, project, user, params):
        started.append(params)
        return TrainingRun.objects.create(project=project, number=1, params=params)

    monkeypatch.setattr("training.services.training_run_start", fake_start)
    response = owner_api.post(api("runs", ai.pk), {"preset": "best", "params": {"epochs": 5}},
                              content_type="application/json")  # fmt: skip
    assert response.status_code == 201, response.content
    assert started[0]["mode"] == "finetune" and started[0]["epochs"] == 5
    bad = owner_api.post(api("runs", ai.pk), {"preset": "turbo"}, content_type="application/json")
    assert bad.status_code == 400 and "preset" in bad.json()


def test_it_explains_a_refused_training_run(owner_api, ai):
    response = owner_api.post(api("runs", ai.pk), {}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"]  # e.g. "Add at least 2 labels..."


def test_it_reads_metrics_of_a_finished_run(owner_api, other_api, published, ai):
    data = owner_api.get(api("run", ai.pk, 1)).json()
    assert data["status"] == "succeeded" and data["metrics"]["macro_f1"] == pytest.approx(0.9)
    assert data["version"] == 1
    assert other_api.get(api("run", ai.pk, 1)).status_code == 404


def test_it_rejects_bad_and_revoked_tokens(owner, ai):
    bad = Client(HTTP_AUTHORIZATION="Bearer aim_nope")
    assert bad.get(api("projects")).status_code == 401
    token, secret = services.token_create(user=owner, name="old")
    services.token_revoke(token=token)
    assert Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get(api("projects")).status_code == 401


def test_it_accepts_the_session_of_the_site(owner_client, ai):
    assert owner_client.get(api("projects")).json()["count"] == 1


def test_it_throttles_per_token(owner, other, ai, settings, monkeypatch):
    # 20 s into a minute: the window ends in 40 s (a sliding log would say 60).
    monkeypatch.setattr("aimaker.ratelimit.time.time", lambda: 1_800_000_020.0)
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {"token": "3/min", "user": "100/min", "anon": "100/min"}
    settings.REST_FRAMEWORK = rest
    _t, first = services.token_create(user=owner, name="a")
    _t, second = services.token_create(user=owner, name="b")
    a = Client(HTTP_AUTHORIZATION=f"Bearer {first}")
    responses = [a.get(api("projects")) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[-1].headers["Retry-After"] == "40"  # when this minute's window ends
    assert Client(HTTP_AUTHORIZATION=f"Bearer {second}").get(api("projects")).status_code == 200


def test_it_serves_the_schema_and_offline_docs(client):
    schema = client.get(api("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/projects/{id}/predict/" in paths or "/api/v1/projects/{pk}/predict/" in paths
    docs = client.get(api("docs"))
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower() and b"swagger-ui" in docs.content


def test_it_reviews_a_prediction_and_trains_on_its_image(owner_api, other_api, published, ai):
    from datasets.models import Image as TrainingImage

    photo = {"image": image("red")}
    prediction_id = owner_api.post(api("predict", ai.pk), photo).json()["id"]
    url = api("prediction_review", ai.pk, prediction_id)
    assert other_api.post(url, {"label": "green"}).status_code == 404
    bad = owner_api.post(url, {"label": "purple"}, content_type="application/json")
    assert bad.status_code == 400 and "blue, green, red" in bad.json()["detail"]
    response = owner_api.post(url, {"label": "Green", "add": True}, content_type="application/json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["verdict"], data["correct_label"], data["added"]) == ("wrong", "green", True)
    assert TrainingImage.objects.get(pk=data["training_image"]).label.name == "green"
