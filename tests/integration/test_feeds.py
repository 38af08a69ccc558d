"""The feeds source against a loopback server: RSS and Atom, ETag/Last-Modified, malformed feeds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from crawlers.feeds import FeedSource, build_client, from_settings, strip_html
from pipeline.errors import ConfigError
from pipeline.settings import Settings, SourceSettings
from pipeline.stages.poll import poll_source
from pipeline.store import Store

FEEDS = Path(__file__).parents[1] / "data" / "import" / "feeds"


class FeedServer:
    """Serves fixture files with ETag and Last-Modified, answering 304 to matching validators."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str, str]] = {}  # path -> (body, content type, etag)
        self.modified = "Wed, 01 May 2024 12:00:00 GMT"
        self.requests: list[tuple[str, dict[str, str], int]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                found = server.files.get(self.path)
                if found is None:
                    status, body, extra = 404, b"not found", {}
                else:
                    body, kind, etag = found
                    extra = {"Content-Type": kind, "ETag": etag, "Last-Modified": server.modified}
                    fresh = headers.get("if-none-match") == etag or (
                        "if-none-match" not in headers
                        and headers.get("if-modified-since") == server.modified
                    )
                    status = 304 if fresh else 200
                    if fresh:
                        body = b""
                server.requests.append((self.path, headers, status))
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def serve(self, path: str, fixture: str, kind: str = "application/rss+xml") -> str:
        body = (FEEDS / fixture).read_bytes()
        self.files[path] = (body, kind, f'"{fixture}-{len(body)}"')
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    fake = FeedServer()
    fake.thread.start()
    yield fake
    fake.httpd.shutdown()
    fake.httpd.server_close()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "escucha.duckdb") as store:
        yield store


def _source(urls: list[str], **options: Any) -> FeedSource:
    settings = SourceSettings.model_validate(
        {"name": "news", "platform": "feeds", "urls": urls, **options}
    )
    return from_settings(settings, Settings())


def _articles(db: Store) -> list[dict[str, Any]]:
    with db.read() as cur:
        result = cur.execute(
            "SELECT native_id, platform, kind, title, text, url, author, created_at, lang_hint"
            " FROM mentions ORDER BY created_at"
        )
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def test_rss_and_atom_then_a_second_poll_gets_304_and_stores_nothing(
    server: FeedServer, db: Store
) -> None:
    rss = server.serve("/es/rss.xml", "news.rss")
    atom = server.serve("/tech/atom", "news.atom", "application/atom+xml")
    source = _source([rss, atom], user_agent="escucha-test/1.0")

    first = poll_source(db, source)
    assert first.error is None
    assert first.ingest.new == 3
    fine, store, outage = _articles(db)
    assert fine["native_id"] == "https://news.example.com/2024/05/orbita-multa"
    assert (fine["platform"], fine["kind"], fine["lang_hint"]) == ("news", "article", "es")
    assert fine["title"] == "Órbita, multada por cobros duplicados"
    assert (
        fine["text"] == "La autoridad de consumo multa a Órbita & filiales."
    )  # no tags, no script
    assert fine["author"] == "Diario Ejemplo"
    assert fine["created_at"] == datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    assert store["native_id"] == "https://news.example.com/2024/05/orbita-sevilla"  # no guid: link
    assert outage["native_id"] == "urn:example:tech:42"
    assert outage["author"] == "Sam Writer"
    assert outage["text"] == "Customers of Orbita reported an outage."
    assert outage["url"] == "https://tech.example.com/orbita-outage"
    assert outage["created_at"] == datetime(2024, 5, 3, 15, 0, tzinfo=UTC)

    second = poll_source(db, source)
    assert second.error is None
    assert second.pages == 0
    assert second.ingest.stored == 0
    conditional = server.requests[-2:]
    assert [status for _, _, status in conditional] == [304, 304]
    for _, headers, _ in conditional:
        assert headers["user-agent"] == "escucha-test/1.0"
        assert headers["if-none-match"].startswith('"news.')
        assert headers["if-modified-since"] == server.modified
    assert len(_articles(db)) == 3


def test_a_changed_feed_sends_only_new_or_edited_entries(
    server: FeedServer, db: Store, tmp_path: Path
) -> None:
    url = server.serve("/feed", "news.rss")
    source = _source([url])
    assert poll_source(db, source).ingest.new == 2
    changed = (FEEDS / "news.rss").read_text(encoding="utf-8")
    changed = changed.replace(
        "Nueva tienda en el centro.", "Nueva tienda en el centro, ya abierta."
    )
    server.files["/feed"] = (changed.encode(), "application/rss+xml", '"v2"')
    again = poll_source(db, source)
    assert (again.ingest.new, again.ingest.edited, again.ingest.unchanged) == (0, 1, 0)


def test_malformed_feeds(server: FeedServer, db: Store) -> None:
    partial = server.serve("/partial", "broken.rss")
    html = server.serve("/html", "not-a-feed.html", "text/html")
    missing = server.serve("/gone", "news.rss").replace("/gone", "/nothing-here")

    # Broken but with an entry: what could be parsed is stored.
    assert poll_source(db, _source([partial])).ingest.new == 1

    result = poll_source(db, _source([html, partial, missing]))
    assert result.error is not None
    assert "2 of 3 feeds failed" in result.error
    assert "malformed feed" in result.error
    assert "/html" in result.error

    only_html = poll_source(db, _source([html]))
    assert only_html.error is not None
    assert "malformed feed" in only_html.error
    only_missing = poll_source(db, _source([missing]))
    assert only_missing.error is not None
    assert "HTTP 404" in only_missing.error


def test_unreachable_feed_is_source_unavailable(db: Store) -> None:
    source = FeedSource(
        "news", ["http://127.0.0.1:9/feed"], build_client("t", timedelta(seconds=2))
    )
    result = poll_source(db, source)
    assert result.error is not None
    assert "cannot fetch" in result.error


@pytest.mark.parametrize(
    ("urls", "message"),
    [
        (["file:///etc/passwd"], r"not an http\(s\) URL"),
        (["/var/feeds/local.xml"], r"not an http\(s\) URL"),
        ([], "needs `urls`"),
    ],
)
def test_only_http_urls_are_accepted(urls: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        _source(urls)
    assert info.value.key is not None
    assert info.value.key.startswith("sources.news.urls")


def test_strip_html() -> None:
    assert strip_html("<p>Hola&nbsp;<b>mundo</b></p><p>adiós</p><style>p{}</style>") == (
        "Hola mundo adiós"
    )
