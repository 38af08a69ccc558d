"""Named queries for alerts: what the watcher looks at, the alerts it records, and the
deliveries it holds through quiet hours until they are due."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.store import Cursor, rollups, rows, scalar

# An alert row counts as "alerted" for the cooldown unless its delivery failed or was dropped.
_ALERTED = ("sent", "deferred", "recorded")


@dataclass(frozen=True, slots=True)
class UrgentCase:
    """An urgent case that has no alert yet."""

    id: str
    urgency_level: int
    urgency_reasons: list[str]
    mention_key: str
    team: str | None
    brand: str | None


@dataclass(frozen=True, slots=True)
class Excerpt:
    """A mention as an alert quotes it."""

    platform: str
    author: str
    text: str
    url: str | None


@dataclass(frozen=True, slots=True)
class VipMention:
    """A triaged mention by a listed or high-reach author, with its case if it has one."""

    key: str
    platform: str
    author: str
    author_followers: int | None
    text: str
    url: str | None
    brand: str | None
    case_id: str | None


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A held delivery whose time has come, with the alert it carries (as its JSON payload)."""

    id: int
    alert_id: int
    subscription: str
    attempts: int
    payload: str


def last_sent(cur: Cursor, dedupe_key: str) -> datetime | None:
    """When an incident with this de-duplication key was last alerted (sent, held or recorded)."""
    found: datetime | None = scalar(
        cur,
        "SELECT max(created_at) FROM alerts WHERE dedupe_key = ? AND status IN (?, ?, ?)",
        [dedupe_key, *_ALERTED],
    )
    return found


def urgent_cases_not_alerted(
    cur: Cursor,
    *,
    min_level: int,
    since: datetime,
    retry_before: datetime | None = None,
    max_attempts: int = 1,
) -> list[UrgentCase]:
    """Cases opened after ``since`` with urgency at least ``min_level`` and no alert yet, or
    whose alerts all failed, the last before ``retry_before``, fewer than ``max_attempts``."""
    found = rows(
        cur,
        """SELECT c.id, c.urgency_level, c.urgency_reasons, c.mention_key, c.team, c.brand
           FROM cases c WHERE c.urgency_level >= ? AND c.opened_at > ?
           AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.dedupe_key = 'urgent_case:' || c.id
                           AND (a.status <> 'failed' OR ? IS NULL OR a.created_at >= ?))
           AND (SELECT count(*) FROM alerts a WHERE a.dedupe_key = 'urgent_case:' || c.id) < ?
           ORDER BY c.opened_at, c.id""",
        [min_level, since, retry_before, retry_before, max_attempts],
    )
    return [
        UrgentCase(**{**row, "urgency_reasons": list(row["urgency_reasons"] or [])})
        for row in found
    ]


def mention_excerpt(cur: Cursor, mention_key: str) -> list[Excerpt]:
    """The mention with this key, as evidence (empty if it is gone)."""
    found = rows(
        cur, "SELECT platform, author, text, url FROM mentions WHERE key = ?", [mention_key]
    )
    return [Excerpt(**row) for row in found]


def top_mentions(cur: Cursor, *, brand: str, start: datetime, end: datetime) -> list[Excerpt]:
    """The three most engaged mentions of ``brand`` in ``[start, end)``: a spike's evidence."""
    found = rows(
        cur,
        """SELECT platform, author, text, url FROM mentions
           WHERE brand = ? AND created_at >= ? AND created_at < ?
           ORDER BY likes + shares DESC, created_at, key LIMIT 3""",
        [brand, start, end],
    )
    return [Excerpt(**row) for row in found]


def vip_mentions(
    cur: Cursor,
    *,
    brands: Sequence[str],
    since: datetime,
    min_followers: int,
    handles: Sequence[str],
    limit: int = 20,
) -> list[VipMention]:
    """Triaged mentions of ``brands`` after ``since`` by a listed handle or an author with at least
    ``min_followers``, that have no VIP alert yet."""
    found = rows(
        cur,
        """SELECT m.key, m.platform, m.author, m.author_followers, m.text, m.url, m.brand,
               (SELECT min(case_id) FROM case_mentions cm WHERE cm.mention_key = m.key)
               AS case_id
           FROM mentions m
           WHERE m.brand IN (SELECT unnest(?)) AND m.stage = 'triaged' AND m.created_at > ?
           AND (m.author_followers >= ? OR lower(m.author) IN (SELECT unnest(?)))
           AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.dedupe_key = 'vip_author:' || m.key)
           ORDER BY m.created_at, m.key LIMIT ?""",
        [list(brands), since, min_followers, list(handles), limit],
    )
    return [VipMention(**row) for row in found]


def hourly_counts(
    cur: Cursor, *, brands: Sequence[str], since: datetime
) -> dict[str, list[tuple[datetime, int]]]:
    """Mentions per brand and hour since ``since``, in time order (hours with none are absent)."""
    cells, params = rollups.cells(since=since)
    found = rows(
        cur,
        f"""SELECT brand, hour, sum(mentions) AS n FROM ({cells})
            WHERE brand IN (SELECT unnest(?)) GROUP BY 1, 2 ORDER BY 2, 1""",  # noqa: S608 - fixed fragments
        [*params, list(brands)],
    )
    series: dict[str, list[tuple[datetime, int]]] = {}
    for row in found:
        series.setdefault(row["brand"], []).append((row["hour"], int(row["n"])))
    return series


def hourly_sentiment(
    cur: Cursor, *, brands: Sequence[str], since: datetime
) -> dict[str, list[tuple[datetime, int, int]]]:
    """Negative and scored mentions per brand and hour since ``since``, each mention counted once
    by its current score (a re-scored mention is not counted twice)."""
    cells, params = rollups.cells(since=since)
    found = rows(
        cur,
        f"""SELECT brand, hour,
               coalesce(sum(mentions) FILTER (WHERE sentiment = 'negative'), 0) AS negative,
               sum(mentions) AS total
            FROM ({cells}) WHERE brand IN (SELECT unnest(?)) AND sentiment <> ''
            GROUP BY 1, 2 ORDER BY 2, 1""",  # noqa: S608 - fixed fragments
        [*params, list(brands)],
    )
    series: dict[str, list[tuple[datetime, int, int]]] = {}
    for row in found:
        series.setdefault(row["brand"], []).append(
            (row["hour"], int(row["negative"]), int(row["total"]))
        )
    return series


def insert(
    cur: Cursor,
    *,
    kind: str,
    dedupe_key: str,
    severity: str,
    title: str,
    body: str,
    payload: str,
    created_at: datetime,
    status: str,
    error: str | None,
) -> int:
    """Record an alert and what became of it; returns its id. ``payload`` is its JSON document."""
    delivered_at = created_at if status == "sent" else None
    found = cur.execute(
        """INSERT INTO alerts (kind, dedupe_key, severity, title, body, payload, created_at,
               status, delivered_at, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
        [kind, dedupe_key, severity, title, body, payload, created_at, status, delivered_at, error],
    ).fetchone()
    assert found is not None
    return int(found[0])


def hold(cur: Cursor, alert_id: int, *, subscription: str, send_at: datetime, now: datetime) -> int:
    """Keep a delivery of an alert to ``subscription`` until ``send_at``; returns its id."""
    found = cur.execute(
        """INSERT INTO alert_deliveries (alert_id, subscription, send_at, created_at)
           VALUES (?, ?, ?, ?) RETURNING id""",
        [alert_id, subscription, send_at, now],
    ).fetchone()
    assert found is not None
    return int(found[0])


def due_deliveries(cur: Cursor, now: datetime, limit: int = 100) -> list[DueDelivery]:
    """Held deliveries due at ``now``, oldest first."""
    found = rows(
        cur,
        """SELECT d.id, d.alert_id, d.subscription, d.attempts,
               CAST(a.payload AS VARCHAR) AS payload
           FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id
           WHERE d.status = 'pending' AND d.send_at <= ?
           ORDER BY d.send_at, d.id LIMIT ?""",
        [now, limit],
    )
    return [DueDelivery(**row) for row in found]


def delivered(cur: Cursor, delivery_id: int, *, now: datetime) -> None:
    """A held delivery went out."""
    cur.execute(
        """UPDATE alert_deliveries SET status = 'sent', attempts = attempts + 1, error = NULL,
               delivered_at = ? WHERE id = ?""",
        [now, delivery_id],
    )


def delivery_failed(
    cur: Cursor, delivery_id: int, *, error: str, retry_at: datetime | None
) -> None:
    """A held delivery failed: try again at ``retry_at``, or give up when it is None."""
    cur.execute(
        """UPDATE alert_deliveries SET attempts = attempts + 1, error = ?,
               status = CASE WHEN ? IS NULL THEN 'failed' ELSE 'pending' END,
               send_at = coalesce(?, send_at) WHERE id = ?""",
        [error, retry_at, retry_at, delivery_id],
    )


def settle(cur: Cursor, alert_id: int, *, now: datetime) -> None:
    """Once no delivery of a held alert is pending, mark it sent, or failed with the errors."""
    cur.execute(
        """UPDATE alerts SET
               status = CASE WHEN d.failed > 0 THEN 'failed' ELSE 'sent' END,
               delivered_at = CASE WHEN d.sent > 0 THEN ?::TIMESTAMPTZ END,
               error = d.errors
           FROM (SELECT count(*) FILTER (WHERE status = 'pending') AS pending,
                        count(*) FILTER (WHERE status = 'failed') AS failed,
                        count(*) FILTER (WHERE status = 'sent') AS sent,
                        string_agg(subscription || ': ' || error, '; ' ORDER BY id)
                            FILTER (WHERE status = 'failed') AS errors
                 FROM alert_deliveries WHERE alert_id = ?) d
           WHERE alerts.id = ? AND alerts.status = 'deferred' AND d.pending = 0""",
        [now, alert_id, alert_id],
    )


def recent(cur: Cursor, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A page of alerts, newest first, and how many there are in all."""
    items = rows(
        cur,
        """SELECT id, kind, dedupe_key, severity, title, body, created_at, status, error
           FROM alerts ORDER BY id DESC LIMIT ? OFFSET ?""",
        [limit, offset],
    )
    return items, int(scalar(cur, "SELECT count(*) FROM alerts") or 0)
