"""Stable native ids for crawled reviews, posts and articles, and their conversion to Mentions.

A native id must survive re-crawls, pagination shifts and edits, so it never includes the text:
the item's own id when the page shows one, else a hash of where it is and who wrote it when.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pipeline.records import Mention, utcnow

logger = logging.getLogger(__name__)

PLATFORM = "web"


def _digest(*parts: str) -> str:
    data = "\x00".join(part.strip().lower() for part in parts)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:20]


def host_of(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def item_id(kind: str, url: str, own_id: str | None, *basis: str | None) -> str:
    """``host:kind:own-id`` when the site gives one, else ``host:kind:hash(basis)``."""
    host = host_of(url)
    if own_id:
        return f"{host}:{kind}:{own_id.strip()}"
    return f"{host}:{kind}:h{_digest(*(part or '' for part in basis))}"


def to_mention(record: dict[str, Any], source: str, seen_at: datetime | None = None) -> Mention:
    """A Mention from one ``{"type": "mention", ...}`` line of the crawl's output."""
    created = record.get("created_at")
    created_at = datetime.fromisoformat(created) if created else (seen_at or utcnow())
    raw = dict(record.get("raw") or {})
    if not created:
        raw["date_missing"] = True
    return Mention(
        platform=PLATFORM,
        native_id=str(record["native_id"]),
        text=str(record.get("text") or ""),
        author=str(record.get("author") or "") or "anonymous",
        created_at=created_at,
        url=record.get("url"),
        title=record.get("title") or None,
        rating=record.get("rating"),
        parent_id=record.get("parent_id"),
        thread_id=record.get("thread_id"),
        kind=str(record.get("kind") or "post"),
        source=source,
        raw=raw,
    )
