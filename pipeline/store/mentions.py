"""Named queries on mentions, authors and source cursors."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from pipeline.records import MAX_RAW_CHARS, Mention, make_key
from pipeline.store import Cursor, one, rollups, rows
from pipeline.store.scores import SCORED

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


def _raw_json(raw: Mapping[str, Any]) -> str:
    """The platform's payload as stored: as JSON, or only its size when it is over the cap."""
    text = json.dumps(raw, ensure_ascii=False, default=str)
    if len(text) <= MAX_RAW_CHARS:
        return text
    return json.dumps({"omitted": f"the payload was {len(text):,} characters"})


def existing_hashes(cur: Cursor, keys: Sequence[str]) -> dict[str, str]:
    if not keys:
        return {}
    found = cur.execute(
        "SELECT key, content_hash FROM mentions WHERE key IN (SELECT unnest(?))", [list(keys)]
    ).fetchall()
    return dict(found)


def erased_keys(cur: Cursor, keys: Sequence[str]) -> set[str]:
    """Those of ``keys`` whose mention was erased (pipeline/store/privacy.py): never written
    again, whatever a re-poll brings."""
    if not keys:
        return set()
    found = cur.execute(
        "SELECT key FROM mentions WHERE key IN (SELECT unnest(?)) AND erased_at IS NOT NULL",
        [list(keys)],
    ).fetchall()
    return {str(k) for (k,) in found}


def update_edited(cur: Cursor, mention: Mention, now: datetime) -> None:
    """An edited mention: new text, scored again (an erased one stays erased)."""
    cur.execute(
        """UPDATE mentions SET text = ?, title = ?, rating = ?, content_hash = ?, raw = ?,
               updated_at = ?, edits = edits + 1, stage = 'new', likes = ?, replies = ?, shares = ?,
               search_seq = nextval('mention_search_seq')
           WHERE key = ? AND erased_at IS NULL""",
        [
            mention.text, mention.title, mention.rating, mention.content_hash,
            _raw_json(mention.raw), now, mention.likes, mention.replies, mention.shares,
            mention.key,
        ],
    )  # fmt: skip


def get_cursor(cur: Cursor, source: str) -> dict[str, Any] | None:
    row = one(cur, "SELECT cursor FROM source_state WHERE source = ?", [source])
    if row is None or row["cursor"] is None:
        return None
    value = json.loads(row["cursor"])
    return value if isinstance(value, dict) else None


def ensure_source_state(cur: Cursor, source: str, platform: str) -> None:
    cur.execute(
        "INSERT INTO source_state (source, platform) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [source, platform],
    )


def save_cursor(
    cur: Cursor,
    source: str,
    platform: str,
    cursor: Mapping[str, Any] | None,
    rate_limit: Mapping[str, Any] | None,
    items: int,
) -> None:
    ensure_source_state(cur, source, platform)
    if cursor is not None:
        cur.execute(
            "UPDATE source_state SET cursor = ? WHERE source = ?",
            [json.dumps(cursor, default=str), source],
        )
    if rate_limit is not None:
        cur.execute(
            "UPDATE source_state SET rate_limit = ? WHERE source = ?",
            [json.dumps(rate_limit, default=str), source],
        )
    cur.execute(
        "UPDATE source_state SET items_total = items_total + ? WHERE source = ?", [items, source]
    )


def record_run(
    cur: Cursor,
    source: str,
    platform: str,
    *,
    at: datetime,
    items: int,
    error: str | None,
    next_run_at: datetime | None,
) -> None:
    ensure_source_state(cur, source, platform)
    if error is None:
        cur.execute(
            """UPDATE source_state SET last_run_at = ?, last_success_at = ?, items_last = ?,
                   consecutive_failures = 0, next_run_at = ? WHERE source = ?""",
            [at, at, items, next_run_at, source],
        )
    else:
        cur.execute(
            """UPDATE source_state SET last_run_at = ?, last_error = ?, last_error_at = ?,
                   items_last = ?, consecutive_failures = consecutive_failures + 1,
                   next_run_at = ? WHERE source = ?""",
            [at, error, at, items, next_run_at, source],
        )


def source_states(cur: Cursor) -> list[dict[str, Any]]:
    return rows(cur, "SELECT * FROM source_state ORDER BY source")


def count(cur: Cursor) -> int:
    value = cur.execute("SELECT count(*) FROM mentions").fetchone()
    return int(value[0]) if value else 0


def write_page(
    cur: Cursor,
    mentions: Sequence[Mention],
    *,
    new_keys: Sequence[str],
    edited: Sequence[Mention],
    now: datetime,
) -> None:
    """Write a page in a few set-based statements: new mentions, edits (sent back to scoring),
    engagement counts, and the authors seen. Erased mentions are left out: a re-poll neither
    brings back their words nor their author."""
    erased = erased_keys(cur, [m.key for m in mentions])
    if erased:
        mentions = [m for m in mentions if m.key not in erased]
        new_keys = [k for k in new_keys if k not in erased]
        edited = [m for m in edited if m.key not in erased]
    if not mentions:
        return
    batch = pa.Table.from_pylist([_row(m) for m in mentions], schema=_SCHEMA)
    cur.register("page_batch", batch)
    try:
        if new_keys:
            cur.execute(
                """INSERT INTO mentions (key, platform, native_id, source, kind, text, title,
                       url, lang_hint, author_key, author, created_at, fetched_at,
                       updated_at, parent_key, thread_key, rating, likes, replies, shares,
                       author_followers, content_hash, raw)
                   SELECT key, platform, native_id, source, kind, text, title, url,
                       lang_hint, author_key, author, created_at, ?, ?, parent_key,
                       thread_key, rating, likes, replies, shares, author_followers,
                       content_hash, raw
                   FROM page_batch WHERE key IN (SELECT unnest(?))""",
                [now, now, list(new_keys)],
            )
        for mention in edited:
            update_edited(cur, mention, now)
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
        hours = cur.execute("SELECT DISTINCT date_trunc('hour', created_at) FROM page_batch")
        rollups.recount(cur, [hour for (hour,) in hours.fetchall()])
    finally:
        cur.unregister("page_batch")


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
        "raw": _raw_json(mention.raw),
    }


@dataclass(frozen=True, slots=True)
class ScoredMention:
    """A scored mention waiting for triage, with its current score."""

    key: str
    platform: str
    kind: str
    brand: str | None
    text: str
    lang: str | None
    author: str
    author_key: str
    author_followers: int | None
    created_at: datetime
    sentiment: str
    p_positive: float
    p_negative: float
    complaint: float
    intent: str
    urgency_score: float
    urgency_level: int
    urgency_reasons: tuple[str, ...]

    @property
    def net_sentiment(self) -> float:
        return float(self.p_positive or 0) - float(self.p_negative or 0)


def awaiting_triage(cur: Cursor, limit: int) -> list[ScoredMention]:
    """The oldest scored mentions not triaged yet, each once with its current score."""
    found = rows(
        cur,
        f"""SELECT m.key, m.platform, m.kind, m.brand, m.text, m.lang, m.author, m.author_key,
               m.author_followers, m.created_at, s.sentiment, s.p_positive, s.p_negative,
               s.complaint, s.intent, s.urgency_score, s.urgency_level, s.urgency_reasons
           FROM mentions m {SCORED}
           WHERE m.stage = 'scored' ORDER BY m.created_at, m.key LIMIT ?""",  # noqa: S608 - fixed join fragment
        [limit],
    )
    return [
        ScoredMention(**{**r, "urgency_reasons": tuple(r["urgency_reasons"] or ())}) for r in found
    ]


def mark_triaged(cur: Cursor, keys: Sequence[str]) -> None:
    cur.execute(
        "UPDATE mentions SET stage = 'triaged' WHERE key IN (SELECT unnest(?))", [list(keys)]
    )


def next_run_at(cur: Cursor, source: str) -> datetime | None:
    """When a source is due to be polled again (None: now)."""
    found = cur.execute(
        "SELECT next_run_at FROM source_state WHERE source = ?", [source]
    ).fetchone()
    return None if found is None else found[0]
