"""The prediction page: upload, result, bad input, no default, public visitors, rate limit."""

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inference import services
from inference.models import Prediction

from .conftest import colour_jpeg, grey_jpeg

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


def url(project):
    return reverse("inference:predict", args=[project.pk])


def upload(data: bytes, name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def png_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A tiny PNG whose header claims a huge image."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 100))
        + chunk(b"IEND", b"")
    )


def test_it_shows_the_form_with_the_camera_input(owner_client, published, ai):
    response = owner_client.get(url(ai))
    assert response.status_code == 200
    assert b'capture="environment"' in response.content and b'accept="image/*"' in response.content
    assert b"chart.umd.min.js" in response.content
    assert b"validation accuracy 90.0%." in response.content  # the one accuracy format


def test_it_predicts_and_keeps_the_prediction(owner_client, owner, published, ai):
    response = owner_client.post(url(ai), {"image": upload(colour_jpeg("red"))}, **JSON)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["label"] == "red" and data["version"] == 1
    assert [r["label"] for r in data["labels"]][0] == "red"
    assert sum(r["probability"] for r in data["labels"]) == pytest.approx(1, abs=1e-4)
    p = Prediction.objects.get()
    assert (p.label, p.version, p.user, p.source) == ("red", published, owner, "web")
    assert p.image.name and len(p.probabilities) == 3 and p.original_name == "photo.jpg"


def test_it_renders_the_result_without_javascript(owner_client, published, ai):
    response = owner_client.post(url(ai), {"image": upload(colour_jpeg("blue"))})
    assert response.status_code == 200
    assert b'"label": "blue"' in response.content  # the chart data for predict.js


def test_it_says_not_sure_for_an_image_unlike_any_label(owner_client, owner, make_version, ai):
    plain = make_version(ai)
    judged = make_version(ai, unknown=True)
    services.model_version_set_default(version=judged, user=owner, note="with a detector")

    red = owner_client.post(url(ai), {"image": upload(colour_jpeg("red"))}, **JSON).json()
    grey = owner_client.post(url(ai), {"image": upload(grey_jpeg())}, **JSON).json()
    old = owner_client.post(url(ai), {"image": upload(colour_jpeg("red")), "version": plain.number},
                            **JSON).json()  # fmt: skip

    assert (red["label"], red["unknown"]) == ("red", False)
    assert grey["unknown"] is True and grey["label"] in {"red", "green", "blue"}
    assert grey["unknown_score"] > judged.threshold > red["unknown_score"]
    assert old["unknown"] is None  # trained before the detector: no answer, not a wrong one
    # Calibrated (temperature 2): the same answer, less over-confident than the raw model.
    assert red["probability"] < old["probability"]
    stored = Prediction.objects.get(pk=grey["id"])
    assert stored.unknown is True and stored.unknown_score == pytest.approx(grey["unknown_score"])
    page = owner_client.post(url(ai), {"image": upload(grey_jpeg())})
    assert "this doesn’t look like any of your labels" in page.content.decode()
    assert "Closest: " in page.content.decode()


def test_it_uses_a_named_version(owner_client, published, make_version, ai):
    make_version(ai, model="b")
    data = owner_client.post(url(ai), {"image": upload(colour_jpeg("red")), "version": 2},
                             **JSON).json()  # fmt: skip
    assert (data["version"], data["label"]) == (2, "blue")  # model B permutes


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"hello, I am text", "not an image"),
        (colour_jpeg("red")[:300], "corrupt"),
        (png_bomb(), "too large"),
        (b"", "Choose an image"),
    ],
)
def test_it_explains_bad_input(owner_client, published, ai, data, message):
    response = owner_client.post(url(ai), {"image": upload(data)}, **JSON)
    assert response.status_code == 400
    assert message in response.json()["error"]
    page = owner_client.post(url(ai), {"image": upload(data)})
    assert page.status_code == 400 and message.encode() in page.content
    assert not Prediction.objects.exists()


def test_it_refuses_a_file_over_the_size_limit(owner_client, published, ai, settings):
    settings.AIMAKER_IMAGE_MAX_BYTES = 1000
    response = owner_client.post(url(ai), {"image": upload(colour_jpeg("red", (400, 300)))},
                                 **JSON)  # fmt: skip
    assert response.status_code == 413 and "too large" in response.json()["error"]


def test_it_says_when_there_is_no_default_version(owner_client, make_version, ai):
    make_version(ai)
    page = owner_client.get(url(ai))
    assert b"no default version yet" in page.content
    response = owner_client.post(url(ai), {"image": upload(colour_jpeg("red"))}, **JSON)
    assert response.status_code == 409 and "no default version" in response.json()["error"]


def test_it_is_404_for_others_on_a_private_project(other_client, client, published, ai):
    assert other_client.get(url(ai)).status_code == 404
    assert other_client.post(url(ai), {"image": upload(colour_jpeg("red"))}).status_code == 404
    assert client.post(url(ai), {"image": upload(colour_jpeg("red"))}).status_code == 404


def test_it_lets_anyone_try_a_public_project(client, public_published, public_ai):
    response = client.post(url(public_ai), {"image": upload(colour_jpeg("green"))}, **JSON)
    assert response.status_code == 200 and response.json()["label"] == "green"
    assert Prediction.objects.get().user is None


def test_it_rate_limits_visitors_per_ip(
    client, other_client, public_published, public_ai, settings
):
    settings.AIMAKER_PREDICT_RATE_PER_MINUTE = 2
    for _ in range(2):
        assert client.post(url(public_ai), {"image": upload(colour_jpeg("red"))}).status_code == 200
    response = client.post(url(public_ai), {"image": upload(colour_jpeg("red"))}, **JSON)
    assert response.status_code == 429 and "Too many predictions" in response.json()["error"]
    page = other_client.post(url(public_ai), {"image": upload(colour_jpeg("red"))})
    assert page.status_code == 429 and b"Wait a minute" in page.content  # same IP


def test_it_does_not_rate_limit_the_owner(owner_client, published, ai, settings):
    settings.AIMAKER_PREDICT_RATE_PER_MINUTE = 1
    for _ in range(3):
        response = owner_client.post(url(ai), {"image": upload(colour_jpeg("red"))})
        assert response.status_code == 200


def test_it_reads_png_with_transparency(owner_client, published, ai):
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGBA", (40, 40), (30, 50, 220, 255)).save(out, "PNG")
    response = owner_client.post(url(ai), {"image": upload(out.getvalue(), "x.png")}, **JSON)
    assert response.json()["label"] == "blue"


def test_it_tells_visitors_before_they_predict_that_the_owner_keeps_their_image(
    owner_client, public_published, public_ai
):
    from django.test import Client

    client = Client()  # a visitor (`client` itself is the owner's, see owner_client)
    for page in (url(public_ai), reverse("projects:detail", args=[public_ai.pk])):
        body = client.get(page).content.decode()
        assert 'id="keep-notice"' in body and "Your image is kept." in body
        assert body.index('id="keep-notice"') < body.index('id="predict-form"')
    assert 'id="keep-notice"' not in owner_client.get(url(public_ai)).content.decode()


def test_a_visitors_prediction_is_recorded_without_its_image_when_the_owner_says_so(
    owner_client, public_published, public_ai
):
    from django.test import Client

    client = Client()  # a visitor
    public_ai.keep_visitor_images = False
    public_ai.save()
    body = client.get(url(public_ai)).content.decode()
    assert "Your image is not kept." in body and "Your image is kept." not in body

    response = client.post(url(public_ai), {"image": upload(colour_jpeg("green"))}, **JSON)
    assert response.status_code == 200 and response.json()["label"] == "green"
    visitors = Prediction.objects.get()
    assert (visitors.label, visitors.image.name, visitors.thumbnail.name) == ("green", "", "")
    owner_client.post(url(public_ai), {"image": upload(colour_jpeg("red"))}, **JSON)
    owners = Prediction.objects.exclude(pk=visitors.pk).get()
    assert owners.image.name  # the owner's own tries are always kept

    history = owner_client.get(reverse("inference:history", args=[public_ai.pk]))
    assert history.status_code == 200 and "2 predictions" in history.content.decode()
    assert history.content.decode().count("image-not-kept") == 1
    image = reverse("inference:image", args=[public_ai.pk, visitors.pk])
    assert owner_client.get(image).status_code == 404


def test_it_counts_only_valid_requests_per_ai(client, public_published, public_ai, settings):
    settings.AIMAKER_PREDICT_RATE_PER_MINUTE = 2
    for _ in range(5):  # empty posts: refused, but they do not use up the limit
        assert client.post(url(public_ai), {}, **JSON).status_code == 400
    for _ in range(2):
        assert client.post(url(public_ai), {"image": upload(colour_jpeg("red"))}).status_code == 200
    assert client.post(url(public_ai), {"image": upload(colour_jpeg("red"))}).status_code == 429


def test_it_keys_the_limit_on_the_ai_too(
    client, public_published, public_ai, make_version, owner, settings
):
    from inference import services
    from projects.models import Project

    settings.AIMAKER_PREDICT_RATE_PER_MINUTE = 1
    second = Project.objects.create(owner=owner, name="Second", visibility="public")
    services.model_version_set_default(version=make_version(second), user=owner, note="go")
    assert client.post(url(public_ai), {"image": upload(colour_jpeg("red"))}).status_code == 200
    assert client.post(url(second), {"image": upload(colour_jpeg("red"))}).status_code == 200


def test_it_lets_visitors_use_the_published_version_only(
    client, public_published, public_ai, make_version
):
    newer = make_version(public_ai, model="b")
    data = {"image": upload(colour_jpeg("red")), "version": str(newer.number)}
    response = client.post(url(public_ai), data, **JSON)
    assert response.status_code in (400, 403)
    assert not Prediction.objects.exists()


def test_it_limits_how_many_sleeping_models_a_visitor_wakes(
    client, public_published, public_ai, settings
):
    from inference import serving

    settings.AIMAKER_MODEL_LOADS_PER_MINUTE = 1
    serving.cache.clear()
    first = client.post(url(public_ai), {"image": upload(colour_jpeg("red"))}, **JSON)
    assert first.status_code == 200  # woke it up: the one load allowed
    serving.cache.clear()  # evicted by other people's models meanwhile
    second = client.post(url(public_ai), {"image": upload(colour_jpeg("red"))}, **JSON)
    assert second.status_code == 429 and "woke up too many" in second.json()["error"]


def test_it_counts_prediction_latency_for_prometheus(owner_client, published, ai):
    import re

    def count() -> float:
        body = owner_client.get("/metrics").content.decode()
        found = re.search(r'aimaker_prediction_seconds_count\{source="web"\} ([0-9.]+)', body)
        return float(found.group(1)) if found else 0.0

    before = count()
    assert owner_client.post(url(ai), {"image": upload(colour_jpeg("red"))}).status_code == 200
    assert count() == before + 1
