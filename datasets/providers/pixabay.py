"""Pixabay API (/api/); key goes in the ``key`` query parameter."""

from __future__ import annotations

from typing import Any

import requests

from .base import BaseProvider, Candidate, ProviderError

PIXABAY_LICENSE_URL = "https://pixabay.com/service/license-summary/"


class PixabayProvider(BaseProvider):
    name = "pixabay"
    label = "Pixabay"
    requires_key = True
    default_base_url = "https://pixabay.com/api/"
    min_page_size = 3  # documented per_page range 3..200
    max_page_size = 200

    def on_client_error(self, response: requests.Response) -> Any:
        # Pixabay answers 400 with a plain-text "[ERROR 400] ..." body for every client error.
        text = response.text.lower()
        if response.status_code == 400 and "out of valid range" in text:
            return {"hits": []}  # paged past totalHits: simply no more results
        if response.status_code == 400 and "key" in text:
            raise ProviderError(f"{self.label}: API key rejected (HTTP 400)", kind="key")
        return super().on_client_error(response)

    def search(self, query: str, *, page: int, page_size: int) -> list[Candidate]:
        size = max(self.min_page_size, min(page_size, self.max_page_size))
        params = {
            "key": self.api_key,
            "q": query[:100],  # documented maximum length
            "image_type": "photo",
            "page": max(1, page),
            "per_page": size,
            "safesearch": "true",
        }
        payload = self.get_json(params)
        hits = [h for h in payload.get("hits") or [] if isinstance(h, dict)]
        # per_page has a floor of 3: trim to what the caller asked for.
        return [c for c in (self._candidate(h) for h in hits) if c is not None][:page_size]

    def _candidate(self, hit: dict[str, Any]) -> Candidate | None:
        url = hit.get("largeImageURL") or hit.get("webformatURL")
        if not url:
            return None
        creator = str(hit.get("user") or "").strip()
        landing = str(hit.get("pageURL") or "")
        tags = str(hit.get("tags") or "").strip()
        return self.candidate(
            url=str(url),
            landing_url=landing,
            title=tags,
            creator=creator,
            license_code="pixabay",
            license_url=PIXABAY_LICENSE_URL,
            attribution=(
                f"Image by {creator or 'unknown'} from Pixabay ({landing}), "
                f"Pixabay Content License ({PIXABAY_LICENSE_URL})"
            ),
            provider_id=str(hit.get("id", url)),
        )
