"""Operations endpoints: /healthz (liveness), /readyz (what the app depends on) and /metrics
(Prometheus, through django-prometheus and prometheus-client)."""

from __future__ import annotations

import hmac
import ipaddress
import logging
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers: nothing else is checked (a liveness probe must not flap)."""
    return JsonResponse({"status": "ok"})


def workers_alive() -> list[dict[str, Any]]:
    """The RQ workers alive (registered and heartbeating), as JSON-able dicts."""
    import django_rq
    from rq import Worker

    return [
        {
            "name": worker.name,
            "host": worker.hostname,
            "pid": worker.pid,
            "queues": worker.queue_names(),
            "state": worker.get_state(),
            "current_job": worker.get_current_job_id(),
            "last_heartbeat": worker.last_heartbeat.isoformat() if worker.last_heartbeat else None,
        }
        for worker in Worker.all(connection=django_rq.get_connection("default"))
    ]


def queue_workers() -> dict[str, list[dict[str, Any]]]:
    """The live workers per queue."""
    workers: dict[str, list[dict[str, Any]]] = {name: [] for name in settings.RQ_QUEUES}
    for worker in workers_alive():
        info = {k: v for k, v in worker.items() if k not in ("queues", "pid")}
        for queue in worker["queues"]:
            workers.setdefault(queue, []).append(info)
    return workers


def _check(name: str, fn) -> dict[str, Any]:
    try:
        detail = fn()
        return {"name": name, "ok": True, **(detail or {})}
    except Exception as exc:  # noqa: BLE001 - a readiness probe reports, it does not raise
        log.warning("readiness check %s failed", name, exc_info=True)
        return {"name": name, "ok": False, "error": exc.__class__.__name__}


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> None:
    import django_rq

    django_rq.get_connection("default").ping()


def _storage() -> None:
    from django.core.files.storage import default_storage

    default_storage.exists("readyz-probe")  # reaches the store; nothing is written


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve: database, Redis and storage answer, and every queue has a live worker.
    No secrets: names, states and times only."""
    checks = [_check("database", _database), _check("redis", _redis), _check("storage", _storage)]
    try:
        workers = queue_workers()
    except Exception:  # noqa: BLE001 - Redis down: already reported above
        workers = {}
    for queue in settings.RQ_QUEUES:
        alive = workers.get(queue, [])
        checks.append(
            {"name": f"workers:{queue}", "ok": bool(alive), "workers": alive}
            if alive
            else {"name": f"workers:{queue}", "ok": False, "error": "no live worker"}
        )
    ready = all(c["ok"] for c in checks)
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks},
                        status=200 if ready else 503)  # fmt: skip


def _metrics_allowed(request: HttpRequest) -> bool:
    token = settings.AIMAKER_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    try:  # no token set: loopback clients only (a scraper on the same host)
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _metrics_allowed(request):
        return HttpResponse("Not found.", status=404, content_type="text/plain")
    from django_prometheus.exports import ExportToDjangoView

    return ExportToDjangoView(request)
