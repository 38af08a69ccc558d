"""Pure extraction from HTML: schema.org reviews, rule-based items, forum posts and news articles.

No Scrapy here (parsel, extruct and feedparser only), so every function is testable on a string.
Extracted records are plain dicts with string values, ready to be written as JSON lines.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from parsel import Selector

from crawlers.web.options import SiteRules

logger = logging.getLogger(__name__)

_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_BODY_PARAGRAPHS = (
    "//body//p[not(ancestor::nav or ancestor::footer or ancestor::aside or ancestor::header)]"
)
_CONTAINER_TYPES = {"Review", "Rating", "AggregateRating", "Person", "Organization"}


def clean(text: str | None) -> str:
    """Collapse whitespace; None becomes ""."""
    return _SPACE.sub(" ", text or "").strip()


def parse_date(value: str | None, date_format: str | None = None) -> str | None:
    """An ISO 8601 UTC string from ISO, RFC 2822 or ``date_format`` dates; None if unparseable."""
    text = clean(value)
    if not text:
        return None
    parsed: datetime | None = None
    if date_format:
        try:
            parsed = datetime.strptime(text, date_format)  # noqa: DTZ007 - made UTC below
        except ValueError:
            parsed = None
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                parsed = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat()


def parse_rating(value: Any, best: Any = None, scale: float = 5.0) -> float | None:
    """A rating on a 0-5 scale from "4", "4,5", "4/5" or a number; None if absent."""
    match = _NUMBER.search(str(value)) if value is not None else None
    if match is None:
        return None
    rating = float(match.group().replace(",", "."))
    best_match = _NUMBER.search(str(best)) if best is not None else None
    top = float(best_match.group().replace(",", ".")) if best_match else scale
    if top <= 0:
        return None
    return round(rating * 5.0 / top, 3)


def _name(value: Any) -> str:
    if isinstance(value, dict):
        return clean(str(value.get("name") or value.get("@id") or ""))
    if isinstance(value, list):
        return ", ".join(filter(None, (_name(item) for item in value)))
    return clean(str(value)) if value is not None else ""


def _types(node: dict[str, Any]) -> set[str]:
    raw = node.get("@type") or []
    names = raw if isinstance(raw, list) else [raw]
    return {str(name).rsplit("/", 1)[-1] for name in names}


def _json_ld(selector: Selector, url: str) -> list[Any]:
    """Each JSON-LD block parsed on its own, so one broken block does not hide the others."""
    blocks: list[Any] = []
    for script in selector.xpath('//script[@type="application/ld+json"]/text()').getall():
        try:
            blocks.append(json.loads(script, strict=False))
        except ValueError as exc:
            logger.warning("broken JSON-LD block skipped on %s: %s", url, exc, extra={"url": url})
    return blocks


def _microdata(html: str, url: str) -> list[Any]:
    if "itemscope" not in html:
        return []
    import extruct  # local: it pulls in rdflib, slow to import, and most pages need none

    try:
        data = extruct.extract(
            html, base_url=url, syntaxes=["microdata"], uniform=True, errors="ignore"
        )
    except Exception as exc:  # extruct raises whatever lxml or its parsers raise
        logger.warning("microdata unreadable on %s: %s", url, exc, extra={"url": url})
        return []
    items: list[Any] = data.get("microdata", [])
    return items


def _walk(node: Any, about: dict[str, Any] | None) -> Iterator[tuple[dict[str, Any], Any]]:
    """Yield (node, enclosing reviewed thing) for every dict in a JSON-LD/microdata tree."""
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, about)
    elif isinstance(node, dict):
        yield node, about
        types = _types(node)
        inner = node if node.get("name") and not types & _CONTAINER_TYPES else about
        for key, value in node.items():
            if key not in ("author", "publisher", "reviewRating"):
                yield from _walk(value, inner)


def structured_reviews(html: str, url: str) -> list[dict[str, Any]]:
    """schema.org ``Review`` nodes (JSON-LD and microdata) with their ``AggregateRating``."""
    selector = Selector(text=html)
    reviews: list[dict[str, Any]] = []
    aggregate: dict[str, Any] | None = None
    for syntax, tree in (
        ("json-ld", _json_ld(selector, url)),
        ("microdata", _microdata(html, url)),
    ):
        for node, about in _walk(tree, None):
            types = _types(node)
            if "AggregateRating" in types and aggregate is None:
                aggregate = {
                    "rating": parse_rating(node.get("ratingValue"), node.get("bestRating")),
                    "count": node.get("reviewCount") or node.get("ratingCount"),
                    "about": _name(about) or None,
                }
            if "Review" not in types:
                continue
            reviewed = node.get("itemReviewed") or about or {}
            rating = node.get("reviewRating") or {}
            if not isinstance(rating, dict):
                rating = {"ratingValue": rating}
            reviews.append(
                {
                    "syntax": syntax,
                    "id": clean(str(node.get("@id") or node.get("identifier") or "")) or None,
                    "author": _name(node.get("author")),
                    "rating": parse_rating(rating.get("ratingValue"), rating.get("bestRating")),
                    "body": clean(str(node.get("reviewBody") or node.get("description") or "")),
                    "title": clean(str(node.get("name") or node.get("headline") or "")) or None,
                    "date": parse_date(
                        str(node.get("datePublished") or node.get("dateCreated") or "")
                    ),
                    "about": _name(reviewed) or None,
                }
            )
    for review in reviews:
        review["aggregate"] = aggregate
    return reviews


def select_text(scope: Selector, expression: str | None) -> str:
    """Text of the first match of a CSS or XPath expression (elements give their whole text)."""
    if not expression:
        return ""
    is_xpath = expression.startswith(("/", "./", "(", "@"))
    found = scope.xpath(expression) if is_xpath else scope.css(expression)
    if not found:
        return ""
    first = found[0]
    if isinstance(first.root, str):
        return clean(first.root)
    return clean(" ".join(first.xpath(".//text()").getall()))


def select_all(scope: Selector, expression: str) -> list[Selector]:
    is_xpath = expression.startswith(("/", "./", "(", "@"))
    return list(scope.xpath(expression) if is_xpath else scope.css(expression))


def rule_items(html: str, url: str, rules: SiteRules) -> list[dict[str, Any]]:
    """Reviews or posts found by the site's selectors; items without a body are skipped."""
    page = Selector(text=html)
    about = select_text(page, rules.reviewed) or None
    items: list[dict[str, Any]] = []
    for position, scope in enumerate(select_all(page, rules.item or "")):
        body = select_text(scope, rules.body)
        if not body:
            logger.info("item %d on %s has no body; skipped", position, url, extra={"url": url})
            continue
        items.append(
            {
                "syntax": "rules",
                "id": select_text(scope, rules.id) or None,
                "author": select_text(scope, rules.author),
                "rating": parse_rating(
                    select_text(scope, rules.rating) or None, None, rules.best_rating
                ),
                "body": body,
                "title": None,
                "date": parse_date(select_text(scope, rules.date), rules.date_format),
                "about": about,
                "parent": select_text(scope, rules.parent) or None,
            }
        )
    return items


def next_page(html: str, rules: SiteRules | None) -> str | None:
    """The next page's (relative) link: the site rule, else ``rel=next``."""
    page = Selector(text=html)
    if rules is not None and rules.next_page:
        found = select_all(page, rules.next_page)
        if found:
            first = found[0]
            if isinstance(first.root, str):
                return clean(first.root) or None
            return first.attrib.get("href")
    href = page.xpath('//link[@rel="next"]/@href | //a[@rel="next"]/@href').get()
    return href.strip() if href else None


def page_title(html: str, rules: SiteRules | None) -> str:
    page = Selector(text=html)
    if rules is not None and rules.title:
        title = select_text(page, rules.title)
        if title:
            return title
    return (
        clean(page.xpath('//meta[@property="og:title"]/@content').get())
        or select_text(page, "//h1")
        or select_text(page, "//title")
    )


def article(html: str, url: str, rules: SiteRules | None) -> dict[str, Any]:
    """Title, main text and publication date of a news page."""
    page = Selector(text=html)
    data: dict[str, Any] = {}
    for block in _json_ld(page, url):
        for node, _ in _walk(block, None):
            if _types(node) & {"NewsArticle", "Article", "BlogPosting", "ReportageNewsArticle"}:
                data = node
                break
    text = ""
    if rules is not None and rules.body:
        text = " ".join(clean(select_text(node, ".")) for node in select_all(page, rules.body))
    if not text and data.get("articleBody"):
        text = clean(str(data["articleBody"]))
    if not text:
        paragraphs = page.xpath("//article//p") or page.xpath(_BODY_PARAGRAPHS)
        text = clean(" ".join(clean(" ".join(p.xpath(".//text()").getall())) for p in paragraphs))
    raw_date = (
        (select_text(page, rules.date) if rules is not None and rules.date else "")
        or str(data.get("datePublished") or "")
        or (page.xpath('//meta[@property="article:published_time"]/@content').get() or "")
        or (page.xpath("//time/@datetime").get() or "")
    )
    return {
        "title": clean(str(data.get("headline") or "")) or page_title(html, rules),
        "text": text,
        "date": parse_date(raw_date, rules.date_format if rules is not None else None),
        "author": _name(data.get("author")) or select_text(page, '//meta[@name="author"]/@content'),
    }


def feed_links(body: bytes, url: str) -> list[dict[str, Any]]:
    """Article links of an RSS/Atom feed, with the entry's title and date as fallbacks."""
    import feedparser  # local: only the news spider needs it

    parsed = feedparser.parse(body)
    if parsed.bozo and not parsed.entries:
        logger.warning(
            "feed %s unreadable: %s", url, parsed.get("bozo_exception"), extra={"url": url}
        )
    links: list[dict[str, Any]] = []
    for entry in parsed.entries:
        link = entry.get("link")
        if not link:
            continue
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        date = datetime(*stamp[:6], tzinfo=UTC).isoformat() if stamp else None  # type: ignore[misc]
        links.append({"url": link, "title": clean(entry.get("title")), "date": date})
    return links
