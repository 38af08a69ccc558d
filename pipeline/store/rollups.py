"""Hourly counts of mentions (``mention_hours``): recounted for the hours each write touches, in
the write's transaction, so the overview reads thousands of cells instead of millions of rows and
stays exactly equal to counting the mentions themselves."""

from __future__ import annotations

from datetime import datetime

from pipeline.store import Cursor

_COUNT = """
    INSERT INTO mention_hours
    SELECT date_trunc('hour', m.created_at), m.platform, coalesce(m.brand, ''),
           coalesce(m.lang, m.lang_hint, ''), coalesce(s.sentiment, ''),
           coalesce(s.urgency_level, -1), count(*)
    FROM mentions m LEFT JOIN current_scores s ON s.mention_key = m.key"""


def recount(cur: Cursor, hours: list[datetime]) -> None:
    """Count the given hours again from the mentions and their current scores."""
    if not hours:
        return
    cur.execute("DELETE FROM mention_hours WHERE hour IN (SELECT unnest(?))", [hours])
    cur.execute(
        _COUNT
        + """ WHERE m.created_at >= ? AND m.created_at < ? + INTERVAL 1 HOUR
              AND date_trunc('hour', m.created_at) IN (SELECT unnest(?))
              GROUP BY ALL""",
        [min(hours), max(hours), hours],
    )


def recount_all(cur: Cursor) -> None:
    """Count every hour again (after a bulk change made outside the store's writers)."""
    cur.execute("DELETE FROM mention_hours")
    cur.execute(_COUNT + " GROUP BY ALL ORDER BY 1")
