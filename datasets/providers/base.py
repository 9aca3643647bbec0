"""Shared pieces of the image search providers: Candidate, errors, HTTP with retries, licenses.

Provider API calls go to operator-configured endpoints with plain ``requests`` (trusted); the
image URLs the providers return are NOT trusted and must be downloaded with
``datasets.fetch.fetch``.
"""

from __future__ import annotations

import email.utils
import html
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, ClassVar, Protocol, runtime_checkable
from urllib.parse import urlsplit

import requests

DEFAULT_USER_AGENT = "AIMaker/1.0 (+self-hosted image classifier maker)"
DEFAULT_TIMEOUT = 15.0


@dataclass(frozen=True)
class Candidate:
    url: str  # direct image URL (untrusted: download through datasets.fetch)
    landing_url: str  # page about the image
    title: str
    creator: str
    license: str  # normalized lowercase code, see LICENSE_NAMES
    license_url: str
    attribution: str  # full human-readable attribution text
    provider: str  # "openverse", ...
    provider_id: str  # the provider's id for the image (dedup across pages/runs)

    def __post_init__(self) -> None:
        # Pages link to these: a provider's "javascript:" or "data:" URL must never become one.
        for name in ("landing_url", "license_url"):
            if not web_url(getattr(self, name)):
                object.__setattr__(self, name, "")


def web_url(url: str) -> bool:
    return urlsplit(url.strip()).scheme.lower() in {"http", "https"} if url else False


class ProviderError(Exception):
    """A provider could not answer (after retries where retrying makes sense).

    .kind says what happened, so pages can say it in plain words: "unreachable" (no
    connection), "timeout", "unavailable" (it kept answering 429/5xx), "key" (API key missing
    or rejected), "bad_answer" (not what its API returns) or "refused" (it refused the search)."""

    def __init__(self, message: str, *, kind: str = "refused") -> None:
        super().__init__(message)
        self.kind = kind


class ProviderNotConfigured(ProviderError):
    """The provider needs an API key and none is configured."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="key")


@runtime_checkable
class ImageSearchProvider(Protocol):
    name: str
    label: str
    requires_key: bool

    def search(self, query: str, *, page: int, page_size: int) -> list[Candidate]: ...


# --- licenses ----------------------------------------------------------------------------

# Normalized codes -> human names. Providers map their own vocabularies onto these codes;
# anything they cannot classify becomes "unknown" so an operator allow-list fails closed.
LICENSE_NAMES: dict[str, str] = {
    "cc0": "CC0",
    "pdm": "Public Domain",
    "by": "CC BY",
    "by-sa": "CC BY-SA",
    "by-nd": "CC BY-ND",
    "by-nc": "CC BY-NC",
    "by-nc-sa": "CC BY-NC-SA",
    "by-nc-nd": "CC BY-NC-ND",
    "no-known-restrictions": "No known copyright restrictions (Flickr Commons)",
    "us-government": "United States Government Work",
    "pexels": "Pexels License",
    "pixabay": "Pixabay Content License",
    "all-rights-reserved": "All rights reserved",
    "unknown": "Unknown license",
}

_CC_CODE = re.compile(r"^(?:cc[- ])?(by(?:[- ](?:nc|nd|sa))*)(?=$|[- ]\d|\s)")


def normalize_cc_license(value: str) -> str:
    """Map "CC BY-SA 4.0", "cc-by-sa-4.0", "by-sa", "CC0", "Public domain"... to a code."""
    text = (value or "").strip().lower()
    if not text:
        return "unknown"
    if text.startswith(("cc0", "cc-zero", "cc zero")):
        return "cc0"
    if text in ("pdm", "pd", "public domain", "public domain mark") or text.startswith(
        ("pd-", "public domain")
    ):
        return "pdm"
    match = _CC_CODE.match(text)
    if match:
        code = re.sub(r"[ ]", "-", match.group(1))
        if code in LICENSE_NAMES:
            return code
    return "unknown"


def filter_licenses(candidates: Iterable[Candidate], allowed: Iterable[str]) -> list[Candidate]:
    """Keep only candidates whose license the operator allowed (codes, case-insensitive)."""
    allowed_codes = {code.strip().lower() for code in allowed}
    return [c for c in candidates if c.license in allowed_codes]


def build_attribution(
    *,
    title: str,
    creator: str,
    license_code: str,
    license_label: str = "",
    license_url: str = "",
    source: str = "",
) -> str:
    """“Title” by Creator (via Source), licensed under CC BY 2.0 (url)."""
    label = license_label or LICENSE_NAMES.get(license_code, license_code)
    work = f"“{title}”" if title else "This image"
    parts = [work]
    if creator:
        parts.append(f"by {creator}")
    if source:
        parts.append(f"via {source}")
    text = " ".join(parts)
    if license_code == "unknown":
        text += ", license unknown"
    elif license_code in ("cc0", "pdm", "us-government", "no-known-restrictions"):
        text += f", {label}"
    else:
        text += f", licensed under {label}"
    if license_url:
        text += f" ({license_url})"
    return text


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def strip_html(value: str | None) -> str:
    """Plain text from the HTML snippets some APIs return (Wikimedia's Artist field)."""
    if not value:
        return ""
    parser = _TextExtractor()
    parser.feed(value)
    parser.close()
    return " ".join(html.unescape("".join(parser.parts)).split())


# --- HTTP with retries -------------------------------------------------------------------
# Hand-written, not urllib3's Retry: Flickr reports errors in 200 bodies that must be retried,
# a server's Retry-After is capped, and the sleep is injectable so tests do not wait.


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 0.5  # seconds; delay before retry n is uniform(0, base * 2**n)
    max_delay: float = 8.0
    max_retry_after: float = 30.0  # cap on a server's Retry-After

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RetryPolicy:
        default = cls()
        return cls(
            max_attempts=max(1, int(config.get("max_attempts", default.max_attempts))),
            base_delay=float(config.get("retry_base_delay", default.base_delay)),
            max_delay=float(config.get("retry_max_delay", default.max_delay)),
            max_retry_after=float(config.get("retry_after_cap", default.max_retry_after)),
        )


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class BaseProvider:
    """HTTP plumbing shared by the concrete providers."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    requires_key: ClassVar[bool] = False
    default_base_url: ClassVar[str] = ""

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        config = dict(config or {})
        self.base_url: str = config.get("base_url") or self.default_base_url
        self.api_key: str = (config.get("api_key") or "").strip()
        self.timeout: float = float(config.get("timeout") or DEFAULT_TIMEOUT)
        self.user_agent: str = config.get("user_agent") or DEFAULT_USER_AGENT
        self.retry = RetryPolicy.from_config(config)
        self.config = config
        self.session = session or requests.Session()
        self.sleep = sleep  # injectable so tests can record delays instead of waiting
        if self.requires_key and not self.api_key:
            raise ProviderNotConfigured(f"{self.label} needs an API key; none is configured")

    def candidate(
        self,
        *,
        url: str,
        landing_url: str,
        title: str,
        creator: str,
        license_code: str,
        provider_id: str,
        license_url: str = "",
        license_label: str = "",
        source: str = "",
        attribution: str = "",
    ) -> Candidate:
        """The one way a provider makes a Candidate: its attribution is built from the same
        fields (credited to ``source``) unless the provider gives its own."""
        return Candidate(
            url=str(url),
            landing_url=landing_url,
            title=title,
            creator=creator,
            license=license_code,
            license_url=license_url,
            attribution=attribution
            or build_attribution(
                title=title,
                creator=creator,
                license_code=license_code,
                license_label=license_label,
                license_url=license_url,
                source=source,
            ),
            provider=self.name,
            provider_id=provider_id,
        )

    # Subclasses override to turn provider-specific 200 bodies into errors (Flickr).
    def check_payload(self, payload: Any) -> None:
        return None

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.retry.max_retry_after)
        ceiling = min(self.retry.max_delay, self.retry.base_delay * (2**attempt))
        return random.uniform(0, ceiling)  # full jitter

    def get_json(
        self,
        params: Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
        url: str | None = None,
    ) -> Any:
        """GET ``url`` (default: base_url) with retries on 429/5xx/timeouts/connection errors."""
        all_headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        all_headers.update(headers or {})
        last_problem, last_kind = "", "unavailable"
        for attempt in range(self.retry.max_attempts):
            retry_after: float | None = None
            try:
                response = self.session.get(
                    url or self.base_url,
                    params=params,
                    headers=all_headers,
                    timeout=self.timeout,
                    allow_redirects=True,
                )
            except requests.exceptions.Timeout:
                last_problem, last_kind = "timed out", "timeout"
            except requests.exceptions.ConnectionError as exc:
                last_problem = f"connection error ({type(exc).__name__})"
                last_kind = "unreachable"
            else:
                status = response.status_code
                if status == 429 or status >= 500:
                    last_problem, last_kind = f"HTTP {status}", "unavailable"
                    retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
                    response.close()
                elif status >= 400:
                    return self.on_client_error(response)
                else:
                    try:
                        payload = response.json()
                    except ValueError:
                        raise ProviderError(
                            f"{self.label} returned an invalid response (not JSON, HTTP {status})",
                            kind="bad_answer",
                        ) from None
                    if not isinstance(payload, dict):
                        raise ProviderError(
                            f"{self.label} returned an unexpected response (not a JSON object)",
                            kind="bad_answer",
                        )
                    try:
                        self.check_payload(payload)
                    except _RetryableProviderError as exc:
                        last_problem, last_kind = str(exc), "unavailable"
                    else:
                        return payload
            if attempt + 1 < self.retry.max_attempts:
                self.sleep(self._backoff(attempt, retry_after))
        raise ProviderError(
            f"{self.label} kept failing: {last_problem} after {self.retry.max_attempts} attempts",
            kind=last_kind,
        )

    def on_client_error(self, response: requests.Response) -> Any:
        """4xx other than 429: not worth retrying. Subclasses may map some to a payload."""
        raise self._client_error(response)

    def _client_error(self, response: requests.Response) -> ProviderError:
        # Never include the request URL: some providers carry the API key in the query.
        status = response.status_code
        detail = " ".join(response.text[:200].split())
        if status in (401, 403):
            return ProviderError(f"{self.label}: API key rejected (HTTP {status})", kind="key")
        return ProviderError(f"{self.label} rejected the request: HTTP {status} {detail}".strip())


class _RetryableProviderError(ProviderError):
    """Raised by ``check_payload`` for errors reported in a 200 body that are worth retrying."""
