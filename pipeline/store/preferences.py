"""Named queries for each person's saved preferences (migration 0013): one JSON object per name."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pipeline.store import Cursor, one, scalar


def get(cur: Cursor, user_name: str, name: str) -> dict[str, Any] | None:
    """``{"name", "value", "updated_at"}`` of one person's preference, or None if never saved."""
    found = one(
        cur,
        "SELECT name, value, updated_at FROM preferences WHERE user_name = ? AND name = ?",
        [user_name, name],
    )
    if found is None:
        return None
    return {**found, "value": json.loads(found["value"])}


def put(cur: Cursor, user_name: str, name: str, value: dict[str, Any], *, now: datetime) -> None:
    """Save (or replace) one person's preference ``name``."""
    cur.execute(
        """INSERT INTO preferences (user_name, name, value, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (user_name, name) DO UPDATE SET value = excluded.value,
               updated_at = excluded.updated_at""",
        [user_name, name, json.dumps(value, ensure_ascii=False), now],
    )


def count(cur: Cursor, user_name: str) -> int:
    """How many preferences this person has saved."""
    return int(scalar(cur, "SELECT count(*) FROM preferences WHERE user_name = ?", [user_name]))
