"""Image search providers: turn a label into candidate image URLs with license metadata.

Django-free: the Django side passes configuration in, e.g. from settings::

    IMAGE_SEARCH_PROVIDERS = {
        "openverse": {"api_key": "", "timeout": 15},
        "pexels": {"api_key": env("PEXELS_API_KEY")},
    }
    provider = get_provider("pexels", config=IMAGE_SEARCH_PROVIDERS.get("pexels", {}))

Per-provider config keys (all optional unless noted): ``base_url``, ``api_key`` (required by
flickr/pexels/pixabay/brave; an Openverse bearer token is optional), ``timeout`` (seconds),
``user_agent`` (Wikimedia asks for contact details in it), ``max_attempts``,
``retry_base_delay``, ``retry_max_delay``, ``retry_after_cap``, ``licenses`` (allowed codes,
used for server-side filtering by Openverse/Flickr), ``enabled`` (False hides a provider).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import requests

from .base import (
    LICENSE_NAMES,
    BaseProvider,
    Candidate,
    ImageSearchProvider,
    ProviderError,
    ProviderNotConfigured,
    RetryPolicy,
    build_attribution,
    filter_licenses,
    normalize_cc_license,
)
from .brave import BraveProvider
from .flickr import FlickrProvider
from .openverse import OpenverseProvider
from .pexels import PexelsProvider
from .pixabay import PixabayProvider
from .wikimedia import WikimediaProvider

PROVIDERS: dict[str, type[BaseProvider]] = {
    "openverse": OpenverseProvider,
    "wikimedia": WikimediaProvider,
    "flickr": FlickrProvider,
    "pexels": PexelsProvider,
    "pixabay": PixabayProvider,
    "brave": BraveProvider,
}


def get_provider(
    name: str,
    *,
    config: Mapping[str, Any],
    session: requests.Session | None = None,
    sleep: Callable[[float], None] | None = None,
) -> ImageSearchProvider:
    """Build provider ``name`` from its own config dict (raises ProviderNotConfigured)."""
    try:
        cls = PROVIDERS[name]
    except KeyError:
        raise ProviderError(f"unknown image search provider: {name}") from None
    if sleep is None:
        return cls(config, session=session)
    return cls(config, session=session, sleep=sleep)


def available_providers(config: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(name, label) of providers usable with ``config`` ({name: provider config}).

    Keyless providers are available unless disabled with ``{"enabled": False}``; the others
    need a non-empty ``api_key``.
    """
    usable = []
    for name, cls in PROVIDERS.items():
        provider_config = config.get(name) or {}
        if not provider_config.get("enabled", True):
            continue
        if cls.requires_key and not str(provider_config.get("api_key") or "").strip():
            continue
        usable.append((name, cls.label))
    return usable


__all__ = [
    "LICENSE_NAMES",
    "PROVIDERS",
    "BaseProvider",
    "Candidate",
    "ImageSearchProvider",
    "ProviderError",
    "ProviderNotConfigured",
    "RetryPolicy",
    "available_providers",
    "build_attribution",
    "filter_licenses",
    "get_provider",
    "normalize_cc_license",
]
