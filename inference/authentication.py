"""API authentication (personal tokens) and throttling; kept apart from the views so that DRF
can import these classes from its settings without a circular import."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
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
    """Per token (scope "token"), per signed-in user ("user") or per IP ("anon"), with the
    app's fixed-window counter: DRF's SimpleRateThrottle reads and rewrites a list of every
    request's time in the window (3,000 floats at 3000/min) on every request."""

    def allow_request(self, request: Request, view: Any) -> bool:
        if isinstance(request.auth, PersonalToken):
            scope, ident = "token", f"t{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            scope, ident = "user", f"u{request.user.pk}"
        else:
            scope, ident = "anon", client_ip(request)
        # Read the rates now (not at import) so settings changes apply.
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
        if rate is None:
            return True
        limit, self.window = self.parse_rate(rate)
        return rate_limit_hit(key=f"api:{scope}:{ident}", limit=limit, window=self.window)

    def wait(self) -> float:
        return self.window - time.time() % self.window  # until the window ends

    def get_rate(self) -> str | None:
        return None  # set per request in allow_request
