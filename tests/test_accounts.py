import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_signs_up_and_logs_in(client):
    response = client.post(
        reverse("signup"),
        {
            "username": "carol",
            "email": "carol@example.com",
            "password1": "a-long-secret-77",
            "password2": "a-long-secret-77",
        },
    )
    assert response.status_code == 302
    assert client.get(reverse("projects:list")).status_code == 200
    assert User.objects.get().username == "carol"


def test_it_refuses_mismatched_passwords_with_a_message(client):
    response = client.post(
        reverse("signup"),
        {"username": "carol", "password1": "a-long-secret-77", "password2": "other-secret-77"},
    )
    assert response.status_code == 200
    assert "password fields didn" in response.content.decode()
    assert not User.objects.exists()


def test_it_logs_in_and_out(client, owner, password):
    response = client.post(reverse("login"), {"username": "alice", "password": password})
    assert response.status_code == 302
    assert client.get(reverse("projects:list")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("projects:list")).status_code == 302


def test_it_shows_an_error_for_a_wrong_password(client, owner):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert "Please enter a correct username and password" in response.content.decode()


def test_it_changes_the_password(owner_client, owner, password):
    response = owner_client.post(
        reverse("password_change"),
        {
            "old_password": password,
            "new_password1": "new-secret-8899",
            "new_password2": "new-secret-8899",
        },
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("new-secret-8899")


def test_it_resets_a_forgotten_password_by_email(client, owner):
    client.post(reverse("password_reset"), {"email": "alice@example.com"})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]
    response = client.post(
        form_url, {"new_password1": "reset-secret-42", "new_password2": "reset-secret-42"}
    )
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("reset-secret-42")
