"""The loopback fixture site the web crawler tests run against, and checks of its own behaviour.

Other ``test_web_*`` modules import :class:`FixtureSite` and :func:`crawl` from here.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from crawlers.web.options import WebOptions
from crawlers.web.source import WebSource
from pipeline.records import Mention, Page

SITE = Path(__file__).resolve().parents[1] / "data" / "site"


@dataclass
class FixtureSite:
    """A copy of tests/data/site served on 127.0.0.1 with a request log and a few special paths.

    ``/loop/a`` and ``/loop/b`` redirect to each other; ``/huge.html`` is 300 kB; paths under
    ``/slow/`` serve the same file without the prefix after ``slow_seconds``.
    """

    root: Path
    server: ThreadingHTTPServer | None = None
    requests: list[tuple[str, int]] = field(default_factory=list)
    slow_seconds: float = 0.0
    pending: list[str] = field(default_factory=list)  # slow requests being held

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def statuses(self, path: str) -> list[int]:
        return [status for requested, status in self.requests if requested == path]

    def touch(self, path: str, text: str) -> None:
        """Rewrite a page and move its modification time forward (If-Modified-Since is in s)."""
        target = self.root / path.lstrip("/")
        target.write_text(text, encoding="utf-8")
        stamp = time.time() + 60
        os.utime(target, (stamp, stamp))

    def start(self) -> FixtureSite:
        site = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def log_request(self, code: Any = "-", size: Any = "-") -> None:
                site.requests.append((self.path, int(code)))

            def do_GET(self) -> None:
                if self.path in ("/loop/a", "/loop/b"):
                    self.send_response(302)
                    self.send_header("Location", "/loop/b" if self.path == "/loop/a" else "/loop/a")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/huge.html":
                    body = b"<html><body>" + b"<p>x</p>" * 40000 + b"</body></html>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if self.path.startswith("/slow/"):
                    site.pending.append(self.path)
                    time.sleep(site.slow_seconds)
                    self.path = self.path.removeprefix("/slow")
                super().do_GET()

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a crawler hanging up on /huge.html is expected

        handler = partial(Handler, directory=str(self.root))
        self.server = Server(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def serve_copy(tmp: Path) -> FixtureSite:
    root = tmp / "site"
    shutil.copytree(SITE, root)
    return FixtureSite(root).start()


def options(spider: str, start_urls: list[str], **extra: Any) -> WebOptions:
    """Test options: loopback allowed, no politeness delay."""
    data: dict[str, Any] = {
        "spider": spider,
        "start_urls": start_urls,
        "allow_private_addresses": True,
        "delay": "0s",
        "concurrency": 4,
        "page_timeout": "5s",
        "max_crawl_time": "30s",
    }
    data.update(extra)
    return WebOptions.model_validate(data)


@dataclass
class Crawl:
    pages: list[Page]
    seconds: float

    @property
    def mentions(self) -> list[Mention]:
        return [mention for page in self.pages for mention in page.mentions]

    @property
    def cursor(self) -> Any:
        return self.pages[-1].cursor

    def by_author(self) -> dict[str, Mention]:
        return {mention.author: mention for mention in self.mentions}


def crawl(source: WebSource, cursor: Any = None) -> Crawl:
    started = time.monotonic()
    pages = list(source.fetch(cursor))
    return Crawl(pages, time.monotonic() - started)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[FixtureSite]:
    served = serve_copy(tmp_path)
    yield served
    served.stop()


def test_fixture_site_serves_conditional_gets_and_special_paths(site: FixtureSite) -> None:
    with urllib.request.urlopen(site.url("/reviews/jsonld/index.html")) as response:
        modified = response.headers["Last-Modified"]
    request = urllib.request.Request(
        site.url("/reviews/jsonld/index.html"), headers={"If-Modified-Since": modified}
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request)
    assert info.value.code == 304
    with urllib.request.urlopen(site.url("/huge.html")) as response:
        assert len(response.read()) > 300_000
    assert site.statuses("/reviews/jsonld/index.html") == [200, 304]
