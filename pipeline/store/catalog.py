"""Named queries for what the API shows around mentions: the values seen, a thread, an author."""

from __future__ import annotations

from typing import Any

from pipeline.store import Cursor, cases, rows


def platforms(cur: Cursor) -> list[str]:
    """The platforms mentions have come from, sorted (read from the hourly counts)."""
    found = cur.execute("SELECT DISTINCT platform FROM mention_hours ORDER BY 1")
    return [r[0] for r in found.fetchall()]


def languages(cur: Cursor) -> list[str]:
    """The languages of mentions (detected, else given by the source), sorted."""
    found = cur.execute("SELECT DISTINCT lang FROM mention_hours WHERE lang <> '' ORDER BY 1")
    return [r[0] for r in found.fetchall()]


def thread(cur: Cursor, thread_key: str) -> list[dict[str, Any]]:
    """The mentions of one thread (its first post and the replies), oldest first."""
    return rows(
        cur,
        "SELECT key, author, text, created_at FROM mentions WHERE key = ANY(?) ORDER BY created_at",
        [cases.thread_keys(cur, thread_key)],
    )


def author_profile(cur: Cursor, author_key: str) -> list[dict[str, Any]]:
    """The author's stored profile: one row, or none when the author is unknown."""
    return rows(cur, "SELECT * FROM authors WHERE key = ?", [author_key])
