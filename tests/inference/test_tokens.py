"""The API tokens settings page: create (shown once, hash stored), list, revoke."""

import hashlib

import pytest
from django.urls import reverse

from inference.models import PersonalToken

pytestmark = pytest.mark.django_db


def test_it_creates_a_token_shown_once_and_stores_only_a_hash(owner_client, owner):
    response = owner_client.post(reverse("tokens:list"), {"name": "my script"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    token = PersonalToken.objects.get(user=owner)
    secret = response.context["secret"]
    assert secret.encode() in response.content
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in token.prefix + token.name + token.token_hash
    again = owner_client.get(reverse("tokens:list"))
    assert secret.encode() not in again.content and b"my script" in again.content


def test_it_requires_a_name(owner_client):
    assert owner_client.post(reverse("tokens:list"), {"name": ""}).status_code == 400


def test_it_revokes_own_tokens_only(owner_client, other_client, owner):
    owner_client.post(reverse("tokens:list"), {"name": "x"})
    token = PersonalToken.objects.get(user=owner)
    url = reverse("tokens:revoke", args=[token.pk])
    assert other_client.post(url).status_code == 404
    assert owner_client.post(url).status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_it_needs_a_login(client):
    response = client.get(reverse("tokens:list"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_user_menu_links_to_it(owner_client):
    assert b'href="/settings/tokens/"' in owner_client.get(reverse("projects:list")).content
