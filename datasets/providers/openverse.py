"""Openverse (https://api.openverse.org/v1/): openly licensed images, no key required."""

from __future__ import annotations

from typing import Any

from .base import LICENSE_NAMES, BaseProvider, Candidate, normalize_cc_license

# Codes Openverse's ``license`` filter understands that we also normalize to.
_OPENVERSE_LICENSES = frozenset(
    {"by", "by-sa", "by-nd", "by-nc", "by-nc-sa", "by-nc-nd", "cc0", "pdm"}
)


class OpenverseProvider(BaseProvider):
    name = "openverse"
    label = "Openverse"
    requires_key = False
    default_base_url = "https://api.openverse.org/v1/images/"
    # Anonymous clients are limited to 20 results per page; a registered client's bearer
    # token (config "api_key") lifts that.
    anonymous_max_page_size = 20
    # ...and to the first 240 results: deeper pages are refused (HTTP 400), so there are none.
    anonymous_max_results = 240
    max_page_size = 500

    def search(self, query: str, *, page: int, page_size: int) -> list[Candidate]:
        limit = self.max_page_size if self.api_key else self.anonymous_max_page_size
        if not self.api_key and (max(1, page) - 1) * min(page_size, limit) >= (
            self.anonymous_max_results
        ):
            return []
        params: dict[str, Any] = {
            "q": query,
            "page": max(1, page),
            "page_size": max(1, min(page_size, limit)),
            "mature": "false",
        }
        allowed = self.config.get("licenses")
        if allowed:
            # Filter server-side too, so pages are not wasted on results we would drop.
            codes = sorted({code.lower() for code in allowed} & _OPENVERSE_LICENSES)
            if not codes:
                return []
            params["license"] = ",".join(codes)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        payload = self.get_json(params, headers=headers)
        results = payload.get("results") or []
        return [self._candidate(r) for r in results if isinstance(r, dict) and r.get("url")]

    def _candidate(self, result: dict[str, Any]) -> Candidate:
        code = normalize_cc_license(str(result.get("license") or ""))
        version = str(result.get("license_version") or "").strip()
        license_label = " ".join(filter(None, [LICENSE_NAMES.get(code, code), version]))
        title = str(result.get("title") or "").strip()
        creator = str(result.get("creator") or "").strip()
        return self.candidate(
            url=str(result["url"]),
            landing_url=str(result.get("foreign_landing_url") or ""),
            title=title,
            creator=creator,
            license_code=code,
            license_label=license_label,
            license_url=str(result.get("license_url") or ""),
            attribution=str(result.get("attribution") or "").strip(),  # its own, when given
            provider_id=str(result.get("id") or result["url"]),
        )
