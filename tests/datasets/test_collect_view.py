"""The "Collect images from the web" page: access, defaults, validation, starting a job."""

from __future__ import annotations

import pytest
from django.urls import reverse

from datasets.collect import collect_snapshot
from projects.models import Job, Label, Project

pytestmark = pytest.mark.django_db


def _url(project: Project) -> str:
    return reverse("datasets:collect", args=[project.pk])


def _post_data(project: Project, **overrides) -> dict:
    data = {
        "labels": [label.pk for label in project.labels.all()],
        "per_label": "50",
        "provider": "openverse",
    }
    data.update(overrides)
    return data


def test_the_owner_sees_the_form_with_sensible_defaults(owner_client, project):
    response = owner_client.get(_url(project))

    assert response.status_code == 200
    html = response.content.decode()
    for label in project.labels.all():
        assert f'name="labels" value="{label.pk}" id="collect-label-{label.pk}" checked' in html
        assert f'name="query_{label.pk}"' in html and f'placeholder="{label.name}"' in html
    assert 'value="50" min="1" max="200"' in html
    assert '<option value="openverse" selected>Openverse</option>' in html
    assert '<option value="wikimedia">Wikimedia Commons</option>' in html
    assert "flickr" not in html and "pexels" not in html  # no key configured


def test_keyed_providers_appear_once_configured(owner_client, project, settings):
    providers = {name: dict(config) for name, config in settings.AIMAKER_PROVIDERS.items()}
    providers["pexels"]["api_key"] = "k"
    settings.AIMAKER_PROVIDERS = providers

    html = owner_client.get(_url(project)).content.decode()

    assert '<option value="pexels">Pexels</option>' in html
    assert '<option value="flickr"' not in html


@pytest.mark.parametrize("method", ["get", "post"])
def test_others_get_404(other_client, client, project, public_project, method):
    for c in (other_client, client):
        for p in (project, public_project):
            response = getattr(c, method)(_url(p), _post_data(p) if method == "post" else None)
            assert response.status_code == 404
    assert not Job.objects.exists()


def test_starting_a_collection_queues_a_job_on_the_collect_queue(
    owner_client, project, owner, django_capture_on_commit_callbacks, monkeypatch
):
    cat, dog = project.labels.order_by("name")
    enqueued = []

    class Queue:
        def enqueue(self, func, *args, **kwargs):
            enqueued.append((func, args, kwargs))
            return type("RQJob", (), {"id": kwargs["job_id"]})()

    monkeypatch.setattr("django_rq.get_queue", lambda name: enqueued.append(name) or Queue())
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            _url(project),
            _post_data(project, per_label="12", **{f"query_{dog.pk}": "  golden   retriever "}),
        )

    assert response.status_code == 302 and response["Location"] == _url(project)
    job = Job.objects.get()
    assert job.kind == Job.Kind.COLLECT and job.created_by == owner
    assert job.title == "Collect images from Openverse"
    assert job.params == {
        "provider": "openverse",
        "per_label": 12,
        "labels": [
            {"id": cat.pk, "name": "cat", "query": "cat"},
            {"id": dog.pk, "name": "dog", "query": "golden retriever"},
        ],
    }
    assert job.total == 24
    assert set(job.result["labels"]) == {str(cat.pk), str(dog.pk)}
    assert enqueued[0] == "collect"
    assert enqueued[1][0] == "datasets.jobs.collect_images" and enqueued[1][1] == (job.pk,)
    page = owner_client.get(_url(project)).content.decode()
    assert "Collect images from Openverse: watch each label fill up below." in page
    assert f'data-note="job:{job.pk}"' in page  # job-notes.js removes it when the job ends
    assert 'id="collect-initial"' in page and f'"job_id": {job.pk}' in page


def test_only_the_chosen_labels_are_collected(owner_client, project):
    cat = project.labels.get(name="cat")
    response = owner_client.post(_url(project), _post_data(project, labels=[cat.pk]))

    assert response.status_code == 302
    assert [item["name"] for item in Job.objects.get().params["labels"]] == ["cat"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"per_label": "201"}, "At most 200 images per label."),
        ({"per_label": "0"}, "Collect at least 1 image per label."),
        ({"per_label": "lots"}, "Images per label must be a whole number."),
        ({"per_label": ""}, "Say how many images to collect per label."),
        ({"provider": "flickr"}, "“flickr” is not an available image source."),
        ({"provider": "../../etc"}, "is not an available image source."),
        ({"labels": []}, "Pick at least one label."),
        ({"labels": ["x"]}, "One of the chosen labels is not in this AI."),
    ],
)
def test_bad_input_is_explained_on_the_page(owner_client, project, overrides, message):
    response = owner_client.post(_url(project), _post_data(project, **overrides))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Job.objects.exists()


def test_a_label_of_another_project_is_refused(owner_client, project, public_project):
    foreign = Label.objects.create(project=public_project, name="robin")
    response = owner_client.post(_url(project), _post_data(project, labels=[foreign.pk]))

    assert response.status_code == 400
    assert "not in this AI" in response.content.decode()
    assert not Job.objects.exists()


def test_a_too_long_search_is_refused(owner_client, project):
    cat = project.labels.get(name="cat")
    response = owner_client.post(
        _url(project), _post_data(project, **{f"query_{cat.pk}": "x" * 201})
    )

    assert response.status_code == 400
    assert "The search for “cat” is too long" in response.content.decode()


def test_the_limit_follows_the_setting(owner_client, project, settings):
    settings.AIMAKER_COLLECT_PER_LABEL_MAX = 20
    response = owner_client.post(_url(project), _post_data(project, per_label="21"))

    assert response.status_code == 400
    assert "At most 20 images per label." in response.content.decode()


def test_one_collection_at_a_time(owner_client, project):
    assert owner_client.post(_url(project), _post_data(project)).status_code == 302

    response = owner_client.post(_url(project), _post_data(project))

    assert response.status_code == 400
    assert "A collection is already running for this AI" in response.content.decode()
    assert Job.objects.count() == 1


def test_a_project_without_labels_says_what_to_do(owner_client, owner):
    empty = Project.objects.create(owner=owner, name="Empty")
    response = owner_client.get(_url(empty))

    assert response.status_code == 200
    assert "This AI has no labels yet." in response.content.decode()
    assert owner_client.post(_url(empty), {"per_label": "5"}).status_code == 400


def test_the_project_page_links_to_it_for_the_owner_only(owner_client, other_client, owner):
    public = Project.objects.create(owner=owner, name="Pets", visibility=Project.Visibility.PUBLIC)
    Label.objects.create(project=public, name="cat")
    page = reverse("projects:detail", args=[public.pk])

    html = owner_client.get(page).content.decode()
    assert f'href="{_url(public)}">Collect images from the web</a>' in html
    assert "Collect images from the web" not in other_client.get(page).content.decode()


def test_the_snapshot_carries_running_collections(owner_client, project):
    owner_client.post(_url(project), _post_data(project, per_label="7"))
    job = Job.objects.get()

    data = collect_snapshot(project)

    assert len(data["collections"]) == 1
    event = data["collections"][0]
    assert event["type"] == "collect" and event["job_id"] == job.pk
    assert event["status"] == "queued"
    cat = project.labels.get(name="cat")
    assert event["labels"][str(cat.pk)]["target"] == 7
    assert event["labels"][str(cat.pk)]["have"] == 0
    Job.objects.update(status=Job.Status.SUCCEEDED)
    assert collect_snapshot(project) == {"collections": []}


@pytest.mark.parametrize("label_id", ["99999999999999999999999", "²"])
def test_it_refuses_a_label_id_out_of_range_with_a_form_error(owner_client, project, label_id):
    response = owner_client.post(_url(project), _post_data(project, labels=[label_id]))
    assert response.status_code == 400
    assert "is not in this AI" in response.content.decode()
    assert not Job.objects.exists()
