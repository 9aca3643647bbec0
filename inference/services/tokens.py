"""Personal API tokens: only a hash is stored; the secret is shown once."""

from __future__ import annotations

import hashlib
import logging
import secrets

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone

from inference.models import (
    PersonalToken,
)

log = logging.getLogger(__name__)


TOKEN_PREFIX = "aim_"


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(*, user: User, name: str) -> tuple[PersonalToken, str]:
    """A new token; the secret is returned once and only its hash is stored."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("Give the token a name, e.g. the script that will use it.")
    if user.api_tokens.filter(revoked_at__isnull=True).count() >= settings.AIMAKER_MAX_API_TOKENS:
        raise ValidationError("You have too many tokens: revoke one you no longer use first.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = PersonalToken.objects.create(
        user=user, name=name[:100], prefix=secret[:12], token_hash=_token_hash(secret)
    )
    return token, secret


def token_revoke(*, token: PersonalToken) -> PersonalToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_authenticate(*, secret: str) -> PersonalToken | None:
    token = (
        PersonalToken.objects.select_related("user")
        .filter(token_hash=_token_hash(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        # At most one write a minute per token: the hot path stays read-only.
        PersonalToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
