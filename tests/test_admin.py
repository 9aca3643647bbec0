import pytest
from django.contrib.auth.models import User
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    staff = django_user_model.objects.create_superuser("mod", "mod@example.com", "pw-12345-x")
    client.force_login(staff)
    return client


def test_it_hides_a_project_and_the_owner_sees_the_notice(staff_client, public_project, other):
    response = staff_client.post(
        reverse("admin:projects_project_changelist"),
        {"action": "hide_from_public", "_selected_action": [public_project.pk]},
    )
    assert response.status_code == 302
    public_project.refresh_from_db()
    assert public_project.hidden
    from django.test import Client

    visitor = Client()
    assert visitor.get(reverse("projects:detail", args=[public_project.pk])).status_code == 404
    assert "Birds" not in visitor.get(reverse("explore")).content.decode()
    owner = Client()
    owner.force_login(public_project.owner)
    body = owner.get(reverse("projects:detail", args=[public_project.pk])).content.decode()
    assert "A moderator hid this project from the public." in body


def test_it_deactivates_a_user(staff_client, other):
    staff_client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "deactivate", "_selected_action": [other.pk]},
    )
    assert not User.objects.get(pk=other.pk).is_active


def test_it_searches_and_filters_projects(staff_client, project, public_project):
    url = reverse("admin:projects_project_changelist")
    body = staff_client.get(url, {"q": "Birds"}).content.decode()
    assert "Birds" in body and "Cats or dogs" not in body
    body = staff_client.get(url, {"visibility__exact": "private"}).content.decode()
    assert "Cats or dogs" in body and ">Birds<" not in body


def test_staff_see_the_queue_dashboard_and_others_do_not(staff_client, owner):
    from django.test import Client

    assert "training" in staff_client.get(reverse("django_rq:home")).content.decode()
    user = Client()
    user.force_login(owner)
    response = user.get(reverse("django_rq:home"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_it_closes_open_pages_when_hidden_from_the_change_form(
    staff_client, public_project, monkeypatch, django_capture_on_commit_callbacks
):
    from projects import services

    closed = []
    monkeypatch.setattr(services, "notify_access_changed", closed.append)
    url = reverse("admin:projects_project_change", args=[public_project.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            url,
            {
                "name": "Birds", "description": "", "owner": public_project.owner_id,
                "visibility": "public", "hidden": "on", "moderation_note": "",
                "labels-TOTAL_FORMS": "0", "labels-INITIAL_FORMS": "0",
                "labels-MIN_NUM_FORMS": "0", "labels-MAX_NUM_FORMS": "1000",
            },
        )  # fmt: skip
    assert response.status_code == 302, response.content[:2000]
    public_project.refresh_from_db()
    assert public_project.hidden and public_project.moderation_note
    assert closed == [public_project.pk]


def test_it_spells_default_switches_right(staff_client):
    body = staff_client.get(reverse("admin:index")).content.decode()
    assert "Default switches" in body and "switchs" not in body
