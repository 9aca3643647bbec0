import re

import pytest
from django.urls import reverse

from projects.models import Project

pytestmark = pytest.mark.django_db


def test_it_lists_public_projects_newest_first_paginated(client, owner):
    for i in range(30):
        Project.objects.create(owner=owner, name=f"Public {i:02d}", visibility="public")
    Project.objects.create(owner=owner, name="Private one")
    Project.objects.create(owner=owner, name="Hidden one", visibility="public", hidden=True)
    body = client.get(reverse("explore")).content.decode()
    assert "Public 29" in body and "Public 06" in body and "Public 05" not in body
    assert body.index("Public 29") < body.index("Public 28")
    assert "Private one" not in body and "Hidden one" not in body
    page2 = client.get(reverse("explore") + "?page=2").content.decode()
    assert "Public 05" in page2 and "Page 2 of 2" in page2


def test_it_hides_a_deactivated_users_public_projects(client, owner, other):
    Project.objects.create(owner=owner, name="Still here", visibility="public")
    gone = Project.objects.create(owner=other, name="Gone with its owner", visibility="public")
    other.is_active = False
    other.save()
    body = client.get(reverse("explore")).content.decode()
    assert "Still here" in body and "Gone with its owner" not in body
    assert client.get(reverse("projects:detail", args=[gone.pk])).status_code == 404
    assert client.get(f"/api/v1/projects/{gone.pk}/").status_code == 401  # as if private


def test_it_pages_by_the_explore_page_size_setting(client, owner, settings):
    settings.AIMAKER_EXPLORE_PAGE_SIZE = 5
    for i in range(6):
        Project.objects.create(owner=owner, name=f"Public {i:02d}", visibility="public")
    body = client.get(reverse("explore")).content.decode()
    assert "Public 01" in body and "Public 00" not in body and "Page 1 of 2" in body


def test_it_never_loads_whole_descriptions_for_the_cards(client, owner):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    Project.objects.create(owner=owner, name="Wordy", visibility="public", description="w" * 2000)
    with CaptureQueriesContext(connection) as queries:
        body = client.get(reverse("explore")).content.decode()
    assert "Wordy" in body and "w" * 130 in body and "w" * 200 not in body
    listing = [q["sql"] for q in queries if 'FROM "projects_project"' in q["sql"]]
    whole = re.compile(r'(?<!SUBSTR\()(?<!SUBSTRING\()"projects_project"\."description"')
    assert listing and not any(whole.search(sql.split(" FROM ")[0]) for sql in listing), listing
