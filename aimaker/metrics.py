"""AI Maker's own Prometheus metrics. Queue lengths, workers, runs and training durations are
read when Prometheus scrapes (the database and Redis are the truth; worker processes hold no
counters the web process could see); prediction latency is observed where predictions run."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import REGISTRY, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

PREDICTION_SECONDS = Histogram(
    "aimaker_prediction_seconds",
    "Time to answer one prediction (decode, model, history), by where it came from.",
    ["source"],
    buckets=(0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12),
)
TRAINING_BUCKETS = (10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 43200)


class AimakerCollector(Collector):
    def describe(self) -> list:
        return []  # else registering would collect: at app loading, before any table exists

    def collect(self) -> Iterator:
        try:
            yield from self._queues()
        except Exception:  # noqa: BLE001 - Redis down: the other metrics still answer
            log.warning("metrics: queues unavailable", exc_info=True)
        yield from self._runs()

    def _queues(self) -> Iterator:
        import django_rq
        from django.conf import settings

        from aimaker.ops import queue_workers

        jobs = GaugeMetricFamily(
            "aimaker_queue_jobs", "Jobs waiting in each queue.", labels=["queue"]
        )
        for name in settings.RQ_QUEUES:
            jobs.add_metric([name], django_rq.get_queue(name).count)
        yield jobs
        alive = GaugeMetricFamily("aimaker_workers", "Live workers per queue.", labels=["queue"])
        for name, workers in queue_workers().items():
            alive.add_metric([name], len(workers))
        yield alive

    def _runs(self) -> Iterator:
        from django.db.models import Count, F

        from training.models import TrainingRun

        runs = GaugeMetricFamily(
            "aimaker_training_runs", "Training runs by status.", labels=["status"]
        )
        counts = dict(TrainingRun.objects.values_list("status").annotate(n=Count("id")))
        for status in TrainingRun.Status.values:
            runs.add_metric([status], counts.get(status, 0))
        yield runs
        finished = TrainingRun.objects.filter(
            status=TrainingRun.Status.SUCCEEDED, started_at__isnull=False, finished_at__isnull=False
        ).annotate(took=F("finished_at") - F("started_at"))
        durations = [run.took.total_seconds() for run in finished.only("id")]
        buckets, total = [], 0
        for bound in TRAINING_BUCKETS:
            total = sum(1 for d in durations if d <= bound)
            buckets.append((str(bound), total))
        buckets.append(("+Inf", len(durations)))
        yield HistogramMetricFamily(
            "aimaker_training_duration_seconds",
            "Wall time of succeeded training runs, start to finish.",
            buckets=buckets,
            sum_value=sum(durations),
        )


_registered = False


def register() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(AimakerCollector())
        _registered = True
