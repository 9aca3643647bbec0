"""Image search providers against a local pytest-httpserver playing each API (no network)."""

from __future__ import annotations

import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from datasets.providers import (
    PROVIDERS,
    Candidate,
    ProviderError,
    ProviderNotConfigured,
    available_providers,
    filter_licenses,
    get_provider,
    normalize_cc_license,
)
from tests.datasets.provider_fixtures import (
    FIXTURES,
    FLICKR_INVALID_KEY,
    PIXABAY_INVALID_KEY,
    PIXABAY_OUT_OF_RANGE,
    TEST_API_KEY,
    QueryParams,
    image_base,
    openverse_payload,
    provider_config,
    register,
)


class SleepRecorder:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def requests_to(httpserver: HTTPServer, path: str) -> list[Request]:
    return [request for request, _response in httpserver.log if request.path == path]


# --- parsing real-shaped responses ---------------------------------------------------------


def test_it_parses_openverse_results_with_provider_attribution(httpserver: HTTPServer) -> None:
    payload = register(httpserver, "openverse", "red fox", 5)
    provider = get_provider("openverse", config=provider_config(httpserver, "openverse"))

    candidates = provider.search("red fox", page=1, page_size=50)

    assert [c.license for c in candidates] == ["by", "by-sa", "cc0", "by-nc", "pdm"]
    first, raw = candidates[0], payload["results"][0]
    assert first == Candidate(
        url=f"{image_base(httpserver)}/images/openverse/0.jpg",
        landing_url=raw["foreign_landing_url"],
        title="Red Fox 0",
        creator="Photographer 0",
        license="by",
        license_url="https://creativecommons.org/licenses/by/2.0/",
        attribution=raw["attribution"],
        provider="openverse",
        provider_id=raw["id"],
    )
    assert "is licensed under CC BY 2.0" in first.attribution
    (request,) = requests_to(httpserver, "/v1/images/")
    # Anonymous Openverse clients may not ask for more than 20 per page.
    assert request.args["page_size"] == "20"
    assert request.args["mature"] == "false"
    assert "Authorization" not in request.headers
    assert request.headers["User-Agent"].startswith("AIMaker/")


def test_it_sends_the_openverse_token_as_bearer_and_filters_licenses_server_side(
    httpserver: HTTPServer,
) -> None:
    register(httpserver, "openverse", "owl", 2)
    config = provider_config(
        httpserver, "openverse", api_key="tok-abc", licenses=["cc0", "BY", "pexels"]
    )

    get_provider("openverse", config=config).search("owl", page=1, page_size=50)

    (request,) = requests_to(httpserver, "/v1/images/")
    assert request.headers["Authorization"] == "Bearer tok-abc"
    assert request.args["page_size"] == "50"
    assert request.args["license"] == "by,cc0"


def test_it_skips_openverse_when_no_allowed_license_is_an_openverse_one(
    httpserver: HTTPServer,
) -> None:
    config = provider_config(httpserver, "openverse", licenses=["pexels"])
    assert get_provider("openverse", config=config).search("x", page=1, page_size=5) == []
    assert httpserver.log == []


def test_it_parses_wikimedia_pages_in_rank_order_with_built_attribution(
    httpserver: HTTPServer,
) -> None:
    register(httpserver, "wikimedia", "red fox", 5, offset=0)
    config = provider_config(
        httpserver, "wikimedia", user_agent="AIMaker/1.0 (https://ai.example.org; ops@example.org)"
    )

    candidates = get_provider("wikimedia", config=config).search("red fox", page=1, page_size=5)

    base = image_base(httpserver)
    assert [c.url for c in candidates] == [f"{base}/images/wikimedia/{i}.jpg" for i in range(5)]
    assert [c.license for c in candidates] == ["by-sa", "cc0", "pdm", "by", "unknown"]
    first = candidates[0]
    assert first.title == "Red Fox 0"
    assert first.creator == "Fox Fan 0 & friends"  # HTML stripped and unescaped
    assert first.landing_url == "https://commons.wikimedia.org/wiki/File:Red_Fox_0_(Commons).jpg"
    assert first.provider_id == "9100000"
    assert first.attribution == (
        "“Red Fox 0” by Fox Fan 0 & friends via Wikimedia Commons, licensed under CC BY-SA 4.0 "
        "(https://creativecommons.org/licenses/by-sa/4.0)"
    )
    (request,) = requests_to(httpserver, "/w/api.php")
    assert request.headers["User-Agent"] == config["user_agent"]
    assert request.args["generator"] == "search"
    assert request.args["gsrnamespace"] == "6"
    assert request.args["prop"] == "imageinfo"
    assert set(request.args["iiprop"].split("|")) >= {"url", "extmetadata", "size", "mime"}


def test_it_pages_wikimedia_with_gsroffset(httpserver: HTTPServer) -> None:
    register(httpserver, "wikimedia", "owl", 2, offset=20)
    provider = get_provider("wikimedia", config=provider_config(httpserver, "wikimedia"))

    assert len(provider.search("owl", page=3, page_size=10)) == 2

    (request,) = requests_to(httpserver, "/w/api.php")
    assert (request.args["gsrlimit"], request.args["gsroffset"]) == ("10", "20")


def test_it_reports_wikimedia_api_errors(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/w/api.php").respond_with_json(
        {"error": {"code": "badvalue", "info": 'Unrecognized value for parameter "prop".'}}
    )
    provider = get_provider("wikimedia", config=provider_config(httpserver, "wikimedia"))
    with pytest.raises(ProviderError, match="badvalue"):
        provider.search("owl", page=1, page_size=5)


def test_it_parses_flickr_photos_and_maps_license_ids(httpserver: HTTPServer) -> None:
    payload = register(httpserver, "flickr", "red fox", 6)
    provider = get_provider("flickr", config=provider_config(httpserver, "flickr"))

    candidates = provider.search("red fox", page=1, page_size=6)

    assert [c.license for c in candidates] == [
        "by", "by-sa", "cc0", "all-rights-reserved", "by-nc", "pdm"
    ]  # fmt: skip
    raw = payload["photos"]["photo"][0]
    first = candidates[0]
    assert first.url == raw["url_l"]
    assert candidates[2].url == payload["photos"]["photo"][2]["url_c"]  # fallback size
    assert first.landing_url == f"https://www.flickr.com/photos/{raw['owner']}/{raw['id']}"
    assert first.creator == "Kristoffer 0"
    assert first.license_url == "https://creativecommons.org/licenses/by/2.0/"
    assert first.attribution == (
        "“red fox at dusk #0” by Kristoffer 0 via Flickr, licensed under CC BY 2.0 "
        "(https://creativecommons.org/licenses/by/2.0/)"
    )
    (request,) = requests_to(httpserver, "/services/rest/")
    assert request.args["api_key"] == TEST_API_KEY  # documented: key as a query parameter
    assert request.args["format"] == "json" and request.args["nojsoncallback"] == "1"
    assert "url_l" in request.args["extras"] and "license" in request.args["extras"]


def test_it_asks_flickr_only_for_allowed_license_ids(httpserver: HTTPServer) -> None:
    register(httpserver, "flickr", "owl", 1)
    config = provider_config(httpserver, "flickr", licenses={"by", "cc0", "pdm"})
    get_provider("flickr", config=config).search("owl", page=1, page_size=10)
    (request,) = requests_to(httpserver, "/services/rest/")
    assert request.args["license"] == "4,9,10"


def test_it_reports_a_rejected_flickr_key_from_a_200_body_without_retrying(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/services/rest/").respond_with_json(FLICKR_INVALID_KEY)
    provider = get_provider("flickr", config=provider_config(httpserver, "flickr"))
    with pytest.raises(ProviderError, match="API key rejected"):
        provider.search("owl", page=1, page_size=10)
    assert len(httpserver.log) == 1


def test_it_parses_pexels_photos_and_sends_the_key_in_authorization(
    httpserver: HTTPServer,
) -> None:
    payload = register(httpserver, "pexels", "red fox", 3)
    provider = get_provider("pexels", config=provider_config(httpserver, "pexels"))

    candidates = provider.search("red fox", page=1, page_size=200)

    raw = payload["photos"][1]
    second = candidates[1]
    assert second.url == raw["src"]["large"]
    assert second.landing_url == raw["url"]
    assert second.creator == "Joey Farina 1"
    assert second.title == "Red Fox during golden hour 1"
    assert (second.license, second.license_url) == ("pexels", "https://www.pexels.com/license/")
    assert second.attribution.startswith("Photo by Joey Farina 1 on Pexels")
    assert second.provider_id == str(raw["id"])
    (request,) = requests_to(httpserver, "/v1/search")
    assert request.headers["Authorization"] == TEST_API_KEY  # raw key, no "Bearer"
    assert request.args["per_page"] == "80"  # documented maximum


def test_it_parses_pixabay_hits_and_sends_the_key_as_query_param(httpserver: HTTPServer) -> None:
    payload = register(httpserver, "pixabay", "red fox", 4)
    provider = get_provider("pixabay", config=provider_config(httpserver, "pixabay"))

    candidates = provider.search("red fox", page=1, page_size=4)

    raw = payload["hits"][0]
    assert [c.url for c in candidates] == [h["largeImageURL"] for h in payload["hits"]]
    assert candidates[0].landing_url == raw["pageURL"]
    assert candidates[0].creator == "Josch0"
    assert candidates[0].license == "pixabay"
    assert "Pixabay Content License" in candidates[0].attribution
    (request,) = requests_to(httpserver, "/api/")
    assert request.args["key"] == TEST_API_KEY
    assert request.args["image_type"] == "photo"


def test_it_treats_a_pixabay_page_past_the_end_as_empty(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/").respond_with_data(PIXABAY_OUT_OF_RANGE, status=400)
    provider = get_provider("pixabay", config=provider_config(httpserver, "pixabay"))
    assert provider.search("owl", page=99, page_size=20) == []


def test_it_reports_a_rejected_pixabay_key(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/").respond_with_data(PIXABAY_INVALID_KEY, status=400)
    provider = get_provider("pixabay", config=provider_config(httpserver, "pixabay"))
    with pytest.raises(ProviderError, match="API key rejected"):
        provider.search("owl", page=1, page_size=20)


def test_it_parses_brave_results_as_unknown_license(httpserver: HTTPServer) -> None:
    payload = register(httpserver, "brave", "red fox", 5)
    provider = get_provider("brave", config=provider_config(httpserver, "brave"))

    candidates = provider.search("red fox", page=1, page_size=5)

    raw = payload["results"][0]
    first = candidates[0]
    assert first.url == raw["properties"]["url"]
    assert first.landing_url == raw["url"]
    assert first.creator == raw["source"]
    assert (first.license, first.license_url) == ("unknown", "")
    assert "license unknown" in first.attribution and raw["url"] in first.attribution
    assert len(first.provider_id) == 40
    assert len({c.provider_id for c in candidates}) == 5
    (request,) = requests_to(httpserver, "/res/v1/images/search")
    assert request.headers["X-Subscription-Token"] == TEST_API_KEY
    assert request.args["count"] == "5"


def test_it_pages_brave_by_slicing_a_larger_count(httpserver: HTTPServer) -> None:
    register(httpserver, "brave", "owl", 10)
    provider = get_provider("brave", config=provider_config(httpserver, "brave"))

    second_page = provider.search("owl", page=2, page_size=4)

    assert [c.url.rsplit("/", 1)[1] for c in second_page] == ["4.jpg", "5.jpg", "6.jpg", "7.jpg"]
    (request,) = requests_to(httpserver, "/res/v1/images/search")
    assert request.args["count"] == "8"


# --- keys and configuration ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["flickr", "pexels", "pixabay", "brave"])
@pytest.mark.parametrize("key", [None, "", "   "])
def test_it_refuses_key_required_providers_without_a_key(name: str, key: str | None) -> None:
    config = {} if key is None else {"api_key": key}
    with pytest.raises(ProviderNotConfigured, match="API key"):
        get_provider(name, config=config)


@pytest.mark.parametrize("name", ["openverse", "wikimedia"])
def test_it_builds_keyless_providers_with_public_defaults(name: str) -> None:
    provider = get_provider(name, config={})
    assert provider.requires_key is False
    assert provider.base_url.startswith("https://")  # type: ignore[attr-defined]


def test_it_lists_available_providers_for_a_config() -> None:
    config = {
        "pexels": {"api_key": "k"},
        "pixabay": {"api_key": ""},
        "wikimedia": {"enabled": False},
    }
    assert available_providers(config) == [("openverse", "Openverse"), ("pexels", "Pexels")]
    assert [name for name, _ in available_providers({})] == ["openverse", "wikimedia"]
    assert set(PROVIDERS) == {"openverse", "wikimedia", "flickr", "pexels", "pixabay", "brave"}


def test_it_rejects_an_unknown_provider_name() -> None:
    with pytest.raises(ProviderError, match="unknown image search provider"):
        get_provider("gopher", config={})


# --- licenses -----------------------------------------------------------------------------


def _candidate(license_code: str) -> Candidate:
    return Candidate(
        url=f"https://img.example/{license_code}.jpg",
        landing_url="",
        title="",
        creator="",
        license=license_code,
        license_url="",
        attribution="",
        provider="test",
        provider_id=license_code,
    )


def test_it_filters_candidates_by_the_operators_allowed_licenses() -> None:
    candidates = [_candidate(c) for c in ["cc0", "by", "by-nc", "unknown", "pexels", "pdm"]]
    kept = filter_licenses(candidates, {"CC0", "by", "pdm", "pexels"})
    assert [c.license for c in kept] == ["cc0", "by", "pexels", "pdm"]
    assert filter_licenses(candidates, set()) == []


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("CC BY-SA 4.0", "by-sa"),
        ("cc-by-sa-4.0", "by-sa"),
        ("cc-by-nc-nd-3.0-de", "by-nc-nd"),
        ("by", "by"),
        ("CC BY 2.0", "by"),
        ("cc0", "cc0"),
        ("CC0 1.0", "cc0"),
        ("pd", "pdm"),
        ("Public domain", "pdm"),
        ("pdm", "pdm"),
        ("GFDL", "unknown"),
        ("bylaw", "unknown"),
        ("", "unknown"),
        ("sampling+", "unknown"),
    ],
)
def test_it_normalizes_license_names(raw: str, code: str) -> None:
    assert normalize_cc_license(raw) == code


# --- retries ------------------------------------------------------------------------------


def _openverse(httpserver: HTTPServer, sleep: SleepRecorder, **extra: object):
    config = provider_config(httpserver, "openverse", **extra)
    return get_provider("openverse", config=config, sleep=sleep)


def test_it_retries_after_429_and_then_succeeds(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/v1/images/").respond_with_data("slow down", status=429)
    httpserver.expect_ordered_request("/v1/images/").respond_with_json(
        openverse_payload(image_base(httpserver), "owl", 2)
    )
    sleep = SleepRecorder()

    candidates = _openverse(httpserver, sleep).search("owl", page=1, page_size=2)

    assert len(candidates) == 2
    assert len(httpserver.log) == 2
    assert len(sleep.delays) == 1 and 0 <= sleep.delays[0] <= 0.01


def test_it_gives_up_on_a_provider_that_keeps_failing(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/images/").respond_with_data("down", status=503)
    sleep = SleepRecorder()

    with pytest.raises(ProviderError) as excinfo:
        _openverse(httpserver, sleep).search("owl", page=1, page_size=2)

    assert str(excinfo.value) == "Openverse kept failing: HTTP 503 after 4 attempts"
    assert len(httpserver.log) == 4
    assert len(sleep.delays) == 3  # no pointless sleep after the last attempt


def test_it_uses_exponential_backoff_with_full_jitter(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/v1/images/").respond_with_data("down", status=502)
    ceilings: list[float] = []
    monkeypatch.setattr(
        "datasets.providers.base.random.uniform", lambda low, high: ceilings.append(high) or high
    )
    sleep = SleepRecorder()
    provider = _openverse(
        httpserver, sleep, max_attempts=5, retry_base_delay=0.1, retry_max_delay=0.5
    )

    with pytest.raises(ProviderError, match="HTTP 502 after 5 attempts"):
        provider.search("owl", page=1, page_size=2)

    assert ceilings == [0.1, 0.2, 0.4, 0.5]  # base * 2**n, capped
    assert sleep.delays == ceilings


def test_it_honours_retry_after_but_caps_it(httpserver: HTTPServer) -> None:
    payload = openverse_payload(image_base(httpserver), "owl", 1)
    httpserver.expect_ordered_request("/v1/images/").respond_with_data(
        "", status=429, headers={"Retry-After": "120"}
    )
    httpserver.expect_ordered_request("/v1/images/").respond_with_data(
        "", status=503, headers={"Retry-After": "0"}
    )
    httpserver.expect_ordered_request("/v1/images/").respond_with_json(payload)
    sleep = SleepRecorder()

    _openverse(httpserver, sleep, retry_after_cap=0.05).search("owl", page=1, page_size=1)

    assert sleep.delays == [0.05, 0.0]


def test_it_really_waits_between_attempts(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/v1/images/").respond_with_data(
        "", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_ordered_request("/v1/images/").respond_with_json(
        openverse_payload(image_base(httpserver), "owl", 1)
    )
    config = provider_config(httpserver, "openverse", retry_after_cap=0.2)
    provider = get_provider("openverse", config=config)  # real time.sleep

    started = time.monotonic()
    provider.search("owl", page=1, page_size=1)

    assert 0.2 <= time.monotonic() - started < 2


@pytest.mark.parametrize("status", [401, 403])
def test_it_does_not_retry_a_rejected_key(httpserver: HTTPServer, status: int) -> None:
    httpserver.expect_request("/v1/search").respond_with_json({"error": "nope"}, status=status)
    sleep = SleepRecorder()
    provider = get_provider("pexels", config=provider_config(httpserver, "pexels"), sleep=sleep)

    with pytest.raises(ProviderError, match=f"Pexels: API key rejected \\(HTTP {status}\\)"):
        provider.search("owl", page=1, page_size=5)

    assert len(httpserver.log) == 1 and sleep.delays == []


def test_it_does_not_retry_other_client_errors(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/images/").respond_with_json(
        {"detail": "Invalid page_size"}, status=400
    )
    sleep = SleepRecorder()
    with pytest.raises(ProviderError, match="Openverse rejected the request: HTTP 400"):
        _openverse(httpserver, sleep).search("owl", page=1, page_size=2)
    assert len(httpserver.log) == 1


def test_it_retries_timeouts(httpserver: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(0.3)
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/v1/images/").respond_with_handler(slow)
    sleep = SleepRecorder()
    provider = _openverse(httpserver, sleep, timeout=0.1, max_attempts=2)

    with pytest.raises(ProviderError, match="Openverse kept failing: timed out after 2 attempts"):
        provider.search("owl", page=1, page_size=2)


def test_it_retries_connection_errors_without_leaking_the_key() -> None:
    sleep = SleepRecorder()
    provider = get_provider(
        "pixabay",
        config={
            "base_url": "http://127.0.0.1:9/api/",  # discard port: connection refused
            "api_key": "secret-key-xyz",
            "max_attempts": 3,
            "retry_base_delay": 0.001,
        },
        sleep=sleep,
    )
    with pytest.raises(ProviderError, match="Pixabay kept failing: connection error") as excinfo:
        provider.search("owl", page=1, page_size=5)
    assert "secret-key-xyz" not in str(excinfo.value)
    assert len(sleep.delays) == 2


def test_it_reports_non_json_answers(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/images/").respond_with_data("<html>captive portal</html>")
    with pytest.raises(ProviderError, match="not JSON"):
        _openverse(httpserver, SleepRecorder()).search("owl", page=1, page_size=2)


def test_it_matches_registered_queries_only(httpserver: HTTPServer) -> None:
    # The fixture helpers match on the query, so several labels can be served at once.
    for name in FIXTURES:
        assert name in PROVIDERS
    register(httpserver, "openverse", "cat", 1)
    register(httpserver, "openverse", "dog", 2)
    provider = get_provider("openverse", config=provider_config(httpserver, "openverse"))
    assert len(provider.search("dog", page=1, page_size=5)) == 2
    assert len(provider.search("cat", page=1, page_size=5)) == 1
    assert QueryParams(q="dog").match(b"q=dog&page=1")


def test_it_drops_provenance_links_that_are_not_web_pages(httpserver: HTTPServer) -> None:
    payload = openverse_payload(image_base(httpserver), "owl", 2)
    payload["results"][0]["foreign_landing_url"] = "javascript:alert(document.cookie)"
    payload["results"][0]["license_url"] = "data:text/html,<script>alert(1)</script>"
    payload["results"][1]["foreign_landing_url"] = " JavaScript:alert(1)"
    httpserver.expect_request("/v1/images/").respond_with_json(payload)
    provider = get_provider("openverse", config=provider_config(httpserver, "openverse"))

    first, second = provider.search("owl", page=1, page_size=2)

    assert (first.landing_url, first.license_url, second.landing_url) == ("", "", "")
    assert second.license_url.startswith("https://creativecommons.org/")
