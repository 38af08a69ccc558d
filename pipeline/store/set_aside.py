"""Named queries for mentions set aside by a stage that failed on them (migration 0011)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.store import Cursor, one, rows, scalar

MAX_REASON = 500
# The stage a retried mention goes back to, by the stage that set it aside.
RESUME = {"score": "new", "triage": "scored"}


def hold(cur: Cursor, key: str, *, stage: str, reason: str, now: datetime) -> None:
    """Take one mention out of the queues with the reason (a second failure counts an attempt)."""
    cur.execute(
        """INSERT INTO set_aside (mention_key, stage, reason, first_at, last_at)
           VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (mention_key) DO UPDATE SET stage = excluded.stage,
               reason = excluded.reason, attempts = set_aside.attempts + 1,
               last_at = excluded.last_at, status = 'held', decided_by = NULL""",
        [key, stage, reason[:MAX_REASON], now, now],
    )
    cur.execute("UPDATE mentions SET stage = 'set_aside' WHERE key = ?", [key])


def held(cur: Cursor, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Mentions set aside and not yet retried or discarded, newest first, and their total."""
    where = "s.status = 'held' AND m.stage = 'set_aside'"
    joined = f"FROM set_aside s JOIN mentions m ON m.key = s.mention_key WHERE {where}"
    total = int(scalar(cur, f"SELECT count(*) {joined}") or 0)
    found = rows(
        cur,
        f"""SELECT s.mention_key, s.stage, s.reason, s.attempts, s.first_at, s.last_at,
                   m.platform, m.source, m.created_at, length(m.text) AS text_length
            FROM set_aside s JOIN mentions m ON m.key = s.mention_key
            WHERE {where} ORDER BY s.last_at DESC, s.mention_key LIMIT ? OFFSET ?""",  # noqa: S608 - fixed clause
        [limit, offset],
    )
    return found, total


def entry(cur: Cursor, key: str) -> dict[str, Any] | None:
    return one(cur, "SELECT * FROM set_aside WHERE mention_key = ?", [key])


def release(cur: Cursor, key: str, *, by: str) -> str:
    """Send a held mention back to the stage that failed on it; returns that stage."""
    stage = str(scalar(cur, "SELECT stage FROM set_aside WHERE mention_key = ?", [key]))
    cur.execute(
        "UPDATE set_aside SET status = 'retried', decided_by = ? WHERE mention_key = ?", [by, key]
    )
    cur.execute(
        "UPDATE mentions SET stage = ? WHERE key = ? AND stage = 'set_aside'", [RESUME[stage], key]
    )
    return stage


def discard(cur: Cursor, key: str, *, by: str) -> None:
    """Give up on a held mention: it stays stored (and counted) but is never processed again."""
    cur.execute(
        "UPDATE set_aside SET status = 'discarded', decided_by = ? WHERE mention_key = ?", [by, key]
    )
    cur.execute(
        "UPDATE mentions SET stage = 'discarded' WHERE key = ? AND stage = 'set_aside'", [key]
    )


def count_held(cur: Cursor) -> int:
    return int(
        scalar(
            cur,
            "SELECT count(*) FROM set_aside s JOIN mentions m ON m.key = s.mention_key"
            " WHERE s.status = 'held' AND m.stage = 'set_aside'",
        )
        or 0
    )
