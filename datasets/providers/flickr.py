"""Flickr REST API (flickr.photos.search); needs an API key sent as ``api_key``."""

from __future__ import annotations

from typing import Any

from .base import (
    BaseProvider,
    Candidate,
    ProviderError,
    _RetryableProviderError,
)

# flickr.photos.licenses.getInfo: numeric id -> (normalized code, Flickr's name, url).
# Ids not listed here (Flickr may add more) become "unknown", so allow-lists fail closed.
FLICKR_LICENSES: dict[str, tuple[str, str, str]] = {
    "0": ("all-rights-reserved", "All Rights Reserved", ""),
    "1": ("by-nc-sa", "CC BY-NC-SA 2.0", "https://creativecommons.org/licenses/by-nc-sa/2.0/"),
    "2": ("by-nc", "CC BY-NC 2.0", "https://creativecommons.org/licenses/by-nc/2.0/"),
    "3": ("by-nc-nd", "CC BY-NC-ND 2.0", "https://creativecommons.org/licenses/by-nc-nd/2.0/"),
    "4": ("by", "CC BY 2.0", "https://creativecommons.org/licenses/by/2.0/"),
    "5": ("by-sa", "CC BY-SA 2.0", "https://creativecommons.org/licenses/by-sa/2.0/"),
    "6": ("by-nd", "CC BY-ND 2.0", "https://creativecommons.org/licenses/by-nd/2.0/"),
    "7": (
        "no-known-restrictions",
        "No known copyright restrictions",
        "https://www.flickr.com/commons/usage/",
    ),
    "8": ("us-government", "United States Government Work", "http://www.usa.gov/copyright.shtml"),
    "9": ("cc0", "CC0 1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
    "10": ("pdm", "Public Domain Mark 1.0", "https://creativecommons.org/publicdomain/mark/1.0/"),
}

# Flickr reports errors as HTTP 200 {"stat": "fail", "code": N, "message": ...}.
_KEY_ERRORS = {100}  # Invalid API Key
_TRANSIENT_ERRORS = {105, 106}  # Service currently unavailable / Write operation failed


class FlickrProvider(BaseProvider):
    name = "flickr"
    label = "Flickr"
    requires_key = True
    default_base_url = "https://api.flickr.com/services/rest/"
    max_page_size = 500

    def check_payload(self, payload: Any) -> None:
        if not isinstance(payload, dict) or payload.get("stat") != "fail":
            return
        code = int(payload.get("code") or 0)
        message = str(payload.get("message") or "")
        if code in _KEY_ERRORS:
            raise ProviderError(
                f"{self.label}: API key rejected (error {code}: {message})", kind="key"
            )
        if code in _TRANSIENT_ERRORS:
            raise _RetryableProviderError(f"error {code} ({message})")
        raise ProviderError(f"{self.label} API error {code}: {message}")

    def search(self, query: str, *, page: int, page_size: int) -> list[Candidate]:
        params: dict[str, Any] = {
            "method": "flickr.photos.search",
            "api_key": self.api_key,
            "text": query,
            "page": max(1, page),
            "per_page": max(1, min(page_size, self.max_page_size)),
            "extras": "license,owner_name,url_l,url_c,url_z",
            "content_type": 1,  # photos only (no screenshots/other)
            "media": "photos",
            "safe_search": 1,
            "sort": "relevance",
            "format": "json",
            "nojsoncallback": 1,
        }
        allowed = self.config.get("licenses")
        if allowed:
            wanted = {code.lower() for code in allowed}
            ids = [i for i, (code, _n, _u) in FLICKR_LICENSES.items() if code in wanted]
            if not ids:
                return []
            params["license"] = ",".join(ids)
        payload = self.get_json(params)
        photos = (payload.get("photos") or {}).get("photo") or []
        return [self._candidate(p) for p in photos if isinstance(p, dict) and p.get("id")]

    def _candidate(self, photo: dict[str, Any]) -> Candidate:
        photo_id = str(photo["id"])
        url = photo.get("url_l") or photo.get("url_c") or photo.get("url_z")
        if not url:
            # Documented URL scheme; "_b" is the 1024 px rendition.
            url = (
                f"https://live.staticflickr.com/{photo.get('server')}/"
                f"{photo_id}_{photo.get('secret')}_b.jpg"
            )
        code, license_label, license_url = FLICKR_LICENSES.get(
            str(photo.get("license", "")), ("unknown", "", "")
        )
        title = str(photo.get("title") or "").strip()
        creator = str(photo.get("ownername") or photo.get("owner") or "").strip()
        return self.candidate(
            url=str(url),
            landing_url=f"https://www.flickr.com/photos/{photo.get('owner')}/{photo_id}",
            title=title,
            creator=creator,
            license_code=code,
            license_label=license_label,
            license_url=license_url,
            source="Flickr",
            provider_id=photo_id,
        )
