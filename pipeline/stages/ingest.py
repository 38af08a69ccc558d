"""Ingest: idempotent upsert of a page of mentions, committed together with its cursor.

A page is written in a handful of set-based statements (the page goes in as an Arrow table), so
importing or replaying thousands of mentions costs milliseconds per page, not per row.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import pyarrow as pa

from pipeline.records import Mention, Page, make_key, utcnow
from pipeline.store import Store
from pipeline.store import mentions as q

logger = logging.getLogger(__name__)

_SCHEMA = pa.schema(
    [
        ("key", pa.string()), ("platform", pa.string()), ("native_id", pa.string()),
        ("source", pa.string()), ("kind", pa.string()), ("text", pa.string()),
        ("title", pa.string()), ("url", pa.string()), ("lang_hint", pa.string()),
        ("author_key", pa.string()), ("author", pa.string()), ("author_id", pa.string()),
        ("author_name", pa.string()), ("created_at", pa.timestamp("us", tz="UTC")),
        ("parent_key", pa.string()), ("thread_key", pa.string()), ("rating", pa.float64()),
        ("likes", pa.int64()), ("replies", pa.int64()), ("shares", pa.int64()),
        ("author_followers", pa.int64()), ("content_hash", pa.string()), ("raw", pa.string()),
    ]
)  # fmt: skip


@dataclass
class IngestResult:
    new: int = 0
    edited: int = 0
    unchanged: int = 0

    def __iadd__(self, other: IngestResult) -> IngestResult:
        self.new += other.new
        self.edited += other.edited
        self.unchanged += other.unchanged
        return self

    @property
    def stored(self) -> int:
        return self.new + self.edited


def _row(mention: Mention) -> dict[str, object]:
    return {
        "key": mention.key,
        "platform": mention.platform,
        "native_id": mention.native_id,
        "source": mention.source,
        "kind": mention.kind,
        "text": mention.text,
        "title": mention.title,
        "url": mention.url,
        "lang_hint": mention.lang,
        "author_key": mention.author_key,
        "author": mention.author,
        "author_id": mention.author_id,
        "author_name": mention.author_name,
        "created_at": mention.created_at,
        "parent_key": make_key(mention.platform, mention.parent_id) if mention.parent_id else None,
        "thread_key": make_key(mention.platform, mention.thread_id) if mention.thread_id else None,
        "rating": mention.rating,
        "likes": mention.likes,
        "replies": mention.replies,
        "shares": mention.shares,
        "author_followers": mention.author_followers,
        "content_hash": mention.content_hash,
        "raw": json.dumps(mention.raw, ensure_ascii=False, default=str),
    }


def store_page(store: Store, source: str, platform: str, page: Page) -> IngestResult:
    """Write one page's mentions and its cursor in one transaction; duplicates cost nothing."""
    result = IngestResult()
    now = utcnow()
    # Last occurrence wins inside a page, so a page repeating a key stores it once.
    unique = {m.key: (m if m.source else m.with_source(source)) for m in page.mentions}
    with store.transaction() as cur:
        if unique:
            known = q.existing_hashes(cur, list(unique))
            new = [m for k, m in unique.items() if k not in known]
            edited = [m for k, m in unique.items() if k in known and known[k] != m.content_hash]
            result.new, result.edited = len(new), len(edited)
            result.unchanged = len(unique) - result.new - result.edited
            batch = pa.Table.from_pylist([_row(m) for m in unique.values()], schema=_SCHEMA)
            cur.register("page_batch", batch)
            try:
                if new:
                    cur.execute(
                        """INSERT INTO mentions (key, platform, native_id, source, kind, text,
                               title,
                               url, lang_hint, author_key, author, created_at, fetched_at,
                               updated_at, parent_key, thread_key, rating, likes, replies, shares,
                               author_followers, content_hash, raw)
                           SELECT key, platform, native_id, source, kind, text, title, url,
                               lang_hint, author_key, author, created_at, ?, ?, parent_key,
                               thread_key, rating, likes, replies, shares, author_followers,
                               content_hash, raw
                           FROM page_batch WHERE key IN (SELECT unnest(?))""",
                        [now, now, [m.key for m in new]],
                    )
                for mention in edited:
                    q.update_edited(cur, mention, now)
                cur.execute(
                    """UPDATE mentions SET likes = b.likes, replies = b.replies, shares = b.shares
                       FROM page_batch b WHERE mentions.key = b.key
                       AND (mentions.likes <> b.likes OR mentions.replies <> b.replies
                            OR mentions.shares <> b.shares)"""
                )
                cur.execute(
                    """INSERT INTO authors (key, platform, handle, native_id, name, followers,
                           first_seen, last_seen)
                       SELECT author_key, any_value(platform), any_value(author),
                           any_value(author_id), any_value(author_name), max(author_followers),
                           min(created_at), max(created_at)
                       FROM page_batch GROUP BY author_key
                       ON CONFLICT (key) DO UPDATE SET
                           name = coalesce(excluded.name, authors.name),
                           followers = coalesce(excluded.followers, authors.followers),
                           last_seen = greatest(authors.last_seen, excluded.last_seen)"""
                )
            finally:
                cur.unregister("page_batch")
        q.save_cursor(cur, source, platform, page.cursor, page.rate_limit, result.stored)
    logger.debug(
        "stored page", extra={"source": source, "new": result.new, "edited": result.edited}
    )
    return result
