"""Hourly counts of mentions (``mention_hours``): recounted for the hours each write touches, in
the write's transaction, so the overview reads thousands of cells instead of millions of rows and
stays exactly equal to counting the mentions themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

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


def cells(
    *,
    platform: str | None = None,
    brand: str | None = None,
    lang: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[str, list[Any]]:
    """A query of the counts per hour, platform, brand, language, sentiment and urgency of the
    mentions matching the filters, and its parameters.

    Whole hours come from ``mention_hours``; the partial hours at either end of ``[since, until)``
    are counted from the mentions themselves, so the figures are exact for any range.
    """
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (("platform", platform), ("brand", brand), ("lang", lang)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    first = _ceil_hour(since) if since is not None else None
    last = _floor_hour(until) if until is not None else None
    if first is not None:
        clauses.append("hour >= ?")
        params.append(first)
    if last is not None:
        clauses.append("hour < ?")
        params.append(last)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    sql = f"""SELECT hour, platform, brand, lang, sentiment, urgency_level, mentions
              FROM mention_hours{where}"""  # noqa: S608 - fixed fragments, ? params
    edges = [("m.created_at < ?", first), ("m.created_at >= ?", last)]
    edge = [(clause, value) for clause, value in edges if value is not None]
    if not edge:
        return sql, params
    base: list[str] = []
    for column, value in (
        ("m.platform", platform),
        ("m.brand", brand),
        ("coalesce(m.lang, m.lang_hint)", lang),
    ):
        if value:
            base.append(f"{column} = ?")
            params.append(value)
    for clause, moment in (("m.created_at >= ?", since), ("m.created_at < ?", until)):
        if moment is not None:
            base.append(clause)
            params.append(moment)
    base.append("(" + " OR ".join(clause for clause, _ in edge) + ")")
    params.extend(value for _, value in edge)
    sql += f"""
        UNION ALL
        SELECT date_trunc('hour', m.created_at), m.platform, coalesce(m.brand, ''),
               coalesce(m.lang, m.lang_hint, ''), coalesce(s.sentiment, ''),
               coalesce(s.urgency_level, -1), count(*)
        FROM mentions m LEFT JOIN current_scores s ON s.mention_key = m.key
        WHERE {" AND ".join(base)}
        GROUP BY ALL"""  # noqa: S608 - fixed fragments, ? params
    return sql, params


def count(
    cur: Cursor,
    *,
    sentiment: str | None = None,
    min_urgency: int | None = None,
    **filters: Any,
) -> int:
    """How many mentions match (the filters of ``cells``, plus current sentiment and urgency)."""
    sql, params = cells(**filters)
    clauses: list[str] = []
    if sentiment:
        clauses.append("sentiment = ?")
        params.append(sentiment)
    if min_urgency is not None:
        clauses.append("urgency_level >= ?")
        params.append(min_urgency)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    found = cur.execute(
        f"SELECT coalesce(sum(mentions), 0) FROM ({sql}){where}",  # noqa: S608 - fixed fragments
        params,
    ).fetchone()
    return int(found[0]) if found else 0


def _ceil_hour(value: datetime) -> datetime:
    floor = _floor_hour(value)
    return floor if floor == value else floor + timedelta(hours=1)


def _floor_hour(value: datetime) -> datetime:
    moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return moment.replace(minute=0, second=0, microsecond=0)
