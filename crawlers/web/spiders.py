"""The three spiders (reviews, forum, news) and the incremental page walk they share.

Every page is requested with the validators remembered from the last crawl (``If-None-Match``,
``If-Modified-Since``); a 304, or a 200 whose body hashes as before, is not parsed again and its
remembered links are followed instead. Each page answers one ``{"type": "page"}`` record (what
to remember) and its ``{"type": "mention"}`` records; failures answer ``{"type": "error"}``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urldefrag, urlsplit

import scrapy  # noqa: TID253 - runs only in the crawl subprocess
from scrapy.http import Response, TextResponse  # noqa: TID253
from scrapy.spidermiddlewares.httperror import HttpError  # noqa: TID253
from twisted.python.failure import Failure

from crawlers.web import extract
from crawlers.web.items import host_of, item_id
from crawlers.web.options import WebOptions

logger = logging.getLogger(__name__)

# [url, kind, context, hops]: a link to follow, as remembered between crawls
Link = list[Any]


class WebSpider(scrapy.Spider):
    """Shared walk: conditional requests, change detection, link following, per-URL errors."""

    name = "web"
    start_kind = "page"
    handle_httpstatus_list = [304]  # noqa: RUF012 - Scrapy reads this class attribute

    def __init__(self, job: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.options = WebOptions.model_validate(job["options"])
        self.memory: dict[str, dict[str, Any]] = dict(job.get("pages") or {})
        self.allowed_domains = self.options.domains
        self.follow_patterns = [re.compile(pattern) for pattern in self.options.follow]
        self.deny_patterns = [re.compile(pattern) for pattern in self.options.deny]
        self.requested: set[str] = set()

    async def start(self) -> AsyncIterator[Any]:
        for url in self.options.start_urls:
            request = self.page_request([url, self.start_kind, {}, 0])
            if request is not None:
                yield request

    # -- requests -------------------------------------------------------------------------

    def page_request(self, link: Link) -> scrapy.Request | None:
        url, kind, context, hops = link
        url = urldefrag(url)[0]
        if url in self.requested:
            return None
        self.requested.add(url)
        headers: dict[str, str] = {}
        known = self.memory.get(url) or {}
        if known.get("etag"):
            headers["If-None-Match"] = known["etag"]
        if known.get("modified"):
            headers["If-Modified-Since"] = known["modified"]
        # dont_filter: we dedupe above, and a redirect loop then ends in "max redirections"
        # (reported for its URL) instead of vanishing in the duplicate filter.
        return scrapy.Request(
            url,
            callback=self.on_page,
            errback=self.on_error,
            headers=headers,
            dont_filter=True,
            meta={"link": [url, kind, context, hops]},
        )

    def in_scope(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        if not any(host == d or host.endswith("." + d) for d in self.allowed_domains):
            return False
        return not any(pattern.search(url) for pattern in self.deny_patterns)

    def followed(self, response: TextResponse, link: Link) -> list[Link]:
        """Links matching the ``follow`` patterns, one hop further, within max_depth."""
        _, kind, _, hops = link
        if hops >= self.options.max_depth or not self.follow_patterns:
            return []
        found: list[Link] = []
        for href in response.xpath("//a/@href").getall():
            url = urldefrag(response.urljoin(href.strip()))[0]
            if self.in_scope(url) and any(p.search(url) for p in self.follow_patterns):
                found.append([url, self.follow_kind(kind), {}, hops + 1])
        return found

    def follow_kind(self, kind: str) -> str:
        return kind

    def next_link(self, response: TextResponse, link: Link, context: dict[str, Any]) -> list[Link]:
        href = extract.next_page(response.text, self.options.rules_for(response.url))
        if not href:
            return []
        url = urldefrag(response.urljoin(href))[0]
        if not self.in_scope(url) or url == response.url:
            return []
        return [[url, link[1], context, link[3]]]

    # -- responses ------------------------------------------------------------------------

    def on_page(self, response: Response) -> Iterator[Any]:
        link: Link = response.meta["link"]
        url = link[0]
        known = self.memory.get(url)
        if response.status == 304:
            if known is None:
                yield self.error(url, "answered 304 Not Modified to a request without validators")
                return
            yield {**known, "type": "page", "url": url, "unchanged": True}
            yield from self.requests_for(known.get("links") or [])
            return
        if not isinstance(response, TextResponse):
            yield self.error(url, f"not a text page ({response.headers.get('Content-Type')!r})")
            return
        digest = hashlib.sha256(response.body).hexdigest()[:16]
        if known is not None and known.get("hash") == digest:
            records: list[dict[str, Any]] = []
            links: list[Link] = known.get("links") or []
        else:
            try:
                records, links = self.parse_page(response, link)
            except Exception as exc:  # one bad page must not stop the crawl
                logger.exception("cannot parse %s", url, extra={"url": url})
                yield self.error(url, f"cannot parse the page: {exc!r}")
                return
        yield from records
        yield {
            "type": "page",
            "url": url,
            "etag": _header(response, b"ETag"),
            "modified": _header(response, b"Last-Modified"),
            "hash": digest,
            "links": links,
            "unchanged": known is not None and known.get("hash") == digest,
        }
        yield from self.requests_for(links)

    def requests_for(self, links: list[Link]) -> Iterator[scrapy.Request]:
        for link in links:
            request = self.page_request(link)
            if request is not None:
                yield request

    def on_error(self, failure: Failure) -> Iterator[dict[str, Any]]:
        request = getattr(failure, "request", None)
        url = request.meta["link"][0] if request is not None else "?"
        error = failure.value
        if isinstance(error, HttpError):
            reason = f"HTTP {error.response.status}"
        else:
            reason = str(error) or type(error).__name__
        if "robots.txt" in reason:
            logger.info("skipped %s: %s", url, reason, extra={"url": url})
            yield {"type": "skipped", "url": url, "reason": reason}
            return
        logger.warning("failed %s: %s", url, reason, extra={"url": url})
        yield self.error(url, reason)

    def error(self, url: str, reason: str) -> dict[str, Any]:
        return {"type": "error", "url": url, "reason": reason}

    def parse_page(
        self, response: TextResponse, link: Link
    ) -> tuple[list[dict[str, Any]], list[Link]]:
        raise NotImplementedError


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


class ReviewSpider(WebSpider):
    """schema.org reviews (JSON-LD, microdata) or site rules, over paginated pages."""

    name = "reviews"

    def parse_page(
        self, response: TextResponse, link: Link
    ) -> tuple[list[dict[str, Any]], list[Link]]:
        rules = self.options.rules_for(response.url)
        html = response.text
        found = extract.rule_items(html, response.url, rules) if rules and rules.item else []
        if not found:
            found = extract.structured_reviews(html, response.url)
        page_about = (
            extract.select_text(scrapy.Selector(text=html), rules.reviewed) if rules else ""
        )
        records = []
        for review in found:
            if not review["body"] and review.get("rating") is None:
                continue
            about = review.get("about") or page_about or None
            records.append(
                {
                    "type": "mention",
                    "kind": "review",
                    "native_id": item_id(
                        "review",
                        response.url,
                        review.get("id"),
                        about or link[0],
                        review.get("author"),
                        review.get("date"),
                    ),
                    "text": review["body"],
                    "title": review.get("title"),
                    "author": review.get("author"),
                    "created_at": review.get("date"),
                    "rating": review.get("rating"),
                    "url": response.url,
                    "raw": {
                        "about": about,
                        "syntax": review.get("syntax"),
                        "aggregate": review.get("aggregate"),
                    },
                }
            )
        if not records:
            logger.info("no reviews on %s", response.url, extra={"url": response.url})
        links = self.next_link(response, link, {}) + self.followed(response, link)
        return records, links


class ForumSpider(WebSpider):
    """Threads over pages: the first post starts the thread, later posts reply to it."""

    name = "forum"

    def parse_page(
        self, response: TextResponse, link: Link
    ) -> tuple[list[dict[str, Any]], list[Link]]:
        rules = self.options.rules_for(response.url)
        context: dict[str, Any] = dict(link[2])
        posts = extract.rule_items(response.text, response.url, rules) if rules else []
        records = []
        if posts:
            thread_url = context.get("thread_url") or link[0]
            title = context.get("title") or extract.page_title(response.text, rules)
            thread_id = context.get("thread_id")
            for post in posts:
                native_id = item_id(
                    "post", thread_url, post.get("id"), thread_url, post["author"], post["date"]
                )
                parent = post.get("parent")
                if thread_id is None:
                    thread_id, parent_id = native_id, None
                elif parent:
                    parent_id = item_id("post", thread_url, parent)
                else:
                    parent_id = thread_id
                records.append(
                    {
                        "type": "mention",
                        "kind": "post",
                        "native_id": native_id,
                        "text": post["body"],
                        "title": title if native_id == thread_id else None,
                        "author": post["author"],
                        "created_at": post["date"],
                        "url": response.url,
                        "parent_id": parent_id,
                        "thread_id": thread_id,
                        "raw": {"thread_url": thread_url, "thread_title": title},
                    }
                )
            context = {"thread_url": thread_url, "thread_id": thread_id, "title": title}
        links = self.next_link(response, link, context if posts else {})
        return records, links + self.followed(response, link)


class NewsSpider(WebSpider):
    """Articles linked from RSS/Atom feeds: title, main text and publication date."""

    name = "news"
    start_kind = "feed"

    def parse_page(
        self, response: TextResponse, link: Link
    ) -> tuple[list[dict[str, Any]], list[Link]]:
        if link[1] == "feed":
            links: list[Link] = []
            for entry in extract.feed_links(response.body, response.url):
                url = urldefrag(response.urljoin(entry["url"]))[0]
                if self.in_scope(url):
                    context = {"title": entry["title"], "date": entry["date"]}
                    links.append([url, "article", context, link[3] + 1])
                else:
                    logger.info("feed link out of scope: %s", url, extra={"url": url})
            return [], links
        context = link[2]
        found = extract.article(response.text, response.url, self.options.rules_for(response.url))
        if not found["text"]:
            return [self.error(link[0], "no article text found")], []
        canonical = response.xpath('//link[@rel="canonical"]/@href').get()
        page_url = urldefrag(response.urljoin(canonical))[0] if canonical else response.url
        record = {
            "type": "mention",
            "kind": "article",
            "native_id": item_id("article", page_url, None, page_url),
            "text": found["text"],
            "title": found["title"] or context.get("title"),
            "author": found["author"] or host_of(page_url),
            "created_at": found["date"] or context.get("date"),
            "url": page_url,
            "raw": {"feed_title": context.get("title")},
        }
        return [record], []


SPIDERS: dict[str, type[WebSpider]] = {
    "reviews": ReviewSpider,
    "forum": ForumSpider,
    "news": NewsSpider,
}
