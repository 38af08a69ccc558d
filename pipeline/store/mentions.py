"""Named queries on mentions, authors and source cursors."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pipeline.records import Mention, make_key
from pipeline.store import Cursor, one, rows


def _raw_json(raw: Mapping[str, Any]) -> str:
    return json.dumps(raw, ensure_ascii=False, default=str)


def existing_hashes(cur: Cursor, keys: Sequence[str]) -> dict[str, str]:
    if not keys:
        return {}
    found = cur.execute(
        "SELECT key, content_hash FROM mentions WHERE key IN (SELECT unnest(?))", [list(keys)]
    ).fetchall()
    return dict(found)


def insert_mention(cur: Cursor, mention: Mention, now: datetime) -> None:
    parent = make_key(mention.platform, mention.parent_id) if mention.parent_id else None
    thread = make_key(mention.platform, mention.thread_id) if mention.thread_id else None
    cur.execute(
        """INSERT INTO mentions (key, platform, native_id, source, kind, text, title, url,
               lang_hint, author_key, author, created_at, fetched_at, updated_at, parent_key,
               thread_key, rating, likes, replies, shares, author_followers, content_hash, raw)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            mention.key, mention.platform, mention.native_id, mention.source, mention.kind,
            mention.text, mention.title, mention.url, mention.lang, mention.author_key,
            mention.author, mention.created_at, now, now, parent, thread, mention.rating,
            mention.likes, mention.replies, mention.shares, mention.author_followers,
            mention.content_hash, _raw_json(mention.raw),
        ],
    )  # fmt: skip


def update_edited(cur: Cursor, mention: Mention, now: datetime) -> None:
    """An edited mention: new text, scored again."""
    cur.execute(
        """UPDATE mentions SET text = ?, title = ?, rating = ?, content_hash = ?, raw = ?,
               updated_at = ?, edits = edits + 1, stage = 'new', likes = ?, replies = ?, shares = ?
           WHERE key = ?""",
        [
            mention.text, mention.title, mention.rating, mention.content_hash,
            _raw_json(mention.raw), now, mention.likes, mention.replies, mention.shares,
            mention.key,
        ],
    )  # fmt: skip


def update_engagement(cur: Cursor, mention: Mention) -> None:
    cur.execute(
        "UPDATE mentions SET likes = ?, replies = ?, shares = ? WHERE key = ?",
        [mention.likes, mention.replies, mention.shares, mention.key],
    )


def upsert_author(cur: Cursor, mention: Mention, now: datetime) -> None:
    cur.execute(
        """INSERT INTO authors (key, platform, handle, native_id, name, followers, first_seen,
               last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET
               name = coalesce(excluded.name, authors.name),
               followers = coalesce(excluded.followers, authors.followers),
               last_seen = greatest(authors.last_seen, excluded.last_seen)""",
        [
            mention.author_key, mention.platform, mention.author, mention.author_id,
            mention.author_name, mention.author_followers, mention.created_at,
            mention.created_at,
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
