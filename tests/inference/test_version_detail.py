"""The compare-and-publish page: side by side with the default, a note, the audit."""

import pytest
from django.urls import reverse

from inference.models import DefaultSwitch

pytestmark = pytest.mark.django_db


def url(project, number):
    return reverse("inference:version", args=[project.pk, number])


def test_it_compares_with_the_default_and_publishes_with_a_note(
    owner_client, owner, published, make_version, ai
):
    make_version(ai, acc=0.95, params={"epochs": 30})
    page = owner_client.get(url(ai, 2))
    assert page.status_code == 200
    assert b"Compared with the current default, v1" in page.content
    body = page.content.decode()
    assert "Epochs (at most)" in body  # the parameter that differs, named for people
    assert "<td>95.0%</td>" in body and "<td>90.0%</td>" in body and "+5.0 pts" in body
    response = owner_client.post(url(ai, 2), {"note": "more red photos"})
    assert response.status_code == 302
    switch = DefaultSwitch.objects.filter(project=ai).first()
    assert (switch.from_number, switch.to_number, switch.note) == (1, 2, "more red photos")
    assert switch.user == owner and switch.via == "web"


def test_it_rolls_back_with_the_same_action(owner_client, published, make_version, ai, owner):
    from inference import services

    v2 = make_version(ai)
    services.model_version_set_default(version=v2, user=owner, note="newer")
    page = owner_client.get(url(ai, 1))
    assert b"Roll back to v1" in page.content
    owner_client.post(url(ai, 1), {"note": "v2 was worse"})
    assert DefaultSwitch.objects.filter(project=ai).first().is_rollback


def test_it_requires_a_note(owner_client, published, make_version, ai):
    make_version(ai)
    response = owner_client.post(url(ai, 2), {"note": ""})
    assert response.status_code == 400
    assert DefaultSwitch.objects.filter(project=ai).count() == 1


def test_it_is_404_for_others_on_a_private_project(other_client, published, ai):
    assert other_client.get(url(ai, 1)).status_code == 404
    assert other_client.post(url(ai, 1), {"note": "x"}).status_code == 404


def test_it_lets_others_read_but_not_switch_a_public_project(
    other_client, public_published, make_version, public_ai
):
    make_version(public_ai)
    page = other_client.get(url(public_ai, 2))
    assert page.status_code == 200 and b"set-default-form" not in page.content
    assert other_client.post(url(public_ai, 2), {"note": "mine now"}).status_code == 404
    assert DefaultSwitch.objects.filter(project=public_ai).count() == 1


def test_it_is_404_for_an_unknown_version(owner_client, published, ai):
    assert owner_client.get(url(ai, 9)).status_code == 404


def unknown_url(project, number):
    return reverse("inference:version_unknown", args=[project.pk, number])


def test_it_lets_the_owner_move_the_not_sure_threshold(owner_client, owner, make_version, ai):
    from inference import services

    from .conftest import grey_jpeg

    version = make_version(ai, unknown=True)
    services.model_version_set_default(version=version, user=owner, note="first")
    page = owner_client.get(url(ai, 1)).content.decode()
    assert "“Not sure” answers" in page and 'id="id_reject_percent"' in page
    assert "AUROC" in page
    rejects = services.unknown_rejects(info=version.unknown, threshold=version.threshold)
    assert f'value="{round(100 * rejects["own"])}"' in page and rejects["own"] <= 0.05
    default = version.threshold

    response = owner_client.post(unknown_url(ai, 1), {"reject_percent": "40"})
    assert response.status_code == 302
    version.refresh_from_db()
    assert version.threshold < default  # stricter: more images are "not sure"
    rejects = services.unknown_rejects(info=version.unknown, threshold=version.threshold)
    assert rejects["own"] == pytest.approx(0.40, abs=0.02)
    page = owner_client.get(url(ai, 1)).content.decode()
    assert 'value="40"' in page and "Back to the default" in page

    owner_client.post(unknown_url(ai, 1), {"reject_percent": "40", "reset": "1"})
    version.refresh_from_db()
    assert version.unknown_threshold is None and version.threshold == default
    # A grey image stays "not sure" whatever the owner chose within the range.
    owner_client.post(unknown_url(ai, 1), {"reject_percent": "0"})
    predict = reverse("inference:predict", args=[ai.pk])
    from django.core.files.uploadedfile import SimpleUploadedFile

    grey = SimpleUploadedFile("g.jpg", grey_jpeg(), content_type="image/jpeg")
    data = owner_client.post(predict, {"image": grey}, HTTP_ACCEPT="application/json").json()
    assert data["unknown"] is True


def test_it_refuses_a_bad_share_and_other_users(owner_client, other_client, make_version, ai):
    version = make_version(ai, unknown=True)
    response = owner_client.post(unknown_url(ai, 1), {"reject_percent": "90"}, follow=True)
    assert "between 0 and 50" in response.content.decode()
    response = owner_client.post(unknown_url(ai, 1), {"reject_percent": "lots"}, follow=True)
    assert "Choose a whole number of percent." in response.content.decode()
    assert other_client.post(unknown_url(ai, 1), {"reject_percent": "10"}).status_code == 404
    version.refresh_from_db()
    assert version.unknown_threshold is None


def test_it_says_when_a_version_predates_the_detector(owner_client, make_version, ai):
    make_version(ai)
    page = owner_client.get(url(ai, 1)).content.decode()
    assert "trained before AI Maker could tell" in page
    response = owner_client.post(unknown_url(ai, 1), {"reject_percent": "10"}, follow=True)
    assert "trained before the unknown-detector existed" in response.content.decode()
