"""The news spider: articles reached from an RSS feed, their main text and date, and the brand
query deciding which are kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from test_web_site import Crawl, FixtureSite, crawl, options, serve_copy

from crawlers.web.source import from_settings
from pipeline.settings import BrandSettings, Settings, SourceSettings

QUERY = '(orbita OR "@orbita") AND NOT ("orbita lunar" OR satélite)'


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FixtureSite]:
    served = serve_copy(tmp_path_factory.mktemp("news"))
    yield served
    served.stop()


@pytest.fixture(scope="module")
def news(site: FixtureSite) -> Crawl:
    settings = Settings(brands=[BrandSettings(name="orbita", query=QUERY)])
    source = SourceSettings.model_validate(
        {
            "name": "news-test",
            "platform": "web",
            "brand": "orbita",
            **options("news", [site.url("/news/feed.xml")]).model_dump(),
        }
    )
    return crawl(from_settings(source, settings))


def test_article_from_feed_matching_the_brand_query(news: Crawl, site: FixtureSite) -> None:
    assert [m.title for m in news.mentions] == ["Caída masiva de la red de Orbita"]
    article = news.mentions[0]
    assert article.kind == "article"
    assert article.url == site.url("/news/article-1.html")
    assert article.created_at == datetime(2024, 6, 3, 7, 25, tzinfo=UTC)
    assert article.text.startswith("Miles de clientes de Órbita se quedaron sin servicio")
    assert "fallo eléctrico" in article.text
    assert "recetas" not in article.text  # main text only: no aside...
    assert "Portada" not in article.text  # ...and no navigation


def test_every_feed_article_was_read_but_only_in_scope(site: FixtureSite, news: Crawl) -> None:
    for path in ("/news/article-1.html", "/news/article-2.html", "/news/article-3.html"):
        assert site.statuses(path) == [200]  # read, then dropped by the query (2: no brand, 3: NOT)
    assert len(news.cursor["pages"]) == 4  # the feed and its three articles
