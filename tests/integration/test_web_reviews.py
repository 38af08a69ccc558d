"""The review spider on the fixture site: three layouts, pagination, robots.txt, broken pages,
and incremental re-crawls (unchanged site, then one page edited).

Three crawls are shared by the tests of this module: a first crawl, a re-crawl of the unchanged
site, and a re-crawl after one page changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_web_site import Crawl, FixtureSite, crawl, options, serve_copy

from crawlers.web.source import WebSource

PLAIN_RULES = {
    "url": "/reviews/plain/",
    "item": "div.opinion",
    "id": "@data-id",
    "author": ".quien",
    "date": ".cuando",
    "date_format": "%d/%m/%Y",
    "rating": ".nota",
    "body": "p.texto",
    "reviewed": "h2.negocio",
    "next_page": "a.siguiente",
}

EDITED_INDEX = (
    (Path(__file__).resolve().parents[1] / "data/site/reviews/jsonld/index.html")
    .read_text(encoding="utf-8")
    .replace(
        "Llevo tres días sin conexión y nadie me contesta.",
        "Actualizo: ya me han devuelto la conexión, pero tardaron una semana.",
    )
    .replace(
        '"review": [',
        '"review": [{"@type": "Review", "@id": "r-102", "author": "Iris",'
        ' "datePublished": "2024-05-03", "reviewBody": "Cambio de tarifa sin avisar.",'
        ' "reviewRating": {"ratingValue": 2}},',
    )
)


@dataclass
class Crawls:
    site: FixtureSite
    source: WebSource
    first: Crawl
    first_errors: list[dict[str, str]]
    again: Crawl
    again_requests: list[tuple[str, int]]
    edited: Crawl
    edited_requests: list[tuple[str, int]]


@pytest.fixture(scope="module")
def crawls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawls]:
    site = serve_copy(tmp_path_factory.mktemp("reviews"))
    paths = [
        "/reviews/jsonld/index.html",
        "/reviews/microdata/index.html",
        "/reviews/plain/index.html",
        "/reviews/broken.html",
        "/reviews/missing.html",
        "/loop/a",
        "/huge.html",
    ]
    opts = options(
        "reviews",
        [site.url(path) for path in paths],
        follow=["/private/"],
        site_rules=[PLAIN_RULES],
        max_page_bytes=200_000,
    )
    source = WebSource("reviews-test", opts)
    first = crawl(source)
    first_errors = source.last_errors
    mark = len(site.requests)
    again = crawl(source, first.cursor)
    again_requests = site.requests[mark:]
    site.touch("/reviews/jsonld/index.html", EDITED_INDEX)
    mark = len(site.requests)
    edited = crawl(source, again.cursor)
    edited_requests = site.requests[mark:]
    yield Crawls(site, source, first, first_errors, again, again_requests, edited, edited_requests)
    site.stop()


def test_reviews_from_json_ld_microdata_and_site_rules(crawls: Crawls) -> None:
    reviews = crawls.first.by_author()
    assert set(reviews) == {"Ana", "Bruno", "Carmen", "Diego", "Elena", "Fede", "Gema", "Hugo Peña"}
    assert all(m.platform == "web" and m.kind == "review" for m in reviews.values())
    assert all(m.source == "reviews-test" for m in reviews.values())

    ana = reviews["Ana"]  # JSON-LD, own @id, rating out of 5, time zone
    assert ana.native_id == "127.0.0.1:review:r-101"
    assert ana.text == "Llevo tres días sin conexión y nadie me contesta."
    assert ana.title == "Sin conexión"
    assert ana.rating == 1.0
    assert ana.created_at == datetime(2024, 5, 2, 8, 15, tzinfo=UTC)
    assert ana.url == crawls.site.url("/reviews/jsonld/index.html")
    assert ana.raw["about"] == "Orbita Fibra 600"
    assert ana.raw["aggregate"]["rating"] == 2.7

    assert reviews["Carmen"].rating == 2.0  # 4 out of 10, in an @graph, after a broken block
    diego = reviews["Diego"]  # microdata
    assert (diego.rating, diego.raw["about"]) == (2.0, "Tienda Orbita Centro")
    assert diego.native_id.startswith("127.0.0.1:review:h")

    fede = reviews["Fede"]  # no markup: site rules
    assert fede.native_id == "127.0.0.1:review:5501"
    assert (fede.rating, fede.raw["about"]) == (1.0, "Orbita Móvil")
    assert fede.created_at == datetime(2024, 2, 3, tzinfo=UTC)
    assert fede.text == "La app se cierra al pagar la factura."


def test_pagination_and_odd_encodings(crawls: Crawls) -> None:
    reviews = crawls.first.by_author()
    assert reviews["Carmen"].url == crawls.site.url("/reviews/jsonld/page-2.html")  # rel=next
    hugo = reviews["Hugo Peña"]  # site rule next_page, page in ISO-8859-1
    assert hugo.url == crawls.site.url("/reviews/plain/p2.html")
    assert hugo.text == "Facturación errónea: añadieron un cargo que no pedí."


def test_robots_txt_is_obeyed(crawls: Crawls) -> None:
    assert crawls.site.statuses("/robots.txt")
    assert not crawls.site.statuses("/private/secret.html")


def test_broken_missing_looping_and_oversized_pages_are_reported_per_url(crawls: Crawls) -> None:
    reasons = {error["url"]: error["reason"] for error in crawls.first_errors}
    assert reasons[crawls.site.url("/reviews/missing.html")] == "HTTP 404"
    assert "redirections" in reasons[crawls.site.url("/loop/a")]
    assert "max size" in reasons[crawls.site.url("/huge.html")]
    assert crawls.site.url("/reviews/broken.html") not in reasons  # parsed: it just has no reviews
    assert len(crawls.first.mentions) == 8  # and the crawl went on


def test_unchanged_site_is_revalidated_not_reparsed(crawls: Crawls) -> None:
    assert crawls.again.mentions == []
    statuses = dict(crawls.again_requests)
    for path in (
        "/reviews/jsonld/index.html",
        "/reviews/jsonld/page-2.html",
        "/reviews/plain/p2.html",
    ):
        assert statuses[path] == 304
    assert crawls.again.cursor is not None


def test_changed_page_emits_only_the_new_and_the_edited_review(crawls: Crawls) -> None:
    emitted = crawls.edited.by_author()
    assert set(emitted) == {"Ana", "Iris"}
    before = crawls.first.by_author()["Ana"]
    assert emitted["Ana"].native_id == before.native_id  # an edit keeps its key...
    assert emitted["Ana"].content_hash != before.content_hash  # ...with new content
    assert emitted["Iris"].native_id == "127.0.0.1:review:r-102"
    statuses = dict(crawls.edited_requests)
    assert statuses["/reviews/jsonld/index.html"] == 200
    assert statuses["/reviews/jsonld/page-2.html"] == 304  # still followed from the new page


def test_cursor_is_only_on_the_last_page_and_bounded(crawls: Crawls) -> None:
    for run in (crawls.first, crawls.again, crawls.edited):
        assert all(page.cursor is None for page in run.pages[:-1])
        assert run.cursor["v"] == 1
    assert len(crawls.edited.cursor["items"]) == 9
    seconds = [round(run.seconds, 2) for run in (crawls.first, crawls.again, crawls.edited)]
    print(f"crawl seconds: {seconds}")
