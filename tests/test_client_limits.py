"""Limits per client: one client-IP rule (X-Forwarded-For believed only from trusted proxies),
login lockouts, sign-ups per address, wrong API tokens, and a cache outage that fails open."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from inference import services
from inference.models import PersonalToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def anon_rate(settings):
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {"token": "100/min", "user": "100/min", "anon": "3/min"}
    settings.REST_FRAMEWORK = rest


def test_it_ignores_a_forged_forwarded_for_without_trusted_proxies(
    client, anon_rate, public_project
):
    url = f"/api/v1/projects/{public_project.pk}/"
    codes = [client.get(url, HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]


def test_it_counts_the_address_the_trusted_proxy_saw(client, anon_rate, settings, public_project):
    settings.AIMAKER_TRUSTED_PROXIES = 1
    url = f"/api/v1/projects/{public_project.pk}/"
    # The client may prepend anything; the proxy's own entry (rightmost) is the one counted.
    codes = [
        client.get(url, HTTP_X_FORWARDED_FOR=f"6.6.6.{i}, 1.2.3.4").status_code for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    assert client.get(url, HTTP_X_FORWARDED_FOR="5.6.7.8").status_code == 200


def test_it_locks_an_account_after_repeated_wrong_passwords(client, owner, password, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for _ in range(5):
        client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "alice", "password": password})
    assert response.status_code == 429
    assert "Too many wrong passwords" in response.content.decode()
    assert client.get(reverse("projects:list")).status_code == 302  # still not logged in
    # Another address trying that account is locked out as well (by account, not just IP).
    elsewhere = Client(REMOTE_ADDR="192.0.2.7")
    response = elsewhere.post(reverse("login"), {"username": "alice", "password": password})
    assert response.status_code == 429


def test_it_lets_a_right_password_in_before_the_limit(client, owner, password):
    for _ in range(3):
        client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "alice", "password": password})
    assert response.status_code == 302


def test_it_limits_sign_ups_per_address(client, settings):
    settings.AIMAKER_SIGNUPS_PER_IP_PER_HOUR = 2

    def sign_up(name):
        return Client().post(
            reverse("signup"),
            {"username": name, "password1": "a-long-secret-77", "password2": "a-long-secret-77"},
        )

    assert [sign_up(n).status_code for n in ("u1", "u2", "u3")] == [302, 302, 429]
    assert "Too many new accounts" in sign_up("u4").content.decode()
    assert sorted(User.objects.values_list("username", flat=True)) == ["u1", "u2"]


def test_it_stops_looking_up_tokens_after_many_wrong_ones(
    owner, settings, django_assert_num_queries
):
    settings.AIMAKER_API_BAD_TOKENS_PER_MINUTE = 3
    _token, secret = services.token_create(user=owner, name="real")
    codes = [
        Client(HTTP_AUTHORIZATION=f"Bearer aim_guess{i}").get("/api/v1/projects/").status_code
        for i in range(3)
    ]
    assert codes == [401, 401, 401]
    with django_assert_num_queries(0):
        response = Client(HTTP_AUTHORIZATION="Bearer aim_guess9").get("/api/v1/projects/")
    assert response.status_code == 429
    assert "Too many invalid tokens" in response.json()["detail"]
    assert PersonalToken.objects.count() == 1


def test_it_serves_the_api_when_the_cache_is_down(client, owner, settings, public_project):
    caches = dict(settings.CACHES)
    caches["default"] = {**caches["default"], "LOCATION": "redis://127.0.0.1:1/0"}
    settings.CACHES = caches  # nothing listens on port 1: every cache call fails
    assert client.get(f"/api/v1/projects/{public_project.pk}/").status_code == 200
    bad = Client(HTTP_AUTHORIZATION="Bearer aim_nope").get("/api/v1/projects/")
    assert bad.status_code == 401
