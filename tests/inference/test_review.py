"""The correction loop: review a prediction (right or wrong, the right label), add its image
to the training set, and "review these" (least confident first)."""

import pytest
from django.urls import reverse

from datasets.models import Image
from inference import services
from inference.models import Prediction
from projects.models import Label, Project

from .conftest import colour_jpeg

pytestmark = pytest.mark.django_db


def predict(project, colour, user=None, seed=0):
    outcome = services.prediction_create(
        project=project, data=colour_jpeg(colour, seed=seed), user=user
    )
    return outcome.prediction


def review(client, prediction, label, add=True, **extra):
    data = {"label": label.pk, **({"add": "on"} if add else {}), **extra}
    url = reverse("inference:prediction_review", args=[prediction.project_id, prediction.pk])
    return client.post(url, data, follow=True)


def test_it_adds_a_wrong_predictions_image_under_the_right_label(owner_client, owner, published,
                                                                 ai):  # fmt: skip
    prediction = predict(ai, "red", owner)
    green = Label.objects.get(project=ai, name="green")
    response = review(owner_client, prediction, green)
    assert (
        "marked wrong: it is “green”, not “red”. Added to the training set as “green”."
        in response.content.decode()
    )
    prediction.refresh_from_db()
    assert (prediction.verdict, prediction.correct_label) == ("wrong", "green")
    image = Image.objects.get(project=ai)
    assert (image.label, image.source, image.added_by) == (green, "correction", owner)
    assert image.original_name == f"prediction #{prediction.pk}"
    assert prediction.training_image == image
    # The history says so, with a link to the training image instead of the form.
    body = owner_client.get(reverse("inference:history", args=[ai.pk])).content.decode()
    assert "it is “green”" in body and reverse("datasets:image_detail", args=[ai.pk, image.pk])
    detail = owner_client.get(reverse("datasets:image_detail", args=[ai.pk, image.pk]))
    assert "From a corrected prediction" in detail.content.decode()


def test_it_marks_a_right_prediction_without_adding(owner_client, owner, published, ai):
    prediction = predict(ai, "red", owner)
    red = Label.objects.get(project=ai, name="red")
    response = review(owner_client, prediction, red, add=False)
    assert "marked right (“red”)" in response.content.decode()
    prediction.refresh_from_db()
    assert prediction.verdict == "right" and prediction.training_image is None
    assert not Image.objects.exists()


def test_it_adds_the_same_picture_once(owner_client, owner, published, ai):
    first, second = predict(ai, "blue", owner), predict(ai, "blue", owner)
    blue = Label.objects.get(project=ai, name="blue")
    review(owner_client, first, blue)
    body = review(owner_client, second, blue).content.decode()
    assert "Not added: the same image is already in this project (as blue)" in body
    second.refresh_from_db()
    assert Image.objects.count() == 1 and second.training_image == Image.objects.get()


def test_it_keeps_the_verdict_when_a_visitors_image_was_not_kept(owner_client, published, ai):
    ai.keep_visitor_images = False
    ai.save()
    prediction = predict(ai, "red")  # a visitor's
    body = review(owner_client, prediction, Label.objects.get(project=ai, name="red"))
    assert "was not kept cannot be added: verdict saved" in body.content.decode()
    prediction.refresh_from_db()
    assert prediction.verdict == "right" and not Image.objects.exists()


def test_it_refuses_a_label_of_another_project(owner_client, owner, published, ai):
    prediction = predict(ai, "red", owner)
    elsewhere = Label.objects.create(project=Project.objects.create(owner=owner, name="X"),
                                     name="red")  # fmt: skip
    body = review(owner_client, prediction, elsewhere).content.decode()
    assert "Choose one of this AI&#x27;s labels." in body
    prediction.refresh_from_db()
    assert prediction.reviewed_at is None and not Image.objects.exists()


def test_it_lists_the_unsure_ones_least_confident_first(owner_client, owner, published, ai):
    sure, unsure, very_unsure = (predict(ai, c, owner, seed=i)
                                 for i, c in enumerate(("red", "green", "blue")))  # fmt: skip
    for p, probability in ((sure, 0.97), (unsure, 0.61), (very_unsure, 0.4)):
        Prediction.objects.filter(pk=p.pk).update(probability=probability)
    url = reverse("inference:review", args=[ai.pk])
    page = owner_client.get(url).context["page"]
    assert [p.pk for p in page.object_list] == [very_unsure.pk, unsure.pk]
    assert [p.pk for p in owner_client.get(url, {"all": "1"}).context["page"]] == [
        very_unsure.pk, unsure.pk, sure.pk,
    ]  # fmt: skip
    review(owner_client, very_unsure, Label.objects.get(project=ai, name="blue"))
    assert [p.pk for p in owner_client.get(url).context["page"]] == [unsure.pk]
    history = owner_client.get(reverse("inference:history", args=[ai.pk])).content.decode()
    assert "Review the 1 unsure one" in history


def test_it_is_owner_only(other_client, client, owner, public_published, public_ai):
    prediction = predict(public_ai, "red", owner)
    label = Label.objects.get(project=public_ai, name="red")
    for c in (other_client, client):
        assert c.get(reverse("inference:review", args=[public_ai.pk])).status_code in (302, 404)
        url = reverse("inference:prediction_review", args=[public_ai.pk, prediction.pk])
        assert c.post(url, {"label": label.pk, "add": "on"}).status_code in (302, 404)
    prediction.refresh_from_db()
    assert prediction.reviewed_at is None and not Image.objects.exists()


def test_it_lists_the_not_sure_ones_even_when_confident(owner_client, owner, make_version, ai):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from .conftest import grey_jpeg

    version = make_version(ai, unknown=True)
    services.model_version_set_default(version=version, user=owner, note="first")
    red = predict(ai, "red", owner)
    predict_url = reverse("inference:predict", args=[ai.pk])
    grey = SimpleUploadedFile("g.jpg", grey_jpeg(), content_type="image/jpeg")
    owner_client.post(predict_url, {"image": grey}, HTTP_ACCEPT="application/json")
    stranger = Prediction.objects.get(unknown=True)
    Prediction.objects.filter(pk__in=[red.pk, stranger.pk]).update(probability=0.99)
    page = owner_client.get(reverse("inference:review", args=[ai.pk]))
    assert [p.pk for p in page.context["page"]] == [stranger.pk]
    assert "not sure" in page.content.decode()
    history = owner_client.get(reverse("inference:history", args=[ai.pk])).content.decode()
    assert history.count(">not sure</span>") == 1
