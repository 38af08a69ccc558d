"""Named queries on the outbox: reply intents written first, sent once, recorded after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.records import OutboundMessage
from pipeline.store import Cursor, one, rows, scalar


def enqueue(
    cur: Cursor, message: OutboundMessage, *, source: str | None, lang: str | None, now: datetime
) -> int:
    existing = one(
        cur, "SELECT id FROM outbox WHERE idempotency_key = ?", [message.idempotency_key]
    )
    if existing is not None:
        return int(existing["id"])
    row = cur.execute(
        """INSERT INTO outbox (idempotency_key, case_id, kind, platform, source, in_reply_to,
               recipient, private_channel, text, lang, next_attempt_at, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
        [
            message.idempotency_key,
            message.case_id,
            message.kind,
            message.platform,
            source,
            message.in_reply_to,
            message.recipient,
            message.private_channel,
            message.text,
            lang,
            now,
            now,
        ],
    ).fetchone()
    assert row is not None
    return int(row[0])


def count_for_case(cur: Cursor, case_id: str, kind: str) -> int:
    return int(
        scalar(cur, "SELECT count(*) FROM outbox WHERE case_id = ? AND kind = ?", [case_id, kind])
    )


def used_route(cur: Cursor, case_id: str, private_channel: str) -> bool:
    """Whether a message of this case went (or is going) by ``private_channel``: a Facebook or
    Instagram comment's one private reply counts as used once queued, unless it failed."""
    found = scalar(
        cur,
        "SELECT count(*) FROM outbox WHERE case_id = ? AND private_channel = ?"
        " AND status <> 'failed'",
        [case_id, private_channel],
    )
    return bool(found)


def due(cur: Cursor, now: datetime, limit: int = 50) -> list[dict[str, Any]]:
    return rows(
        cur,
        """SELECT * FROM outbox WHERE status IN ('pending', 'sending') AND next_attempt_at <= ?
           ORDER BY id LIMIT ?""",
        [now, limit],
    )


def mark_sending(cur: Cursor, outbox_id: int) -> None:
    cur.execute(
        "UPDATE outbox SET status = 'sending', attempts = attempts + 1 WHERE id = ?", [outbox_id]
    )


def mark_sent(
    cur: Cursor, outbox_id: int, platform_id: str, url: str | None, sent_at: datetime
) -> None:
    cur.execute(
        """UPDATE outbox SET status = 'sent', platform_id = ?, url = ?, sent_at = ?,
               last_error = NULL WHERE id = ?""",
        [platform_id, url, sent_at, outbox_id],
    )
    cur.execute("UPDATE messages SET native_id = ? WHERE outbox_id = ?", [platform_id, outbox_id])


def mark_retry(cur: Cursor, outbox_id: int, error: str, next_attempt_at: datetime) -> None:
    cur.execute(
        "UPDATE outbox SET status = 'pending', last_error = ?, next_attempt_at = ? WHERE id = ?",
        [error, next_attempt_at, outbox_id],
    )


def mark_failed(cur: Cursor, outbox_id: int, error: str) -> None:
    cur.execute(
        "UPDATE outbox SET status = 'failed', last_error = ? WHERE id = ?", [error, outbox_id]
    )


def counts(cur: Cursor) -> dict[str, int]:
    found = dict(cur.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
    pending = int(found.get("pending", 0)) + int(found.get("sending", 0))
    return {
        "pending": pending,
        "sent": int(found.get("sent", 0)),
        "failed": int(found.get("failed", 0)),
    }
