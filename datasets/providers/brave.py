"""Brave Search Images API; key goes in the ``X-Subscription-Token`` header.

Results are arbitrary web images: the license is unknown, so they only pass an operator
allow-list that explicitly contains "unknown".
"""

from __future__ import annotations

import hashlib
from typing import Any

import requests

from .base import BaseProvider, Candidate, ProviderError, build_attribution


class BraveProvider(BaseProvider):
    name = "brave"
    label = "Brave Search"
    requires_key = True
    default_base_url = "https://api.search.brave.com/res/v1/images/search"
    max_results = 200  # "count" maximum; the image endpoint has no offset parameter

    def on_client_error(self, response: requests.Response) -> Any:
        if response.status_code == 422 and "token" in response.text.lower():
            raise ProviderError(f"{self.label}: API key rejected (HTTP 422)", kind="key")
        return super().on_client_error(response)

    def search(self, query: str, *, page: int, page_size: int) -> list[Candidate]:
        # No paging on this endpoint: ask for the first page*page_size results and slice.
        start = (max(1, page) - 1) * page_size
        end = min(start + page_size, self.max_results)
        if start >= end:
            return []
        params = {
            "q": query[:400],
            "count": end,
            "safesearch": self.config.get("safesearch", "strict"),
            "spellcheck": 0,
        }
        payload = self.get_json(params, headers={"X-Subscription-Token": self.api_key})
        results = [r for r in payload.get("results") or [] if isinstance(r, dict)]
        candidates = [c for c in (self._candidate(r) for r in results) if c is not None]
        return candidates[start:end]

    def _candidate(self, result: dict[str, Any]) -> Candidate | None:
        url = (result.get("properties") or {}).get("url")
        if not url:
            return None
        title = str(result.get("title") or "").strip()
        source = str(result.get("source") or "").strip()
        landing = str(result.get("url") or "")
        return self.candidate(
            url=str(url),
            landing_url=landing,
            title=title,
            creator=source,
            license_code="unknown",
            attribution=build_attribution(  # credited to the site, not as its creator
                title=title,
                creator="",
                license_code="unknown",
                source=f"{source} ({landing})" if source else landing,
            ),
            # No id in the API: a stable hash of the image URL (fits a 200-char field).
            provider_id=hashlib.sha256(str(url).encode()).hexdigest()[:40],
        )
