"""Web collection: search an image provider for each label, download the results (SSRF-safe,
in parallel, bounded) and ingest them with their license and attribution.

Resumable by design: a label's target counts the images already collected for it from the same
provider, and candidates already in the project (same provider id or URL) are skipped, so running
a collection again only fills what is missing."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from datasets.fetch import FetchPolicy, FetchRejected, fetch
from datasets.models import Image
from datasets.providers import (
    Candidate,
    ImageSearchProvider,
    ProviderError,
    available_providers,
    filter_licenses,
    get_provider,
)
from datasets.quotas import StorageQuota
from datasets.services import PhashIndex, dataset_notify, image_ingest
from datasets.signals import images_collected
from projects import snapshot
from projects.models import Job, Label, Project
from projects.notify import notify_project
from projects.services import JobCancelled, JobReporter, job_create

log = logging.getLogger(__name__)

PAGE_SIZE = 50  # providers clamp it to what they allow (Openverse anonymous: 20)
MAX_PAGES = 100  # a provider that never runs dry must not keep a job alive forever
REASONS_MAX = 20  # rejection reasons kept in the job result (a sample, not a log)
PUBLISH_EVERY = 0.3  # seconds between per-label progress events
COUNTS_EVERY = 1.0  # seconds between refreshes of the project page's image counts
QUERY_MAX_LENGTH = 200


class CollectionFailed(Exception):
    """The provider kept failing: the job ends failed with this message."""


# What happened, in plain words for the page; the technical detail goes to the log.
_FAILURE_TEXT = {
    "unreachable": "Couldn't reach {p}: this server has no internet connection, or the service "
    "is down.",
    "timeout": "{p} didn't answer in time: this server's connection is too slow, or the service "
    "is overloaded. Try again later.",
    "unavailable": "{p} is busy or down at the moment (it kept answering with an error). Try "
    "again in a few minutes.",
    "key": "{p} refused this server's API key (missing or wrong). Ask the operator to check it.",
    "bad_answer": "{p} sent an answer we couldn't read. Try again later, or pick another source.",
    "refused": "{p} refused the search. Try a simpler search, or pick another source.",
}


def collection_failure_text(*, provider: str, error: Exception) -> str:
    """A provider failure as a sentence for the person who started the collection."""
    kind = getattr(error, "kind", "") if isinstance(error, ProviderError) else ""
    if kind not in _FAILURE_TEXT:
        return f"Something went wrong while collecting from {provider}. Try again later."
    return _FAILURE_TEXT[kind].format(p=provider)


def _nothing_lost(collected: int) -> str:
    if not collected:
        return "Nothing was lost."
    return f"Nothing was lost: the {collected} image(s) collected before that are kept."


# --- Configuration ------------------------------------------------------------------------


def _provider_config(name: str) -> dict[str, Any]:
    config = dict(settings.AIMAKER_PROVIDERS.get(name) or {})
    # Providers that can filter by license server-side do, so no page is wasted.
    config.setdefault("licenses", list(settings.AIMAKER_ALLOWED_LICENSES))
    return config


def collect_provider_choices() -> list[tuple[str, str]]:
    """(name, label) of the providers usable with the operator's configuration, default first."""
    choices = available_providers(settings.AIMAKER_PROVIDERS)
    default = settings.AIMAKER_COLLECT_DEFAULT_PROVIDER
    return sorted(choices, key=lambda choice: choice[0] != default)


def collect_fetch_policy() -> FetchPolicy:
    return FetchPolicy(
        max_bytes=settings.AIMAKER_IMAGE_MAX_BYTES,
        connect_timeout=settings.AIMAKER_FETCH_CONNECT_TIMEOUT,
        read_timeout=settings.AIMAKER_FETCH_READ_TIMEOUT,
        total_timeout=settings.AIMAKER_FETCH_TOTAL_TIMEOUT,
        allow_loopback=settings.AIMAKER_FETCH_ALLOW_LOOPBACK,
    )


# --- Starting -----------------------------------------------------------------------------


def _collected_count(*, label: Label, provider: str) -> int:
    return Image.objects.filter(
        label=label, source=Image.Source.COLLECTED, provider=provider, quarantined=False
    ).count()


def _initial_breakdown(
    *, provider: str, per_label: int, labels: list[dict[str, Any]]
) -> dict[str, Any]:
    rows = {}
    for item in labels:
        rows[str(item["id"])] = _Tally(
            name=item["name"], query=item["query"], target=per_label, existing=item["existing"]
        ).as_dict()
    return {"provider": provider, "labels": rows, "totals": _totals(rows), "reasons": []}


def collection_start(
    *,
    project: Project,
    user: User | None,
    label_ids: list[int],
    per_label: int,
    provider: str,
    queries: dict[int, str] | None = None,
) -> Job:
    """Queue a collection of up to `per_label` images per label from `provider`.

    Raises ValidationError (with every problem) for bad input, creating nothing."""
    errors: list[str] = []
    limit = settings.AIMAKER_COLLECT_PER_LABEL_MAX
    if not isinstance(per_label, int) or not 1 <= per_label <= limit:
        errors.append(f"Ask for between 1 and {limit} images per label.")
    providers = dict(collect_provider_choices())
    if provider not in providers:
        errors.append(f"“{provider}” is not an available image source.")
    labels = list(project.labels.filter(pk__in=label_ids)) if label_ids else []
    if not labels:
        errors.append("Pick at least one label.")
    elif len(labels) != len(set(label_ids)):
        errors.append("Some of the chosen labels are not in this project.")
    queries = queries or {}
    for label in labels:
        if len((queries.get(label.pk) or "").strip()) > QUERY_MAX_LENGTH:
            errors.append(
                f"The search for “{label.name}” is too long (at most {QUERY_MAX_LENGTH})."
            )
    if project.jobs.filter(kind=Job.Kind.COLLECT, status__in=Job.ACTIVE).exists():
        errors.append("A collection is already running for this AI: wait for it or cancel it.")
    if errors:
        raise ValidationError(errors)

    items = [
        {
            "id": label.pk,
            "name": label.name,
            "query": " ".join((queries.get(label.pk) or "").split()) or label.name,
            "existing": _collected_count(label=label, provider=provider),
        }
        for label in labels
    ]
    job = job_create(
        project=project,
        user=user,
        kind=Job.Kind.COLLECT,
        title=f"Collect images from {providers[provider]}",
        func="datasets.jobs.collect_images",
        queue="collect",
        params={
            "provider": provider,
            "per_label": per_label,
            "labels": [{k: item[k] for k in ("id", "name", "query")} for item in items],
        },
        total=sum(max(0, per_label - item["existing"]) for item in items),
        timeout=settings.AIMAKER_COLLECT_JOB_TIMEOUT,
    )
    # The pages draw their bars from this before the worker picks the job up.
    job.result = _initial_breakdown(provider=provider, per_label=per_label, labels=items)
    job.save(update_fields=["result"])
    return job


# --- Running ------------------------------------------------------------------------------


@dataclass
class _Tally:
    name: str
    query: str
    target: int
    existing: int  # collected from this provider before this run
    found: int = 0  # new candidates sent to download
    downloaded: int = 0  # added to the label
    rejected: int = 0
    duplicates: int = 0
    skipped_license: int = 0
    quarantined: int = 0  # stored but flagged as adult content: does not count towards the target
    known: int = 0  # already in the project from an earlier run
    exhausted: bool = False  # the provider had nothing more
    done: bool = False

    @property
    def missing(self) -> int:
        return max(0, self.target - self.existing - self.downloaded)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "query": self.query,
            "target": self.target,
            "existing": self.existing,
            "have": min(self.target, self.existing + self.downloaded),
            "found": self.found,
            "downloaded": self.downloaded,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "skipped_license": self.skipped_license,
            "quarantined": self.quarantined,
            "known": self.known,
            "exhausted": self.exhausted,
            "done": self.done,
        }


_TOTAL_KEYS = ("target", "have", "found", "downloaded", "rejected", "duplicates", "skipped_license")


def _totals(rows: dict[str, dict[str, Any]]) -> dict[str, int]:
    return {key: sum(int(row[key]) for row in rows.values()) for key in _TOTAL_KEYS}


@dataclass
class _LabelRun:
    label: Label
    tally: _Tally
    page: int = 0
    buffer: deque[Candidate] = field(default_factory=deque)
    seen: set[str] = field(default_factory=set)  # provider ids met in this run's pages


_local = threading.local()


def _download(url: str, policy: FetchPolicy) -> bytes | str:
    """Runs on the pool: the image bytes, or why they could not be had."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()  # connection reuse per thread
    try:
        return fetch(url, policy=policy, session=session).data
    except FetchRejected as exc:
        return exc.reason
    except Exception:  # noqa: BLE001 - one broken download must never stop the job
        log.exception("unexpected error downloading %s", url)
        return "download failed"


def _name_for(candidate: Candidate) -> str:
    name = candidate.title or candidate.url.rsplit("/", 1)[-1].split("?", 1)[0]
    return (name or candidate.provider_id)[:200]


def _provenance(candidate: Candidate) -> dict[str, str]:
    return {
        "source_url": candidate.url,
        "landing_url": candidate.landing_url,
        "creator": candidate.creator,
        "license": candidate.license,
        "license_url": candidate.license_url,
        "attribution": candidate.attribution,
        "provider": candidate.provider,
        "provider_id": candidate.provider_id,
    }


def collect_event(job: Job) -> dict[str, Any]:
    """The per-label breakdown of a collection job, as sent over the websocket."""
    result = job.result or {}
    return {
        "type": "collect",
        "job_id": job.pk,
        "title": job.title,
        "status": job.status,
        "message": job.error or job.message,
        "provider": result.get("provider") or job.params.get("provider", ""),
        "labels": result.get("labels") or {},
        "totals": result.get("totals") or {},
    }


class _Collector:
    def __init__(self, job: Job, reporter: JobReporter) -> None:
        self.job = job
        self.reporter = reporter
        self.project = job.project
        self.provider_name = str(job.params.get("provider") or "")
        self.per_label = int(job.params.get("per_label") or 0)
        self.allowed = list(settings.AIMAKER_ALLOWED_LICENSES)
        self.policy = collect_fetch_policy()
        self.concurrency = max(1, int(settings.AIMAKER_COLLECT_CONCURRENCY))
        self.reasons: list[dict[str, str]] = []
        self.rejected_total = 0
        self._last_publish = 0.0
        self._last_counts = 0.0
        existing_labels = {label.pk: label for label in self.project.labels.all()}
        self.runs: list[_LabelRun] = []
        for item in job.params.get("labels") or []:
            label = existing_labels.get(int(item["id"]))
            if label is None:
                continue  # deleted since the job was queued
            existing = _collected_count(label=label, provider=self.provider_name)
            tally = _Tally(
                name=label.name, query=str(item.get("query") or label.name),
                target=self.per_label, existing=existing,
            )  # fmt: skip
            self.runs.append(_LabelRun(label=label, tally=tally))
        known = Image.objects.filter(project=self.project)
        self.known_ids = set(
            known.filter(provider=self.provider_name).exclude(provider_id="")
            .values_list("provider_id", flat=True)
        )  # fmt: skip
        self.known_urls = set(known.exclude(source_url="").values_list("source_url", flat=True))
        self.total = sum(run.tally.missing for run in self.runs)

    # --- progress

    def breakdown(self) -> dict[str, Any]:
        rows = {str(run.label.pk): run.tally.as_dict() for run in self.runs}
        return {
            "provider": self.provider_name,
            "labels": rows,
            "totals": _totals(rows),
            "reasons": self.reasons,
        }

    def publish(self, message: str | None = None, *, force: bool = False) -> None:
        # job.result is the running breakdown: the snapshot reads it, and job_run saves it
        # whatever way the job ends.
        self.job.result = self.breakdown()
        done = sum(run.tally.downloaded for run in self.runs)
        now = time.monotonic()
        if force or now - self._last_publish >= PUBLISH_EVERY:
            self._last_publish = now
            Job.objects.filter(pk=self.job.pk).update(result=self.job.result)
            notify_project(self.project.pk, collect_event(self.job))
            if force or now - self._last_counts >= COUNTS_EVERY:
                self._last_counts = now
                dataset_notify(self.project)
        self.reporter.progress(min(done, self.total), self.total, message)

    # --- candidates

    def next_candidate(self, run: _LabelRun, provider: ImageSearchProvider) -> Candidate | None:
        while not run.buffer:
            if run.tally.exhausted or run.page >= MAX_PAGES:
                run.tally.exhausted = True
                return None
            run.page += 1
            self.reporter.check_cancelled()
            label = getattr(provider, "label", self.provider_name)
            try:
                results = provider.search(run.tally.query, page=run.page, page_size=PAGE_SIZE)
            except ProviderError as exc:
                log.warning("provider %s failed: %s", self.provider_name, exc)
                raise CollectionFailed(collection_failure_text(provider=label, error=exc)) from exc
            except Exception as exc:  # noqa: BLE001 - a provider bug still ends the job clearly
                log.exception("provider %s failed", self.provider_name)
                failed = ProviderError(str(exc), kind="bad_answer")
                raise CollectionFailed(
                    collection_failure_text(provider=label, error=failed)
                ) from exc
            fresh = [c for c in results if c.provider_id not in run.seen]
            if not fresh:  # an empty page, or the same page again: nothing more to get
                run.tally.exhausted = True
                return None
            run.seen.update(c.provider_id for c in fresh)
            licensed = filter_licenses(fresh, self.allowed)
            run.tally.skipped_license += len(fresh) - len(licensed)
            for candidate in licensed:
                if candidate.provider_id in self.known_ids or candidate.url in self.known_urls:
                    run.tally.known += 1
                else:
                    run.buffer.append(candidate)
        return run.buffer.popleft()

    def reject(self, run: _LabelRun, candidate: Candidate, reason: str) -> None:
        run.tally.rejected += 1
        self.rejected_total += 1
        if len(self.reasons) < REASONS_MAX:
            self.reasons.append(
                {"label": run.label.name, "url": candidate.url[:300], "reason": reason[:200]}
            )

    def ingest(self, run: _LabelRun, candidate: Candidate, data: bytes | str) -> None:
        if isinstance(data, str):
            self.reject(run, candidate, data)
            return
        if not Label.objects.filter(pk=run.label.pk).exists():
            # The owner deleted the label meanwhile: stop searching and downloading for it.
            run.buffer.clear()
            run.tally.exhausted = True
            return
        outcome = image_ingest(
            project=self.project,
            label=run.label,
            data=data,
            source=Image.Source.COLLECTED,
            added_by=self.job.created_by,
            original_name=_name_for(candidate),
            provenance=_provenance(candidate),
            phash_index=self.phash_index,
            quota=self.quota,
        )
        if outcome.quota_reached:
            collected = sum(r.tally.downloaded for r in self.runs)
            raise CollectionFailed(f"{outcome.reason} {_nothing_lost(collected)}")
        if outcome.status == "added":
            if outcome.image.quarantined:
                run.tally.quarantined += 1
            else:
                run.tally.downloaded += 1
            self.known_ids.add(candidate.provider_id)
            self.known_urls.add(candidate.url)
        elif outcome.status == "duplicate":
            run.tally.duplicates += 1
        else:
            self.reject(run, candidate, outcome.reason or "not a usable image")

    # --- the loop

    def run(self) -> dict[str, Any]:
        if not self.runs:
            raise CollectionFailed("None of the chosen labels exist any more.")
        try:
            provider = get_provider(self.provider_name, config=_provider_config(self.provider_name))
        except ProviderError as exc:
            label = dict(collect_provider_choices()).get(self.provider_name, self.provider_name)
            text = collection_failure_text(provider=label, error=exc)
            raise CollectionFailed(f"{text} {_nothing_lost(0)}") from exc
        self.phash_index = PhashIndex(self.project)
        self.quota = StorageQuota(self.project.owner_id)
        self.publish("Searching…", force=True)
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="collect")
        try:
            for run in self.runs:
                self.collect_label(run, provider, pool)
        finally:
            # Cancelled or failed: queued downloads are dropped, running ones are abandoned
            # (each is bounded by the fetch deadline); the job does not wait for them.
            pool.shutdown(wait=False, cancel_futures=True)
            dataset_notify(self.project)
        summary = self.summary()
        self.publish(summary, force=True)
        added = [run.label.pk for run in self.runs if run.tally.downloaded]
        if added:
            images_collected.send(
                sender=Image, project=self.project, label_ids=added, user=self.job.created_by
            )
        return self.job.result

    def collect_label(
        self, run: _LabelRun, provider: ImageSearchProvider, pool: ThreadPoolExecutor
    ) -> None:
        tally = run.tally
        pending: dict[Future, Candidate] = {}
        failure: CollectionFailed | None = None
        self.publish(f"“{tally.name}”: searching {tally.query!r}…")
        while True:
            # Keep at most `concurrency` downloads in flight, and never more than still missing.
            while failure is None and len(pending) < min(self.concurrency, tally.missing):
                try:
                    candidate = self.next_candidate(run, provider)
                except CollectionFailed as exc:
                    failure = exc  # finish the downloads in flight first: keep what we can
                    break
                if candidate is None:
                    break
                tally.found += 1
                pending[pool.submit(_download, candidate.url, self.policy)] = candidate
            if not pending:
                break
            finished, _ = wait(list(pending), timeout=0.5, return_when=FIRST_COMPLETED)
            for future in finished:
                self.ingest(run, pending.pop(future), future.result())
            have = tally.existing + tally.downloaded
            self.publish(f"“{tally.name}”: {have} of {tally.target}")
        tally.done = True
        self.publish(force=True)
        if failure is not None:
            collected = sum(r.tally.downloaded for r in self.runs)
            raise CollectionFailed(f"{failure} {_nothing_lost(collected)}")

    def summary(self) -> str:
        done = sum(run.tally.downloaded for run in self.runs)
        if not self.total:
            return (
                f"Nothing to collect: every label already has {self.per_label} collected "
                "image(s) from this source."
            )
        parts = [f"Collected {done} image(s)"]
        short = [
            f"“{run.tally.name}” ({run.tally.existing + run.tally.downloaded})"
            for run in self.runs
            if run.tally.missing
        ]
        rejected = self.rejected_total
        duplicates = sum(run.tally.duplicates for run in self.runs)
        skipped = sum(run.tally.skipped_license for run in self.runs)
        quarantined = sum(run.tally.quarantined for run in self.runs)
        if quarantined:
            parts.append(f"{quarantined} quarantined (possible adult content: not trained on)")
        if rejected:
            parts.append(f"{rejected} rejected")
        if duplicates:
            parts.append(f"{duplicates} duplicate(s)")
        if skipped:
            parts.append(f"{skipped} skipped (license)")
        text = ", ".join(parts) + "."
        if short:
            text += f" Not enough results for {', '.join(short)}."
        return text


def collection_run(*, job: Job, reporter: JobReporter) -> dict[str, Any]:
    """The body of a collection job (see datasets.jobs.collect_images)."""
    try:
        return _Collector(job, reporter).run()
    except (CollectionFailed, JobCancelled):
        raise
    except Exception as exc:  # the page says it plainly; the log keeps the traceback
        log.exception("collection job %s failed", job.pk)
        collected = Image.objects.filter(
            project=job.project, source=Image.Source.COLLECTED, created_at__gte=job.created_at
        ).count()
        raise CollectionFailed(
            "Something went wrong on this server while collecting (the details are in its log). "
            + _nothing_lost(collected)
        ) from exc


# --- Live snapshot ------------------------------------------------------------------------


@snapshot.register
def collect_snapshot(project: Project) -> dict[str, Any]:
    # A page that (re)connects draws the bars of running collections from this.
    jobs = project.jobs.filter(kind=Job.Kind.COLLECT, status__in=Job.ACTIVE)
    return {"collections": [collect_event(job) for job in jobs]}
