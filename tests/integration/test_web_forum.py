"""The forum spider on the fixture site: threads found from an index, posts over pages, replies
linked to their parents, and the brand query keeping only matching threads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from test_web_site import Crawl, FixtureSite, crawl, options, serve_copy

from crawlers.web.source import WebSource
from pipeline.query import Query

FORUM_RULES = {
    "url": "/forum/",
    "item": "article.post",
    "id": "@id",
    "author": ".user",
    "date": "time::attr(datetime)",
    "body": ".content",
    "parent": "@data-reply-to",
    "title": "h1.thread-title",
    "next_page": "a.next",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FixtureSite]:
    served = serve_copy(tmp_path_factory.mktemp("forum"))
    yield served
    served.stop()


def forum(site: FixtureSite, **extra: Any) -> WebSource:
    opts = options(
        "forum",
        [site.url("/forum/index.html")],
        follow=[r"/forum/thread-\d+\.html$"],
        site_rules=[FORUM_RULES],
        **extra,
    )
    return WebSource("forum-test", opts, [Query.parse("orbita")])


@pytest.fixture(scope="module")
def everything(site: FixtureSite) -> Crawl:
    return crawl(forum(site))


def test_threads_over_pages_with_parent_links(everything: Crawl, site: FixtureSite) -> None:
    posts = {m.native_id.rsplit(":", 1)[1]: m for m in everything.mentions}
    assert set(posts) == {"p701", "p702", "p703", "p704", "p801"}
    first = posts["p701"]
    assert (first.thread_id, first.parent_id) == (first.native_id, None)
    assert first.title == "Orbita me corta la fibra cada noche"
    assert first.author == "ines_r"
    assert first.text.startswith("Desde el martes la fibra de Orbita")
    assert posts["p702"].parent_id == first.native_id
    # page 2 of the thread: replies still belong to the first post's thread
    assert posts["p703"].url == site.url("/forum/thread-7-p2.html")
    assert (posts["p703"].thread_id, posts["p703"].parent_id) == (first.native_id, first.native_id)
    assert posts["p704"].parent_id == posts["p702"].native_id  # a quoted reply
    assert posts["p704"].text == "Javi, ¿te dieron número de incidencia?"
    assert posts["p801"].thread_id == posts["p801"].native_id
    assert all(
        m.kind == "post" and m.title is None for k, m in posts.items() if k in ("p702", "p704")
    )
    assert not site.statuses("/private/secret.html")


def test_brand_query_keeps_whole_matching_threads(site: FixtureSite) -> None:
    kept = crawl(forum(site, match_query=True)).mentions
    # thread 7 starts with "Orbita": all its posts are kept, even replies not naming the brand
    assert sorted(m.native_id.rsplit(":", 1)[1] for m in kept) == ["p701", "p702", "p703", "p704"]
