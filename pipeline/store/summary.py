"""The store in three numbers: mentions, cases by status, and the outbox by state."""

from __future__ import annotations

from typing import Any

from pipeline.store import Cursor, cases, mentions, outbox


def counts(cur: Cursor) -> dict[str, Any]:
    """``{"mentions": N, "cases": {status: n}, "outbox": {"pending", "sent", "failed"}}``."""
    return {
        "mentions": mentions.count(cur),
        "cases": cases.counts_by_status(cur),
        "outbox": outbox.counts(cur),
    }
