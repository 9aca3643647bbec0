"""Gallery: thumbnails per label, keyset pagination that stays fast at 10k images, filters."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from datasets.models import Image
from tests.datasets.imgutil import add_images

pytestmark = pytest.mark.django_db


def _url(project, **params):
    from urllib.parse import urlencode

    return reverse("datasets:gallery", args=[project.pk]) + (
        "?" + urlencode(params) if params else ""
    )


def test_it_shows_thumbnails_counts_and_the_balance_chart(owner_client, project):
    cat, dog = project.labels.all()
    add_images(project, cat, 3)
    response = owner_client.get(_url(project, label=cat.pk))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="position-relative thumb"') == 3
    assert 'id="balance-data"' in html and "balance-chart" in html
    assert "needs 7 more" in html  # both labels are under AIMAKER_MIN_IMAGES_PER_LABEL (10)
    assert 'id="select-all"' in html
    empty = owner_client.get(_url(project, label=dog.pk)).content.decode()
    assert "No images here yet" in empty


def test_it_pages_with_keysets(owner_client, project, settings):
    settings.AIMAKER_GALLERY_PAGE_SIZE = 2
    cat = project.labels.get(name="cat")
    images = add_images(project, cat, 5)  # ids ascending; the gallery shows newest first
    ids = [i.pk for i in reversed(images)]
    page1 = owner_client.get(_url(project, label=cat.pk))
    assert [i.pk for i in page1.context["images"]] == ids[:2]
    assert page1.context["newer_url"] == ""
    base = reverse("datasets:gallery", args=[project.pk])
    page2 = owner_client.get(base + page1.context["older_url"])
    assert [i.pk for i in page2.context["images"]] == ids[2:4]
    page3 = owner_client.get(base + page2.context["older_url"])
    assert [i.pk for i in page3.context["images"]] == ids[4:]
    assert page3.context["older_url"] == ""
    back = owner_client.get(base + page3.context["newer_url"])
    assert [i.pk for i in back.context["images"]] == ids[2:4]


def test_it_filters_by_ids_and_near_duplicates(owner_client, project):
    cat = project.labels.get(name="cat")
    images = add_images(project, cat, 4)
    wanted = [images[0].pk, images[2].pk]
    response = owner_client.get(_url(project, ids=",".join(map(str, wanted))))
    assert sorted(i.pk for i in response.context["images"]) == sorted(wanted)
    Image.objects.filter(pk=images[1].pk).update(near_duplicate_of=images[0])
    near = owner_client.get(_url(project, near=1))
    assert [i.pk for i in near.context["images"]] == [images[1].pk]
    assert "near-duplicate" in near.content.decode()


def test_it_stays_fast_with_10k_images(owner_client, project, settings):
    cat, dog = project.labels.all()
    rows = [
        Image(project=project, label=cat if i % 3 else dog, sha256=f"{i:064x}", width=1, height=1,
              format="JPEG", source="upload", original=f"x/{i}", normalized=f"x/{i}",
              thumbnail=f"x/{i}")
        for i in range(10_000)
    ]  # fmt: skip
    Image.objects.bulk_create(rows, batch_size=2000)
    url = _url(project, label=cat.pk)
    owner_client.get(url)  # warm up
    last = Image.objects.filter(label=cat).order_by("id")[100].pk  # a deep page
    timings = []
    for params in ({"label": cat.pk}, {"label": cat.pk, "before": last}):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = owner_client.get(_url(project, **params))
            timings.append(time.perf_counter() - start)
        assert response.status_code == 200
        assert len(response.context["images"]) == min(60, 100) or params.get("before")
        assert len(queries) <= 12
        assert not any("OFFSET" in q["sql"].upper() for q in queries.captured_queries)
    assert max(timings) < 1.0, timings  # ~30-60 ms here; generous for a loaded CI box


def test_it_is_viewable_on_public_projects_and_404_otherwise(
    owner_client, other_client, project, public_project
):
    from django.test import Client

    assert owner_client.get(_url(project)).status_code == 200
    assert other_client.get(_url(project)).status_code == 404
    assert Client().get(_url(project)).status_code == 404
    response = Client().get(_url(public_project))
    assert response.status_code == 200 and 'id="select-all"' not in response.content.decode()
    assert owner_client.get(_url(project, label=999999)).status_code == 404


@pytest.mark.parametrize(
    "query",
    ["label=%C2%B2", "before=%C2%B2", "after=%C2%B2", "ids=%C2%B2", "ids=99999999999999999999999"],
)
def test_it_ignores_ids_that_are_not_plain_database_integers(owner_client, project, query):
    # "²".isdigit() is True but int("²") fails; a 23-digit id overflows SQLite's driver.
    add_images(project, project.labels.get(name="cat"), 2)
    response = owner_client.get(reverse("datasets:gallery", args=[project.pk]) + "?" + query)
    assert response.status_code == 200
