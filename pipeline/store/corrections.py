"""Named queries for label corrections: what people said a mention's score should have been."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.store import Cursor, rows


def add(
    cur: Cursor,
    mention_key: str,
    *,
    field: str,
    old_value: str | None,
    new_value: str,
    actor: str,
    at: datetime,
) -> None:
    """Record one correction of ``field`` on a mention."""
    cur.execute(
        """INSERT INTO corrections (mention_key, field, old_value, new_value, actor, created_at)
           VALUES (?, ?, ?, ?, ?, ?)""",
        [mention_key, field, old_value, new_value, actor, at],
    )


def for_mention(cur: Cursor, mention_key: str) -> list[dict[str, Any]]:
    """Every correction of one mention, oldest first."""
    return rows(cur, "SELECT * FROM corrections WHERE mention_key = ? ORDER BY id", [mention_key])


def for_training(cur: Cursor) -> list[dict[str, Any]]:
    """Every correction with its mention's text and language, oldest first."""
    return rows(
        cur,
        """SELECT c.mention_key, c.field, c.new_value, m.text,
               coalesce(m.lang, m.lang_hint) AS lang
           FROM corrections c JOIN mentions m ON m.key = c.mention_key ORDER BY c.id""",
    )
