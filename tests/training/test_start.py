"""The start form: owner only, refusals with clear messages, a correct snapshot, the queue."""

import django_rq
import pytest
from django.urls import reverse

from datasets.models import Image
from projects.models import Label
from tests.training.conftest import MIN_IMAGES, add_images
from training.models import TrainingRun
from training.services import training_run_start

pytestmark = pytest.mark.django_db


def url(project):
    return reverse("training:start", kwargs={"pk": project.pk})


FORM = {"mode": "quick", "epochs": 3, "batch_size": 4, "learning_rate": 0.01,
        "validation_split": 25, "augmentation": "on", "finetune_layers": 10,
        "finetune_epochs": 2, "seed": 7}  # fmt: skip


def test_it_offers_three_presets_with_time_estimates_and_hides_advanced(owner_client,
                                                                       ready_project):  # fmt: skip
    response = owner_client.get(url(ready_project))
    assert response.status_code == 200
    body = response.content.decode()
    for preset in ("Fast", "Balanced", "Best"):
        assert f"<strong>{preset}</strong>" in body
    assert body.count("for 8 images") == 3  # each estimate is for this project's images
    assert "seconds" in body and "on a CPU, much less on a GPU" in body
    assert 'value="balanced" id="preset-balanced" checked' in body
    # The parameters wait, collapsed, under "Advanced"; empty fields show the preset's value.
    assert '<details class="mb-3" id="advanced">' in body and "<summary" in body
    assert 'name="epochs"' in body and 'placeholder="30"' in body
    assert 'name="validation_split"' in body and 'placeholder="10"' in body
    assert 'placeholder="0.00001"' in body  # the fine-tune learning rate, not 1e-05
    assert "Not ready" not in body


@pytest.mark.parametrize(
    ("preset", "mode", "augmentation", "epochs"),
    [("fast", "quick", False, 20), ("balanced", "quick", True, 30), ("best", "finetune", True, 30)],
)
def test_it_starts_a_run_from_a_preset_alone(owner_client, ready_project, preset, mode,
                                             augmentation, epochs):  # fmt: skip
    response = owner_client.post(url(ready_project), {"preset": preset})
    assert response.status_code == 302
    run = TrainingRun.objects.get()
    assert (run.mode, run.params["augmentation"], run.params["epochs"]) == (
        mode, augmentation, epochs,
    )  # fmt: skip
    assert run.params["learning_rate"] == 0.001 and run.params["validation_split"] == 0.1


def test_it_lets_advanced_fields_override_the_preset(owner_client, ready_project):
    response = owner_client.post(
        url(ready_project), {"preset": "fast", "epochs": "3", "finetune_learning_rate": "0.0001"}
    )
    assert response.status_code == 302
    run = TrainingRun.objects.get()
    assert run.params["epochs"] == 3 and run.params["augmentation"] is False
    assert run.params["finetune_learning_rate"] == 0.0001 and run.mode == "quick"


def test_it_opens_advanced_again_to_show_a_mistake_in_it(owner_client, ready_project):
    response = owner_client.post(url(ready_project), {"preset": "fast", "batch_size": "0"})
    assert response.status_code == 400
    body = response.content.decode()
    assert '<details class="mb-3" id="advanced" open>' in body
    assert 'value="fast" id="preset-fast" checked' in body
    assert not TrainingRun.objects.exists()


def test_its_estimates_follow_the_image_count_and_the_benchmarks():
    from training.presets import training_preset_choices, training_preset_seconds

    # docs/benchmarks.md: 3,068 images took 57-73 s cold with mirrored images (Balanced).
    low, high = training_preset_seconds(preset="balanced", image_count=3068)
    assert low <= 57 and 73 <= high <= 180
    fast = training_preset_seconds(preset="fast", image_count=3068)
    best = training_preset_seconds(preset="best", image_count=3068)
    assert fast[1] < high and best[0] > 5 * 60
    assert training_preset_seconds(preset="fast", image_count=30_000)[0] > fast[0] * 5
    texts = {c.value: c.text for c in training_preset_choices(image_count=3068)}
    assert "about 1–3 minutes for 3,068 images" in texts["balanced"]
    assert "minutes for 3,068 images on a CPU" in texts["best"]


def test_it_is_404_for_other_users_and_anonymous(client, other_client, ready_project):
    assert other_client.get(url(ready_project)).status_code == 404
    assert other_client.post(url(ready_project), FORM).status_code == 404
    assert client.get(url(ready_project)).status_code == 404
    assert not TrainingRun.objects.exists()


def test_it_lets_others_read_but_not_train_a_public_project(other_client, public_project):
    assert other_client.get(url(public_project)).status_code == 404
    assert other_client.post(url(public_project), FORM).status_code == 404


def test_it_refuses_fewer_than_two_labels_with_images(owner_client, project):
    add_images(project, project.labels.get(name="cat"), MIN_IMAGES)
    response = owner_client.post(url(project), FORM)
    assert response.status_code == 400
    body = response.content.decode()
    assert "at least two labels with images" in body or "“dog” has 0 image" in body
    assert not TrainingRun.objects.exists()


def test_it_refuses_a_label_with_too_few_images(owner_client, project):
    add_images(project, project.labels.get(name="cat"), MIN_IMAGES)
    add_images(project, project.labels.get(name="dog"), MIN_IMAGES - 1)
    response = owner_client.post(url(project), FORM)
    assert response.status_code == 400
    assert "“dog” has 2 image" in response.content.decode()
    assert not TrainingRun.objects.exists()


def test_it_refuses_a_project_with_one_label(owner_client, public_project):
    label = Label.objects.create(project=public_project, name="sparrow")
    add_images(public_project, label, MIN_IMAGES)
    response = owner_client.post(url(public_project), FORM)
    assert response.status_code == 400
    assert not TrainingRun.objects.exists()


def test_it_rejects_bad_parameters(owner_client, ready_project):
    response = owner_client.post(url(ready_project), {**FORM, "epochs": 0, "mode": "slow"})
    assert response.status_code == 400
    assert not TrainingRun.objects.exists()


def test_it_starts_a_run_with_a_snapshot_and_enqueues_it(
    owner_client, owner, ready_project, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url(ready_project), FORM)
    run = TrainingRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "training:run", kwargs={"pk": ready_project.pk, "number": 1}
    )
    assert run.number == 1 and run.status == "queued" and run.created_by == owner
    labels = list(ready_project.labels.order_by("pk"))
    assert run.labels == [label.name for label in labels]
    assert run.label_ids == [label.pk for label in labels]
    expected = sorted(
        [image.pk, run.label_ids.index(image.label_id)]
        for image in Image.objects.filter(project=ready_project)
    )
    assert sorted(run.snapshot) == expected and run.image_count == 8
    assert run.params["epochs"] == 3 and run.params["validation_split"] == 0.25
    assert run.params["seed"] == 7 and run.params["augmentation"] is True
    assert run.params["backbone"] == "tiny_test"  # test-only weights configured
    assert run.code_version
    queue = django_rq.get_queue("training")
    job = queue.fetch_job(run.rq_job_id)
    assert job is not None and job.func_name == "training.jobs.train_run"
    assert job.args == (run.pk,)
    assert job.timeout == settings.AIMAKER_TRAINING_JOB_TIMEOUT
    assert queue.get_job_position(job.id) == 0


def test_it_numbers_runs_and_shows_the_queue_position(
    owner, ready_project, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = training_run_start(project=ready_project, user=owner, params={})
        second = training_run_start(project=ready_project, user=owner, params={})
    assert (first.number, second.number) == (1, 2)
    from training.services import training_run_state

    state = training_run_state(run=second)
    assert state["queue_position"] == 2 and "position 2" in state["text"]


def test_it_fails_the_run_with_a_message_when_the_queue_is_down(
    owner_client, ready_project, django_capture_on_commit_callbacks, monkeypatch
):
    from redis.exceptions import ConnectionError as RedisConnectionError

    def down(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr("django_rq.get_queue", down)
    owner_client.raise_request_exception = False
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url(ready_project), FORM)
    run = TrainingRun.objects.get()
    assert response.status_code == 302  # not a 500
    assert run.status == "failed" and run.finished_at is not None  # not stuck in "queued"
    assert "queue" in run.error


def test_it_counts_the_images_that_came_from_corrections(owner_client, owner, ready_project):
    corrected = Image.objects.filter(project=ready_project).order_by("pk")[:3]
    Image.objects.filter(pk__in=[i.pk for i in corrected]).update(source="correction")
    run = training_run_start(project=ready_project, user=owner, params={}, enqueue=False)
    assert (run.image_count, run.from_corrections) == (8, 3)
    body = owner_client.get(
        reverse("training:run", kwargs={"pk": ready_project.pk, "number": run.number})
    ).content.decode()
    assert "3 from corrected predictions" in body
