"""Wikimedia Commons (MediaWiki Action API): free files, no key; needs a descriptive UA."""

from __future__ import annotations

from typing import Any

from .base import (
    BaseProvider,
    Candidate,
    ProviderError,
    _RetryableProviderError,
    normalize_cc_license,
    strip_html,
)

_EXTMETADATA_FIELDS = "ObjectName|Artist|Attribution|LicenseShortName|License|LicenseUrl|UsageTerms"


def _meta(extmetadata: dict[str, Any], key: str) -> str:
    entry = extmetadata.get(key)
    value = entry.get("value") if isinstance(entry, dict) else None
    return str(value) if value is not None else ""


def _title_from_page(page_title: str) -> str:
    name = page_title.split(":", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name


class WikimediaProvider(BaseProvider):
    name = "wikimedia"
    label = "Wikimedia Commons"
    requires_key = False
    default_base_url = "https://commons.wikimedia.org/w/api.php"
    max_page_size = 50  # gsrlimit maximum for ordinary clients

    def check_payload(self, payload: Any) -> None:
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict):
            code = str(error.get("code") or "")
            message = f"{self.label} API error {code}: {error.get('info', '')}".strip()
            if code in ("maxlag", "ratelimited", "readonly", "internal_api_error_DBQueryError"):
                raise _RetryableProviderError(message)
            raise ProviderError(message)

    def search(self, query: str, *, page: int, page_size: int) -> list[Candidate]:
        size = max(1, min(page_size, self.max_page_size))
        thumb_width = int(self.config.get("thumb_width", 1280))
        params: dict[str, Any] = {
            "action": "query",
            "format": "json",
            "formatversion": "2",
            "generator": "search",
            # Bitmaps only: no SVG/PDF/video/audio in the File namespace results.
            "gsrsearch": f"filetype:bitmap {query}",
            "gsrnamespace": "6",
            "gsrlimit": size,
            "gsroffset": (max(1, page) - 1) * size,
            "prop": "imageinfo",
            "iiprop": "url|extmetadata|size|mime",
            "iiextmetadatafilter": _EXTMETADATA_FIELDS,
            "iiextmetadatalanguage": self.config.get("language", "en"),
        }
        if thumb_width > 0:
            # A scaled rendition is plenty for training and much lighter than originals.
            params["iiurlwidth"] = thumb_width
        payload = self.get_json(params)
        pages = (payload.get("query") or {}).get("pages") or []
        if isinstance(pages, dict):  # formatversion=1 shape
            pages = list(pages.values())
        pages = sorted((p for p in pages if isinstance(p, dict)), key=lambda p: p.get("index", 0))
        candidates = []
        for page_info in pages:
            candidate = self._candidate(page_info)
            if candidate is not None:
                candidates.append(candidate)
        return candidates

    def _candidate(self, page_info: dict[str, Any]) -> Candidate | None:
        infos = page_info.get("imageinfo") or []
        if not infos or not isinstance(infos[0], dict):
            return None
        info = infos[0]
        if not str(info.get("mime", "image/")).startswith("image/"):
            return None
        url = info.get("thumburl") or info.get("url")
        if not url:
            return None
        meta = info.get("extmetadata") or {}
        code = normalize_cc_license(_meta(meta, "License") or _meta(meta, "LicenseShortName"))
        license_label = strip_html(_meta(meta, "LicenseShortName"))
        license_url = _meta(meta, "LicenseUrl")
        title = strip_html(_meta(meta, "ObjectName")) or _title_from_page(
            str(page_info.get("title", ""))
        )
        creator = strip_html(_meta(meta, "Attribution")) or strip_html(_meta(meta, "Artist"))
        return self.candidate(
            url=str(url),
            landing_url=str(info.get("descriptionurl") or ""),
            title=title,
            creator=creator,
            license_code=code,
            license_label=license_label,
            license_url=license_url,
            source="Wikimedia Commons",
            provider_id=str(page_info.get("pageid") or url),
        )
