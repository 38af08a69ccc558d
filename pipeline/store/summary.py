"""The store in a few numbers: mentions, cases by status, the outbox by state, and the work
waiting (for monitoring)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.records import FINAL_STATUSES
from pipeline.store import Cursor, cases, mentions, outbox


def counts(cur: Cursor) -> dict[str, Any]:
    """``{"mentions": N, "cases": {status: n}, "outbox": {"pending", "sent", "failed"}}``."""
    return {
        "mentions": mentions.count(cur),
        "cases": cases.counts_by_status(cur),
        "outbox": outbox.counts(cur),
    }


def backlog(cur: Cursor, now: datetime) -> dict[str, float]:
    """The work waiting, for monitoring: mentions to score and to triage, outbox messages to send
    and the age of the oldest (seconds; 0 when none), webhook deliveries to process, open cases."""
    stages = dict(cur.execute("SELECT stage, count(*) FROM mentions GROUP BY stage").fetchall())
    found = cur.execute(
        """SELECT count(*), min(created_at) FROM outbox WHERE status IN ('pending', 'sending')"""
    ).fetchone()
    waiting, oldest = (int(found[0]), found[1]) if found else (0, None)
    inbox = cur.execute("SELECT count(*) FROM webhook_inbox WHERE status = 'pending'").fetchone()
    open_cases = cur.execute(
        f"SELECT count(*) FROM cases WHERE status NOT IN ({', '.join('?' * len(FINAL_STATUSES))})",  # noqa: S608 - placeholders only
        list(FINAL_STATUSES),
    ).fetchone()
    return {
        "scoring_backlog": float(stages.get("new", 0)),
        "triage_backlog": float(stages.get("scored", 0)),
        "outbox_pending": float(waiting),
        "outbox_oldest_pending_seconds": max(0.0, (now - oldest).total_seconds())
        if oldest
        else 0.0,
        "webhooks_pending": float(inbox[0]) if inbox else 0.0,
        "open_cases": float(open_cases[0]) if open_cases else 0.0,
    }
