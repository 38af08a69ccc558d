"""Options of a ``platform = "web"`` source: :class:`WebOptions`, read with ``parse_options``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from crawlers.options import Options
from pipeline.settings import parse_duration

DEFAULT_USER_AGENT = "escucha/0.1 (self-hosted social listening; +https://example.org/escucha-bot)"


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a valid regular expression ({exc})") from exc
    return value


class SiteRules(Options):
    """Selectors for one site whose pages lack schema.org markup (or to override it).

    A selector starting with ``/``, ``./`` or ``(`` is XPath, anything else CSS (``::text`` and
    ``::attr(name)`` allowed). Field selectors are relative to the ``item`` element.
    """

    domain: str | None = None  # applies to this host and its subdomains
    url: str | None = None  # or to URLs matching this regular expression
    item: str | None = None  # each review (reviews spider) or each post (forum spider)
    author: str | None = None
    date: str | None = None
    date_format: str | None = None  # strptime format when dates are not ISO 8601
    rating: str | None = None
    best_rating: float = Field(5.0, gt=0)
    body: str | None = None
    title: str | None = None  # review title, or the thread/article title (page-level)
    id: str | None = None  # the review's or post's own id, when the page shows one
    reviewed: str | None = None  # page-level: the business or product reviewed
    next_page: str | None = None  # page-level: the link to the next page
    parent: str | None = None  # forum: the id of the post a reply quotes, when shown

    @field_validator("url")
    @classmethod
    def _url_regex(cls, value: str | None) -> str | None:
        return value if value is None else _check_regex(value)

    @model_validator(mode="after")
    def _scope(self) -> SiteRules:
        if not self.domain and not self.url:
            raise ValueError("give the rules a `domain` or a `url` pattern to apply to")
        return self

    def applies_to(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        if self.domain:
            domain = self.domain.lower()
            if host != domain and not host.endswith("." + domain):
                return False
        return not self.url or re.search(self.url, url) is not None


class WebOptions(Options):
    """Everything a web source can set besides the common ``[[sources]]`` keys."""

    spider: Literal["reviews", "forum", "news"]
    start_urls: list[str] = Field(min_length=1)  # news: RSS/Atom feed URLs
    allowed_domains: list[str] = Field(default_factory=list)  # default: the hosts of start_urls
    # regexes: links to follow besides pagination (threads, businesses)
    follow: list[str] = Field(default_factory=list)
    deny: list[str] = Field(default_factory=list)  # regexes: links never to follow
    max_depth: int = Field(3, ge=0)
    site_rules: list[SiteRules] = Field(default_factory=list)
    user_agent: str = DEFAULT_USER_AGENT
    allow_private_addresses: bool = False
    delay: timedelta = timedelta(seconds=1)  # between requests to the same domain
    concurrency: int = Field(1, ge=1, le=16)  # requests in flight per domain
    max_page_bytes: int = Field(5 * 1024 * 1024, ge=1024)
    page_timeout: timedelta = timedelta(seconds=30)
    max_pages: int = Field(500, ge=1)
    max_crawl_time: timedelta = timedelta(minutes=10)
    match_query: bool | None = None  # keep only what matches the brand query (default: news only)
    max_remembered_pages: int = Field(2000, ge=10)
    max_remembered_items: int = Field(10000, ge=10)

    _durations = field_validator("delay", "page_timeout", "max_crawl_time", mode="before")(
        parse_duration
    )

    @field_validator("start_urls")
    @classmethod
    def _http_only(cls, value: list[str]) -> list[str]:
        for url in value:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{url!r}: only http:// and https:// URLs can be crawled")
        return value

    @field_validator("follow", "deny")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        return [_check_regex(item) for item in value]

    @model_validator(mode="after")
    def _rules_for_forums(self) -> WebOptions:
        if self.spider == "forum" and not any(rule.item for rule in self.site_rules):
            raise ValueError("the forum spider needs `site_rules` with an `item` (post) selector")
        return self

    @property
    def domains(self) -> list[str]:
        if self.allowed_domains:
            return list(self.allowed_domains)
        hosts = (urlsplit(url).hostname or "" for url in self.start_urls)
        return sorted({host for host in hosts if host})

    @property
    def keep_matching_only(self) -> bool:
        return self.match_query if self.match_query is not None else self.spider == "news"

    def rules_for(self, url: str) -> SiteRules | None:
        """The first site rules that apply to ``url``."""
        return next((rule for rule in self.site_rules if rule.applies_to(url)), None)


def dump_options(options: WebOptions) -> dict[str, Any]:
    """A JSON-ready copy for the crawl subprocess (durations as seconds)."""
    data = options.model_dump(mode="json")
    for name in ("delay", "page_timeout", "max_crawl_time"):
        data[name] = getattr(options, name).total_seconds()
    return data
