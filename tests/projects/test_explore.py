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
