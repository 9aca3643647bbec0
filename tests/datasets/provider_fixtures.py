"""Canned, real-shaped image search API responses served by pytest-httpserver.

Shapes follow each provider's documented responses (Openverse v1 /images/, MediaWiki Action API
generator=search + imageinfo/extmetadata with formatversion=2, Flickr flickr.photos.search JSON,
Pexels /v1/search, Pixabay /api/, Brave /res/v1/images/search). Every image URL in them points
back at the test server (``http://127.0.0.1:<port>/images/<provider>/<n>.jpg``) so an
integration test can also serve the images (``image_bytes_factory``) and download them with
``fetch(..., policy=FetchPolicy(allow_loopback=True))``.

Typical use::

    payload = register(httpserver, "openverse", "red fox", 3, image_bytes_factory=jpeg_bytes)
    provider = get_provider("openverse", config=provider_config(httpserver, "openverse"))
    candidates = provider.search("red fox", page=1, page_size=3)
"""

from __future__ import annotations

import io
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pytest_httpserver import HTTPServer
from pytest_httpserver.httpserver import QueryMatcher

ImageFactory = Callable[[int], bytes]

API_PATHS: dict[str, str] = {
    "openverse": "/v1/images/",
    "wikimedia": "/w/api.php",
    "flickr": "/services/rest/",
    "pexels": "/v1/search",
    "pixabay": "/api/",
    "brave": "/res/v1/images/search",
}
KEY_REQUIRED = {"flickr", "pexels", "pixabay", "brave"}
TEST_API_KEY = "test-key-123"


class QueryParams(QueryMatcher):
    """Matches when the request's query contains these params (others are ignored)."""

    def __init__(self, **expected: Any) -> None:
        self.expected = {k: str(v) for k, v in expected.items()}

    def get_comparing_values(self, request_query_string: bytes) -> tuple[Any, Any]:
        query = dict(urllib.parse.parse_qsl(request_query_string.decode(), keep_blank_values=True))
        return {k: query.get(k) for k in self.expected}, self.expected


def image_base(httpserver: HTTPServer) -> str:
    # An IP literal, not "localhost": fetch() resolves names and ::1 might come first.
    return f"http://127.0.0.1:{httpserver.port}"


def provider_config(httpserver: HTTPServer, name: str, **extra: Any) -> dict[str, Any]:
    """Config dict pointing provider ``name`` at the test server, with near-zero backoff."""
    config: dict[str, Any] = {
        "base_url": httpserver.url_for(API_PATHS[name]),
        "timeout": 5,
        "retry_base_delay": 0.001,
        "retry_max_delay": 0.01,
        "retry_after_cap": 0.05,
    }
    if name in KEY_REQUIRED:
        config["api_key"] = TEST_API_KEY
    config.update(extra)
    return config


def jpeg_bytes(index: int, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small, valid, distinct JPEG per index (Pillow is a test dependency anyway)."""
    from PIL import Image

    colour = ((index * 67) % 256, (index * 131) % 256, (index * 197) % 256)
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def register_images(
    httpserver: HTTPServer, urls: Iterable[str], image_bytes_factory: ImageFactory
) -> None:
    for index, url in enumerate(urls):
        path = urllib.parse.urlsplit(url).path
        httpserver.expect_request(path).respond_with_data(
            image_bytes_factory(index), content_type="image/jpeg"
        )


def _register(
    httpserver: HTTPServer,
    provider: str,
    params: Mapping[str, Any],
    payload: dict[str, Any],
    image_urls: list[str],
    image_bytes_factory: ImageFactory | None,
) -> dict[str, Any]:
    httpserver.expect_request(
        API_PATHS[provider], method="GET", query_string=QueryParams(**params)
    ).respond_with_json(payload)
    if image_bytes_factory is not None:
        register_images(httpserver, image_urls, image_bytes_factory)
    return payload


def _slug(query: str) -> str:
    return "-".join(query.lower().split()) or "image"


# --- Openverse -----------------------------------------------------------------------------

OPENVERSE_LICENSES: list[tuple[str, str, str]] = [
    ("by", "2.0", "https://creativecommons.org/licenses/by/2.0/"),
    ("by-sa", "4.0", "https://creativecommons.org/licenses/by-sa/4.0/"),
    ("cc0", "1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
    ("by-nc", "2.0", "https://creativecommons.org/licenses/by-nc/2.0/"),
    ("pdm", "1.0", "https://creativecommons.org/publicdomain/mark/1.0/"),
]


def openverse_payload(
    base: str, query: str, n: int, *, page: int = 1, page_size: int = 20
) -> dict[str, Any]:
    results = []
    for i in range(n):
        code, version, url = OPENVERSE_LICENSES[i % len(OPENVERSE_LICENSES)]
        ident = f"4bc43a04-ef46-4544-a0c1-{i:012d}"
        title = f"{query.title()} {i}"
        creator = f"Photographer {i}"
        label = "CC0" if code == "cc0" else ("Public Domain Mark" if code == "pdm" else "CC")
        label = f"{label} {code.upper()} {version}" if label == "CC" else f"{label} {version}"
        verb = "is marked with" if code in ("cc0", "pdm") else "is licensed under"
        results.append(
            {
                "id": ident,
                "title": title,
                "indexed_on": "2023-05-06T12:00:00Z",
                "foreign_landing_url": f"https://www.flickr.com/photos/126744325@N07/5174538{i}",
                "url": f"{base}/images/openverse/{i}.jpg",
                "creator": creator,
                "creator_url": f"https://www.flickr.com/photos/126744325@N07/{i}",
                "license": code,
                "license_version": version,
                "license_url": url,
                "provider": "flickr",
                "source": "flickr",
                "category": "photograph",
                "genres": None,
                "filesize": 48_213 + i,
                "filetype": "jpg",
                "tags": [{"accuracy": None, "name": _slug(query), "unstable__provider": "flickr"}],
                "attribution": (
                    f'"{title}" by {creator} {verb} {label}. To view a copy of this license, '
                    f"visit {url}."
                ),
                "fields_matched": ["title"],
                "mature": False,
                "height": 480,
                "width": 640,
                "thumbnail": f"https://api.openverse.org/v1/images/{ident}/thumb/",
                "detail_url": f"https://api.openverse.org/v1/images/{ident}/",
                "related_url": f"https://api.openverse.org/v1/images/{ident}/related/",
                "unstable__sensitivity": [],
            }
        )
    return {
        "result_count": 240,
        "page_count": max(1, 240 // max(1, page_size)),
        "page_size": page_size,
        "page": page,
        "results": results,
        "warnings": [],
    }


# --- Wikimedia Commons ---------------------------------------------------------------------

WIKIMEDIA_LICENSES: list[tuple[str, str, str]] = [
    ("cc-by-sa-4.0", "CC BY-SA 4.0", "https://creativecommons.org/licenses/by-sa/4.0"),
    ("cc0", "CC0", "http://creativecommons.org/publicdomain/zero/1.0/deed.en"),
    ("pd", "Public domain", ""),
    ("cc-by-3.0", "CC BY 3.0", "https://creativecommons.org/licenses/by/3.0"),
    ("gfdl", "GFDL", "http://www.gnu.org/copyleft/fdl.html"),
]


def wikimedia_payload(base: str, query: str, n: int, *, offset: int = 0) -> dict[str, Any]:
    pages = []
    for i in range(n):
        code, short, url = WIKIMEDIA_LICENSES[i % len(WIKIMEDIA_LICENSES)]
        name = f"{query.title()} {i} (Commons).jpg"
        file_title = name.replace(" ", "_")
        extmetadata: dict[str, Any] = {
            "ObjectName": {
                "value": f"{query.title()} {i}",
                "source": "mediawiki-metadata",
                "hidden": "",
            },
            "Artist": {
                "value": f'<a href="//commons.wikimedia.org/wiki/User:Fox_Fan_{i}" '
                f'title="User:Fox Fan {i}">Fox Fan {i}</a> &amp; friends',
                "source": "commons-desc-page",
            },
            "LicenseShortName": {"value": short, "source": "commons-desc-page", "hidden": ""},
            "UsageTerms": {"value": short, "source": "commons-desc-page", "hidden": ""},
            "License": {"value": code, "source": "commons-templates", "hidden": ""},
        }
        if url:
            extmetadata["LicenseUrl"] = {"value": url, "source": "commons-desc-page", "hidden": ""}
        pages.append(
            {
                "pageid": 9_100_000 + offset + i,
                "ns": 6,
                "title": f"File:{name}",
                "index": i + 1,
                "imagerepository": "local",
                "imageinfo": [
                    {
                        "size": 2_345_678,
                        "width": 4000,
                        "height": 3000,
                        "thumburl": f"{base}/images/wikimedia/{i}.jpg",
                        "thumbwidth": 1280,
                        "thumbheight": 960,
                        "responsiveUrls": {},
                        "url": f"{base}/images/wikimedia/original-{i}.jpg",
                        "descriptionurl": f"https://commons.wikimedia.org/wiki/File:{file_title}",
                        "descriptionshorturl": (
                            f"https://commons.wikimedia.org/w/index.php?curid={9_100_000 + i}"
                        ),
                        "mime": "image/jpeg",
                        "extmetadata": extmetadata,
                    }
                ],
            }
        )
    # The API lists generator results in arbitrary order; "index" carries the ranking.
    pages.reverse()
    return {
        "batchcomplete": True,
        "continue": {"gsroffset": offset + n, "continue": "gsroffset||"},
        "query": {"pages": pages},
    }


# --- Flickr --------------------------------------------------------------------------------

FLICKR_LICENSE_CYCLE = ["4", "5", "9", "0", "2", "10"]


def flickr_payload(
    base: str, query: str, n: int, *, page: int = 1, per_page: int = 100
) -> dict[str, Any]:
    photos = []
    for i in range(n):
        photo: dict[str, Any] = {
            "id": f"5174538{i:04d}",
            "owner": f"12674432{i}@N07",
            "secret": f"c10358e1a{i}",
            "server": "65535",
            "farm": 66,
            "title": f"{query} at dusk #{i}",
            "ispublic": 1,
            "isfriend": 0,
            "isfamily": 0,
            "license": FLICKR_LICENSE_CYCLE[i % len(FLICKR_LICENSE_CYCLE)],
            "ownername": f"Kristoffer {i}",
        }
        if i % 3 != 2:  # small uploads have no url_l: exercise the fallbacks too
            photo.update(
                {"url_l": f"{base}/images/flickr/{i}.jpg", "height_l": 768, "width_l": 1024}
            )
        else:
            photo.update(
                {"url_c": f"{base}/images/flickr/{i}.jpg", "height_c": 600, "width_c": 800}
            )
        photos.append(photo)
    return {
        "photos": {"page": page, "pages": 40, "perpage": per_page, "total": 4000, "photo": photos},
        "stat": "ok",
    }


FLICKR_INVALID_KEY = {
    "stat": "fail",
    "code": 100,
    "message": "Invalid API Key (Key has invalid format)",
}


# --- Pexels --------------------------------------------------------------------------------


def pexels_payload(
    base: str, query: str, n: int, *, page: int = 1, per_page: int = 15
) -> dict[str, Any]:
    photos = []
    for i in range(n):
        photo_id = 2_014_422 + i
        img = f"{base}/images/pexels/{i}.jpg"
        photos.append(
            {
                "id": photo_id,
                "width": 3024,
                "height": 3024,
                "url": f"https://www.pexels.com/photo/{_slug(query)}-{photo_id}/",
                "photographer": f"Joey Farina {i}",
                "photographer_url": "https://www.pexels.com/@joey",
                "photographer_id": 680_589 + i,
                "avg_color": "#978E82",
                "src": {
                    "original": f"{img}?orig",
                    "large2x": f"{img}?auto=compress&cs=tinysrgb&dpr=2&h=650&w=940",
                    "large": img,
                    "medium": f"{img}?auto=compress&cs=tinysrgb&h=350",
                    "small": f"{img}?auto=compress&cs=tinysrgb&h=130",
                    "portrait": f"{img}?auto=compress&cs=tinysrgb&fit=crop&h=1200&w=800",
                    "landscape": f"{img}?auto=compress&cs=tinysrgb&fit=crop&h=627&w=1200",
                    "tiny": f"{img}?auto=compress&cs=tinysrgb&dpr=1&fit=crop&h=200&w=280",
                },
                "liked": False,
                "alt": f"{query.title()} during golden hour {i}",
            }
        )
    return {
        "total_results": 10_000,
        "page": page,
        "per_page": per_page,
        "photos": photos,
        "next_page": f"https://api.pexels.com/v1/search/?page={page + 1}&per_page={per_page}"
        f"&query={urllib.parse.quote(query)}",
    }


# --- Pixabay -------------------------------------------------------------------------------


def pixabay_payload(base: str, query: str, n: int) -> dict[str, Any]:
    hits = []
    for i in range(n):
        hit_id = 195_893 + i
        hits.append(
            {
                "id": hit_id,
                "pageURL": f"https://pixabay.com/photos/{_slug(query)}-{hit_id}/",
                "type": "photo",
                "tags": f"{query}, animal, nature",
                "previewURL": f"https://cdn.pixabay.com/photo/2013/10/15/09/12/{hit_id}_150.jpg",
                "previewWidth": 150,
                "previewHeight": 84,
                "webformatURL": f"{base}/images/pixabay/web-{i}.jpg",
                "webformatWidth": 640,
                "webformatHeight": 360,
                "largeImageURL": f"{base}/images/pixabay/{i}.jpg",
                "imageWidth": 4000,
                "imageHeight": 2250,
                "imageSize": 4_731_420,
                "views": 7671,
                "downloads": 6439,
                "collections": 1,
                "likes": 5,
                "comments": 2,
                "user_id": 48_777 + i,
                "user": f"Josch{i}",
                "userImageURL": "https://cdn.pixabay.com/user/2013/11/05/02-10-23-764_250x250.jpg",
            }
        )
    return {"total": 4692, "totalHits": 500, "hits": hits}


PIXABAY_INVALID_KEY = "[ERROR 400] Invalid or missing API key (https://pixabay.com/api/docs/)."
PIXABAY_OUT_OF_RANGE = '[ERROR 400] "page" is out of valid range.'


# --- Brave Search --------------------------------------------------------------------------


def brave_payload(base: str, query: str, n: int) -> dict[str, Any]:
    results = []
    for i in range(n):
        host = f"blog{i}.example.com"
        results.append(
            {
                "type": "image_result",
                "title": f"{query.title()} photo {i} - Example Blog",
                "url": f"https://{host}/posts/{_slug(query)}-{i}",
                "source": host,
                "page_fetched": "2025-01-21T08:15:42Z",
                "thumbnail": {
                    "src": f"https://imgs.search.brave.com/thumb-{i}/rs:fit:500:0:0/g:ce/aHR0",
                    "width": 500,
                    "height": 375,
                },
                "properties": {
                    "url": f"{base}/images/brave/{i}.jpg",
                    "placeholder": f"https://imgs.search.brave.com/placeholder-{i}/rs:fit:32",
                    "width": 1600,
                    "height": 1200,
                },
                "meta_url": {
                    "scheme": "https",
                    "netloc": host,
                    "hostname": host,
                    "favicon": f"https://imgs.search.brave.com/favicon-{i}",
                    "path": f"› posts › {_slug(query)}-{i}",
                },
                "confidence": "high" if i % 2 == 0 else "medium",
            }
        )
    return {
        "type": "images",
        "query": {"original": query, "spellcheck_off": True, "show_strict_warning": False},
        "results": results,
        "extra": {"might_be_offensive": False},
    }


@dataclass(frozen=True)
class ProviderFixture:
    payload: Callable[..., dict[str, Any]]  # (base, query, n, page=, offset=) -> its answer
    image_urls: Callable[[dict[str, Any]], list[str]]  # the answer's image URLs, in order
    params: Callable[[str, int, int], dict[str, Any]]  # (query, page, offset) -> query matched


FIXTURES: dict[str, ProviderFixture] = {
    "openverse": ProviderFixture(
        lambda base, q, n, page, offset: openverse_payload(base, q, n, page=page),
        lambda p: [r["url"] for r in p["results"]],
        lambda q, page, offset: {"q": q, "page": page},
    ),
    "wikimedia": ProviderFixture(
        lambda base, q, n, page, offset: wikimedia_payload(base, q, n, offset=offset),
        lambda p: [
            x["imageinfo"][0]["thumburl"]
            for x in sorted(p["query"]["pages"], key=lambda x: x["index"])
        ],
        lambda q, page, offset: {"gsrsearch": f"filetype:bitmap {q}", "gsroffset": offset},
    ),
    "flickr": ProviderFixture(
        lambda base, q, n, page, offset: flickr_payload(base, q, n, page=page),
        lambda p: [x.get("url_l") or x["url_c"] for x in p["photos"]["photo"]],
        lambda q, page, offset: {"method": "flickr.photos.search", "text": q, "page": page},
    ),
    "pexels": ProviderFixture(
        lambda base, q, n, page, offset: pexels_payload(base, q, n, page=page),
        lambda p: [x["src"]["large"] for x in p["photos"]],
        lambda q, page, offset: {"query": q, "page": page},
    ),
    "pixabay": ProviderFixture(
        lambda base, q, n, page, offset: pixabay_payload(base, q, n),
        lambda p: [h["largeImageURL"] for h in p["hits"]],
        lambda q, page, offset: {"q": q, "page": page},
    ),
    "brave": ProviderFixture(
        lambda base, q, n, page, offset: brave_payload(base, q, n),
        lambda p: [r["properties"]["url"] for r in p["results"]],
        lambda q, page, offset: {"q": q},
    ),
}


def register(
    httpserver: HTTPServer,
    provider: str,
    query: str,
    n_results: int = 3,
    image_bytes_factory: ImageFactory | None = None,
    *,
    page: int = 1,
    offset: int = 0,
) -> dict[str, Any]:
    """Serve ``provider``'s real-shaped answer to ``query`` (and, with a factory, its images)."""
    fixture = FIXTURES[provider]
    payload = fixture.payload(image_base(httpserver), query, n_results, page=page, offset=offset)
    return _register(
        httpserver,
        provider,
        fixture.params(query, page, offset),
        payload,
        fixture.image_urls(payload),
        image_bytes_factory,
    )
