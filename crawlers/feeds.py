"""RSS and Atom news mentions: conditional GETs (ETag / Last-Modified) parsed with feedparser.

The cursor keeps, per feed URL, the validators the server sent and the ids of recent entries
with a hash of their content: ``{url: {"etag", "modified", "seen": {entry_id: hash}}}``. An
unchanged feed costs one 304; an entry is sent again only when its content changed.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import feedparser
import httpx
from pydantic import ConfigDict, Field, field_validator

from crawlers.options import Options, parse_options
from pipeline.errors import ConfigError, RateLimited, SourceError, SourceUnavailable
from pipeline.records import Mention, Page, utcnow
from pipeline.settings import Settings, SourceSettings, parse_duration

logger = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "escucha/0.1 (self-hosted feed reader)"
MAX_FEED_BYTES = 10 * 1024 * 1024
_SPACE = re.compile(r"\s+")


class _TextOnly(HTMLParser):
    """Collects the visible text of an HTML fragment."""

    _SKIP = frozenset({"script", "style", "template"})
    _BREAKS = frozenset({"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BREAKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def strip_html(fragment: str) -> str:
    """The text of an HTML fragment, entities decoded and whitespace collapsed."""
    parser = _TextOnly()
    parser.feed(fragment)
    parser.close()
    return _SPACE.sub(" ", "".join(parser.parts)).strip()


def check_url(url: str, *, key: str) -> str:
    """Return ``url`` if it is an absolute http(s) URL, else raise ConfigError."""
    if not _is_http(url):
        raise ConfigError(f"{url!r} is not an http(s) URL", key=key, hint=_HTTP_ONLY)
    return url


def _is_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


_HTTP_ONLY = "feeds are read over HTTP only, like https://example.com/feed.xml"


class FeedsOptions(Options):
    """Keys of a ``feeds`` source."""

    model_config = ConfigDict(extra="ignore")  # keys it does not know were always ignored

    urls: list[str] = Field(default_factory=list, validate_default=True)
    user_agent: str = DEFAULT_USER_AGENT
    mention_platform: str = "news"
    timeout: timedelta = timedelta(seconds=20)
    max_seen: int = 1000

    _timeout = field_validator("timeout", mode="before")(parse_duration)

    @field_validator("urls", mode="before")
    @classmethod
    def _urls(cls, value: Any) -> list[str]:
        urls = [value] if isinstance(value, str) else value
        if not urls or not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise ValueError("a feeds source needs `urls`, a list of RSS/Atom addresses")
        for url in urls:
            if not _is_http(url):
                raise ValueError(f"{url!r} is not an http(s) URL; {_HTTP_ONLY}")
        return urls

    @field_validator("user_agent")
    @classmethod
    def _user_agent(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("`user_agent` must be a non-empty string")
        return value


def _when(entry: Mapping[str, Any]) -> datetime | None:
    for name in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(name)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), UTC)
    return None


def _digest(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:12]


def entry_to_mention(
    entry: Mapping[str, Any],
    feed: Mapping[str, Any],
    *,
    feed_url: str,
    platform: str,
    fetched_at: datetime,
) -> Mention | None:
    """Map one feedparser entry to an article Mention; None when it has no id and no link."""
    native_id = str(entry.get("id") or entry.get("link") or "").strip()
    if not native_id:
        return None
    contents = entry.get("content") or []
    body = contents[0].get("value", "") if contents else entry.get("summary", "")
    title = strip_html(str(entry.get("title", ""))) or None
    text = strip_html(str(body or "")) or title or ""
    author = (
        str(entry.get("author") or "").strip()
        or strip_html(str(feed.get("title") or ""))
        or (urlsplit(feed_url).hostname or feed_url)
    )
    lang = str(feed.get("language") or "").split("-")[0].lower() or None
    published = _when(entry)
    return Mention(
        platform=platform,
        native_id=native_id,
        text=text,
        title=title,
        author=author,
        created_at=published or fetched_at,
        url=entry.get("link") or None,
        lang=lang,
        kind="article",
        raw={
            "feed": feed_url,
            "id": entry.get("id"),
            "link": entry.get("link"),
            "title": entry.get("title"),
            "published": entry.get("published") or entry.get("updated"),
        },
    )


class FeedSource:
    """Polls RSS/Atom feeds; one page per feed that changed."""

    platform = "feeds"

    def __init__(
        self,
        name: str,
        urls: list[str],
        client: httpx.Client,
        *,
        mention_platform: str = "news",
        max_seen: int = 1000,
    ) -> None:
        self.name = name
        self.urls = [check_url(url, key=f"sources.{name}.urls") for url in urls]
        self.client = client
        self.mention_platform = mention_platform
        self.max_seen = max_seen

    def close(self) -> None:
        self.client.close()

    def fetch(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        """Fetch every feed; a failing feed does not stop the others (its error is raised last)."""
        state: dict[str, Any] = {url: (cursor or {}).get(url) or {} for url in self.urls}
        failures: list[SourceError] = []
        for url in self.urls:
            try:
                page = self._poll(url, state[url])
            except SourceError as exc:
                logger.warning("feed failed: %s", exc, extra={"source": self.name, "url": url})
                failures.append(exc)
                continue
            if page is None:
                continue
            mentions, saved = page
            state[url] = saved
            yield Page(tuple(mentions), cursor=dict(state))
        if failures:
            first = failures[0]
            if len(failures) > 1:
                raise SourceUnavailable(
                    f"{len(failures)} of {len(self.urls)} feeds failed; first: {first.message}",
                    source=self.name,
                )
            raise first

    def _poll(
        self, url: str, saved: Mapping[str, Any]
    ) -> tuple[list[Mention], dict[str, Any]] | None:
        headers = {}
        if saved.get("etag"):
            headers["If-None-Match"] = str(saved["etag"])
        if saved.get("modified"):
            headers["If-Modified-Since"] = str(saved["modified"])
        fetched_at = utcnow()
        status, body, response_headers, final_url = self._get(url, headers)
        if status == 304:
            logger.debug("feed not modified", extra={"source": self.name, "url": url})
            return None
        parsed = feedparser.parse(
            body,
            response_headers={
                "content-location": final_url,
                "content-type": response_headers.get("content-type", "application/xml"),
            },
        )
        if parsed.get("bozo"):
            problem = parsed.get("bozo_exception")
            if not parsed.entries:
                raise SourceUnavailable(
                    f"malformed feed at {url} ({problem})",
                    source=self.name,
                    hint="check the URL serves RSS or Atom",
                )
            logger.warning(
                "feed is malformed, using what could be parsed: %s",
                problem,
                extra={"source": self.name, "url": url},
            )
        seen: dict[str, str] = dict(saved.get("seen") or {})
        mentions: list[Mention] = []
        current: dict[str, str] = {}
        for entry in parsed.entries:
            mention = entry_to_mention(
                entry,
                parsed.feed,
                feed_url=url,
                platform=self.mention_platform,
                fetched_at=fetched_at,
            )
            if mention is None:
                logger.warning("feed entry without id or link skipped", extra={"url": url})
                continue
            digest = _digest(mention.text, mention.title or "")
            current[mention.native_id] = digest
            if seen.get(mention.native_id) != digest:
                mentions.append(mention)
        # Newest knowledge last; keep at least everything the feed shows now.
        for native_id in current:
            seen.pop(native_id, None)
        merged = {**seen, **current}
        keep = max(self.max_seen, len(current))
        bounded = dict(list(merged.items())[-keep:])
        new_state = {
            "etag": response_headers.get("etag"),
            "modified": response_headers.get("last-modified"),
            "seen": bounded,
        }
        logger.info(
            "feed fetched",
            extra={"source": self.name, "url": url, "entries": len(current), "new": len(mentions)},
        )
        return mentions, new_state

    def _get(self, url: str, headers: dict[str, str]) -> tuple[int, bytes, httpx.Headers, str]:
        try:
            with self.client.stream("GET", url, headers=headers) as response:
                if response.status_code == 304:
                    return 304, b"", response.headers, str(response.url)
                if response.status_code in (429, 503) and "retry-after" in response.headers:
                    raise RateLimited(
                        f"{url} asked us to wait (HTTP {response.status_code})",
                        retry_after=_retry_after(response.headers["retry-after"]),
                        source=self.name,
                    )
                if response.status_code >= 400:
                    raise SourceUnavailable(
                        f"{url} answered HTTP {response.status_code}",
                        source=self.name,
                        hint="check the feed URL in the config",
                    )
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_FEED_BYTES:
                        raise SourceUnavailable(
                            f"{url} is larger than {MAX_FEED_BYTES // 1024 // 1024} MB",
                            source=self.name,
                        )
                    chunks.append(chunk)
                return response.status_code, b"".join(chunks), response.headers, str(response.url)
        except httpx.HTTPError as exc:
            raise SourceUnavailable(
                f"cannot fetch {url} ({type(exc).__name__}: {exc})", source=self.name
            ) from exc


def _retry_after(value: str) -> float | None:
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def build_client(user_agent: str, timeout: timedelta) -> httpx.Client:
    """The HTTP client feeds are read with: timeouts, redirects followed, our user agent."""
    return httpx.Client(
        timeout=timeout.total_seconds(),
        follow_redirects=True,
        headers={"User-Agent": user_agent, "Accept": "application/rss+xml, application/atom+xml, "
                 "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"},
    )  # fmt: skip


def from_settings(source: SourceSettings, settings: Settings) -> FeedSource:
    """Build a FeedSource from a ``[[sources]]`` table with ``platform = "feeds"``."""
    options = parse_options(FeedsOptions, source, docs="docs/import.md")
    return FeedSource(
        source.name,
        options.urls,
        build_client(options.user_agent, options.timeout),
        mention_platform=options.mention_platform,
        max_seen=options.max_seen,
    )
