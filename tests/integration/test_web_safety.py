"""Safety and robustness of web sources: config errors, refused addresses, and a crawl killed
mid-way then run again, losing and duplicating nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from test_web_site import FixtureSite, crawl, options, serve_copy

from crawlers.options import parse_options
from crawlers.registry import build_source
from crawlers.web.options import WebOptions
from crawlers.web.safety import refusal
from crawlers.web.source import WebSource, from_settings
from pipeline.errors import ConfigError, SourceError, SourceUnavailable
from pipeline.records import Page
from pipeline.settings import BrandSettings, Settings, SourceSettings


def source_settings(**options: Any) -> SourceSettings:
    return SourceSettings.model_validate({"name": "shop", "platform": "web", **options})


@pytest.mark.parametrize(
    ("options", "key", "fragment"),
    [
        ({"start_urls": ["https://a.example/"]}, "sources.shop.spider", "required"),
        ({"spider": "reviews", "start_urls": []}, "sources.shop.start_urls", "at least 1"),
        (
            {"spider": "reviews", "start_urls": ["ftp://a.example/"]},
            "sources.shop.start_urls",
            "http",
        ),
        (
            {"spider": "reviews", "start_urls": ["https://a.example/"], "follow": ["("]},
            "sources.shop.follow",
            "regular expression",
        ),
        (
            {
                "spider": "reviews",
                "start_urls": ["https://a.example/"],
                "site_rules": [{"item": "x"}],
            },
            "sources.shop.site_rules.0",
            "domain",
        ),
        ({"spider": "forum", "start_urls": ["https://a.example/"]}, "sources.shop", "site_rules"),
        (
            {"spider": "reviews", "start_urls": ["https://a.example/"], "delay": "soon"},
            "sources.shop.delay",
            "duration",
        ),
        (
            {"spider": "reviews", "start_urls": ["https://a.example/"], "colour": 1},
            "sources.shop.colour",
            "unknown setting",
        ),
    ],
)
def test_bad_options_name_their_key(options: dict[str, Any], key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_options(WebOptions, source_settings(**options))
    assert info.value.key == key
    assert fragment in str(info.value)


def test_registry_builds_a_web_source_and_checks_the_brand() -> None:
    settings = Settings(brands=[BrandSettings(name="orbita", keywords=["órbita"])])
    built = build_source(
        source_settings(spider="news", start_urls=["https://n.example/rss"]), settings
    )
    assert isinstance(built, WebSource)
    assert built.queries[0].matches("ORBITA")  # brand name and keywords when there is no query
    with pytest.raises(ConfigError, match="no brand is configured"):
        from_settings(
            source_settings(spider="news", start_urls=["https://n.example/rss"]), Settings()
        )
    with pytest.raises(ConfigError) as info:
        from_settings(
            source_settings(spider="reviews", start_urls=["https://a.example/"], brand="nope"),
            settings,
        )
    assert info.value.key == "sources.shop.brand"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1/", False),
        ("http://10.1.2.3/x", False),
        ("http://192.168.0.1/", False),
        ("http://169.254.169.254/latest/meta-data/", False),  # cloud metadata (link-local)
        ("http://[::1]/", False),
        ("http://[::ffff:127.0.0.1]/", False),
        ("http://0.0.0.0/", False),
        ("http://93.184.215.14/", True),
        ("file:///etc/passwd", False),
        ("ftp://93.184.215.14/", False),
    ],
)
def test_private_addresses_and_other_schemes_are_refused(url: str, allowed: bool) -> None:
    assert (refusal(url, allow_private=False) is None) is allowed
    if url.startswith("http"):
        assert refusal(url, allow_private=True) is None
    else:
        assert refusal(url, allow_private=True) is not None


@pytest.fixture
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FixtureSite]:
    served = serve_copy(tmp_path_factory.mktemp("safety"))
    yield served
    served.stop()


def test_loopback_crawl_is_refused_by_default(site: FixtureSite) -> None:
    opts = options(
        "reviews", [site.url("/reviews/jsonld/index.html")], allow_private_addresses=False
    )
    with pytest.raises(SourceError) as info:
        crawl(WebSource("shop", opts))
    assert isinstance(info.value, SourceUnavailable)
    assert site.url("/reviews/jsonld/index.html") in str(info.value)
    assert "allow_private_addresses" in str(info.value)
    assert site.requests == []  # not even robots.txt


def test_killed_crawl_run_again_loses_and_duplicates_nothing(site: FixtureSite) -> None:
    paths = [
        "/reviews/jsonld/index.html",
        "/reviews/plain/index.html",
        "/slow/reviews/microdata/index.html",
    ]
    rules = [
        {
            "url": "/reviews/plain/",
            "item": "div.opinion",
            "id": "@data-id",
            "author": ".quien",
            "body": "p.texto",
            "next_page": "a.siguiente",
        }
    ]
    opts = options("reviews", [site.url(p) for p in paths], site_rules=rules)
    store: dict[str, str] = {}  # what the pipeline's ingest keeps: key -> content hash
    inserted = 0

    def ingest(page: Page) -> None:
        nonlocal inserted
        for mention in page.mentions:
            assert store.get(mention.key, mention.content_hash) == mention.content_hash
            inserted += mention.key not in store
            store[mention.key] = mention.content_hash

    # The microdata page hangs; once the other pages (and their next pages) were served, the
    # crawl process is killed, as a crash or a service shutdown would.
    site.slow_seconds = 30
    killed = WebSource("shop", opts)

    def kill_when_only_the_slow_page_is_left() -> None:
        wanted = {
            "/slow/reviews/microdata/index.html",
            "/reviews/jsonld/page-2.html",
            "/reviews/plain/p2.html",
        }
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if wanted <= {path for path, _ in site.requests} | set(site.pending):
                break
            time.sleep(0.05)
        time.sleep(0.5)  # let the served pages be parsed and written
        killed.cancel()

    killer = threading.Thread(target=kill_when_only_the_slow_page_is_left)
    killer.start()
    saved_cursor = None
    pages = killed.fetch(saved_cursor)
    with pytest.raises(SourceUnavailable, match="stopped before the end"):  # noqa: PT012
        for page in pages:
            assert page.cursor is None  # no cursor from a crawl that did not finish
            ingest(page)
    killer.join()
    partial = set(store)
    assert partial  # the pages read before the kill were kept...

    site.slow_seconds = 0
    for page in WebSource("shop", opts).fetch(saved_cursor):
        ingest(page)
        if page.cursor is not None:
            saved_cursor = page.cursor
    assert saved_cursor is not None
    assert partial < set(store)  # ...and the re-run added the rest under the same keys
    assert inserted == len(store) == 8  # every review once: none lost, none twice
