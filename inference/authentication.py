"""API authentication (personal tokens) and throttling; kept apart from the views so that DRF
can import these classes from its settings without a circular import."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from redis.exceptions import RedisError
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from aimaker.ratelimit import client_ip, rate_limit_hit, rate_limit_reached
from inference import services
from inference.models import PersonalToken


class PersonalTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>` (or `Token <token>`) with a personal API token."""

    keywords = (b"bearer", b"token")

    def authenticate(self, request: Request) -> tuple[Any, PersonalToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in self.keywords:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Invalid Authorization header: use “Bearer <token>”.")
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("Invalid token.") from None
        # Wrong tokens are counted per client and refused before the lookup once too many:
        # guessing costs the guesser, not the database.
        failures = f"bad-token:{client_ip(request)}"
        limit = settings.AIMAKER_API_BAD_TOKENS_PER_MINUTE
        if rate_limit_reached(key=failures, limit=limit, window=60):
            raise Throttled(detail="Too many invalid tokens from your address. Wait a minute.")
        token = services.token_authenticate(secret=secret)
        if token is None:
            rate_limit_hit(key=failures, limit=limit, window=60)
            raise AuthenticationFailed("Invalid or revoked token.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "inference.authentication.PersonalTokenAuthentication"
    name = "personalToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "description": "A personal API token."}


class ApiRateThrottle(SimpleRateThrottle):
    """Per token (scope "token"), per signed-in user ("user") or per IP ("anon")."""

    def allow_request(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, PersonalToken):
            self.scope, self.ident = "token", f"t{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            self.scope, self.ident = "user", f"u{request.user.pk}"
        else:
            self.scope, self.ident = "anon", client_ip(request)
        # Read the rates now (not at import) so settings changes apply.
        self.rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except RedisError:
            # The cache (Redis) is down: serve the request rather than fail it (fail open).
            return True

    def get_rate(self) -> str | None:
        return None  # set per request in allow_request

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.ident}
