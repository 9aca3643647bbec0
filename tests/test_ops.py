"""Operations endpoints on the real stack: liveness, readiness (database, Redis, storage, a
live worker per queue) and Prometheus metrics behind a token or loopback."""

import django_rq
import pytest
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_answers_liveness_without_auth(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_it_is_not_ready_without_workers_and_says_which(client):
    body = client.get("/readyz")
    assert body.status_code == 503
    checks = {c["name"]: c for c in body.json()["checks"]}
    assert checks["database"]["ok"] and checks["redis"]["ok"] and checks["storage"]["ok"]
    assert not checks["workers:training"]["ok"]
    assert checks["workers:training"]["error"] == "no live worker"


def test_it_is_ready_with_a_live_worker_on_every_queue(client, rq_worker):
    import time

    def training_workers(response) -> list[dict]:
        checks = {c["name"]: c for c in response.json()["checks"]}
        return checks.get("workers:training", {}).get("workers", [])

    # A worker says "started" (or nothing yet: "?") for a moment before its first "idle".
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = client.get("/readyz")
        workers = training_workers(response) if response.status_code == 200 else []
        if workers and workers[0]["state"] in ("idle", "busy"):
            break
        time.sleep(0.3)
    assert response.status_code == 200, response.json()
    (worker,) = training_workers(response)
    assert worker["host"] and worker["last_heartbeat"] and worker["state"] in ("idle", "busy")
    assert "SECRET" not in response.content.decode()


def test_it_reports_a_database_it_cannot_reach(client, monkeypatch):
    from aimaker import ops

    def broken():
        raise ConnectionError("down")

    monkeypatch.setattr(ops, "_database", broken)
    response = client.get("/readyz")
    checks = {c["name"]: c for c in response.json()["checks"]}
    assert response.status_code == 503 and checks["database"] == {
        "name": "database", "ok": False, "error": "ConnectionError"
    }  # fmt: skip


def test_it_serves_metrics_to_loopback_only_without_a_token(client, owner, ai_with_run):
    django_rq.get_queue("default").enqueue("projects.jobs.demo_progress", 0)
    body = client.get("/metrics").content.decode()  # the test client is 127.0.0.1
    assert 'aimaker_queue_jobs{queue="default"} 1.0' in body
    assert 'aimaker_training_runs{status="succeeded"} 1.0' in body
    assert "aimaker_training_duration_seconds_count 1.0" in body
    assert 'aimaker_workers{queue="training"} 0.0' in body
    assert "django_http_requests_total_by_method_total" in body
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics").status_code == 404
    django_rq.get_queue("default").empty()


def test_it_needs_the_bearer_token_when_one_is_set(client, settings):
    settings.AIMAKER_METRICS_TOKEN = "s3cret-scrape"
    assert client.get("/metrics").status_code == 404  # loopback no longer enough
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    ok = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape")
    assert ok.status_code == 200 and "aimaker_queue_jobs" in ok.content.decode()


@pytest.fixture
def ai_with_run(project):
    from datetime import timedelta

    from django.utils import timezone

    from training.models import TrainingRun

    now = timezone.now()
    return TrainingRun.objects.create(
        project=project, number=1, params={}, labels=[], label_ids=[], snapshot=[],
        status="succeeded", started_at=now - timedelta(seconds=42), finished_at=now,
    )  # fmt: skip
