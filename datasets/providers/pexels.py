"""Pexels API (/v1/search); key goes in the ``Authorization`` header (no "Bearer")."""

from __future__ import annotations

from typing import Any

from .base import BaseProvider, Candidate

PEXELS_LICENSE_URL = "https://www.pexels.com/license/"


class PexelsProvider(BaseProvider):
    name = "pexels"
    label = "Pexels"
    requires_key = True
    default_base_url = "https://api.pexels.com/v1/search"
    max_page_size = 80

    def search(self, query: str, *, page: int, page_size: int) -> list[Candidate]:
        params = {
            "query": query,
            "page": max(1, page),
            "per_page": max(1, min(page_size, self.max_page_size)),
        }
        payload = self.get_json(params, headers={"Authorization": self.api_key})
        photos = payload.get("photos") or []
        size = str(self.config.get("size", "large"))
        return [
            c
            for c in (self._candidate(p, size) for p in photos if isinstance(p, dict))
            if c is not None
        ]

    def _candidate(self, photo: dict[str, Any], size: str) -> Candidate | None:
        src = photo.get("src") or {}
        url = src.get(size) or src.get("large") or src.get("original")
        if not url:
            return None
        photo_id = str(photo.get("id", ""))
        creator = str(photo.get("photographer") or "").strip()
        landing = str(photo.get("url") or "")
        title = str(photo.get("alt") or "").strip() or f"Pexels photo {photo_id}"
        return self.candidate(
            url=str(url),
            landing_url=landing,
            title=title,
            creator=creator,
            license_code="pexels",
            license_url=PEXELS_LICENSE_URL,
            # Pexels' suggested credit line, plus where the terms are.
            attribution=(
                f"Photo by {creator or 'unknown photographer'} on Pexels ({landing}), "
                f"Pexels License ({PEXELS_LICENSE_URL})"
            ),
            provider_id=photo_id,
        )
