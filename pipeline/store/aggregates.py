"""Named aggregate queries for the dashboard: listening (volume, sentiment, hourly counts, negative
texts, share of voice, sentiment and volume per brand and bucket, splits) and care (response
times, deflection, public closing, SLA, CSAT).

Every query takes the same ``Filters``; the WHERE clause is built from fixed fragments with ``?``
parameters only, so no caller-supplied text ever becomes SQL. Judging the rows (shares, spikes,
terms) is ``pipeline.analytics``'s job.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pipeline.store import Cursor, one, rollups, rows
from pipeline.store.scores import SCORED
from pipeline.store.search import MentionFilter

Bucket = Literal["hour", "day"]

NEGATIVE_TERMS_SAMPLE = 3000


@dataclass(frozen=True, slots=True)
class Filters:
    """What the dashboard's filter bar selects; ``None`` means "any"."""

    since: datetime | None = None
    until: datetime | None = None
    brand: str | None = None
    platform: str | None = None
    lang: str | None = None

    def without_brand(self) -> Filters:
        return Filters(self.since, self.until, None, self.platform, self.lang)

    def describe(self) -> dict[str, Any]:
        """The selection as the answers echo it back."""
        return {
            "since": self.since,
            "until": self.until,
            "brand": self.brand,
            "platform": self.platform,
            "lang": self.lang,
        }


@dataclass(frozen=True, slots=True)
class OverviewRows:
    """What the Overview page is computed from (``pipeline.analytics.overview.summarise``)."""

    filters: Filters
    bucket: Bucket
    volume: list[dict[str, Any]]  # bucket, platform, brand, mentions
    sentiment: list[dict[str, Any]]  # bucket, negative, neutral, positive
    hourly: list[tuple[datetime, int]]  # hours with mentions, from ``history`` before ``since``
    negative_texts: list[str]  # lower-cased, accent-folded, newest first
    share_of_voice: list[dict[str, Any]]  # brand, mentions
    brand_buckets: list[dict[str, Any]]  # bucket, brand, mentions, negative, neutral, positive
    platforms: list[dict[str, Any]]  # platform, mentions
    languages: list[dict[str, Any]]  # lang, mentions


def _mention_where(f: Filters) -> tuple[str, list[Any]]:
    """The same mention filter the /mentions list uses, so figures and lists always agree."""
    return MentionFilter(
        platform=f.platform, brand=f.brand, lang=f.lang, since=f.since, until=f.until
    ).where()


# -- listening -------------------------------------------------------------------------------------


def overview_rows(
    cur: Cursor,
    f: Filters,
    *,
    bucket: Bucket = "day",
    brands: Sequence[str] = (),
    history: timedelta = timedelta(0),
) -> OverviewRows:
    """Every row the Overview page needs; hourly counts reach ``history`` before ``f.since``.

    The selection's cells are read once and every figure is grouped from them.
    """
    before = Filters(None, f.until, f.brand, f.platform, f.lang)
    if f.since is not None:
        before = Filters(f.since - history, f.until, f.brand, f.platform, f.lang)
    cells_sql, params = _cells(f)
    # One read of the selection, already in buckets: every figure below groups these few rows.
    bucketed = f"""SELECT {_bucket(bucket)} AS hour, platform, brand, lang, sentiment,
                          -1 AS urgency_level, sum(mentions)::BIGINT AS mentions
                   FROM ({cells_sql}) GROUP BY ALL"""  # noqa: S608 - fixed fragments, ? params
    cur.register("overview_cells", cur.sql(bucketed, params=params).to_arrow_table())
    try:
        every_brand: _Source = ("SELECT * FROM overview_cells", [])
        if f.brand is not None:
            others_sql, others_params = _cells(f.without_brand())
            cur.register(
                "overview_brands", cur.sql(others_sql, params=others_params).to_arrow_table()
            )
            every_brand = ("SELECT * FROM overview_brands", [])
        selected: _Source = ("SELECT * FROM overview_cells", [])
        return OverviewRows(
            filters=f,
            bucket=bucket,
            volume=_volume(cur, selected, bucket),
            sentiment=_sentiment(cur, selected, bucket),
            hourly=hourly_counts(cur, before),
            negative_texts=negative_texts(cur, f),
            share_of_voice=_share_of_voice(cur, every_brand, brands),
            brand_buckets=_brand_buckets(cur, every_brand, bucket, brands),
            platforms=_split(cur, selected, "platform"),
            languages=_split(cur, selected, "lang"),
        )
    finally:
        cur.unregister("overview_cells")
        if f.brand is not None:
            cur.unregister("overview_brands")


# A cells query and its parameters (see ``_cells``).
_Source = tuple[str, list[Any]]
# Mentions per current sentiment, as three columns of a query over hourly cells.
SENTIMENT_SPLIT = """coalesce(sum(mentions) FILTER (WHERE sentiment = 'negative'), 0)::BIGINT
                       AS negative,
                   coalesce(sum(mentions) FILTER (WHERE sentiment = 'neutral'), 0)::BIGINT
                       AS neutral,
                   coalesce(sum(mentions) FILTER (WHERE sentiment = 'positive'), 0)::BIGINT
                       AS positive"""


def _cells(f: Filters) -> tuple[str, list[Any]]:
    return rollups.cells(
        platform=f.platform, brand=f.brand, lang=f.lang, since=f.since, until=f.until
    )


def _bucket(bucket: Bucket) -> str:
    # A fixed choice between two literals, never caller text.
    return "date_trunc('day', hour)" if bucket == "day" else "hour"


def volume(cur: Cursor, f: Filters, bucket: Bucket = "day") -> list[dict[str, Any]]:
    """Mentions per time bucket, platform and brand."""
    return _volume(cur, _cells(f), bucket)


def _volume(cur: Cursor, source: _Source, bucket: Bucket) -> list[dict[str, Any]]:
    cells, params = source
    return rows(
        cur,
        f"""SELECT {_bucket(bucket)} AS bucket, platform, brand, sum(mentions)::BIGINT AS mentions
            FROM ({cells}) GROUP BY ALL ORDER BY bucket, platform, brand""",  # noqa: S608 - fixed fragments, ? params
        params,
    )


def sentiment(cur: Cursor, f: Filters, bucket: Bucket = "day") -> list[dict[str, Any]]:
    """Scored mentions per time bucket and current sentiment (negative, neutral, positive)."""
    return _sentiment(cur, _cells(f), bucket)


def _sentiment(cur: Cursor, source: _Source, bucket: Bucket) -> list[dict[str, Any]]:
    cells, params = source
    return rows(
        cur,
        f"""SELECT {_bucket(bucket)} AS bucket, {SENTIMENT_SPLIT}
            FROM ({cells}) WHERE sentiment <> ''
            GROUP BY ALL ORDER BY bucket""",  # noqa: S608 - fixed fragments, ? params
        params,
    )


def hourly_counts(cur: Cursor, f: Filters) -> list[tuple[datetime, int]]:
    """Mentions per UTC hour, for the hours that have any, oldest first."""
    cells, params = _cells(f)
    found = cur.execute(
        f"SELECT hour, sum(mentions) FROM ({cells}) GROUP BY hour ORDER BY hour",  # noqa: S608 - fixed fragments, ? params
        params,
    ).fetchall()
    return [(_as_utc(hour), int(n)) for hour, n in found]


def negative_texts(cur: Cursor, f: Filters, *, limit: int = NEGATIVE_TERMS_SAMPLE) -> list[str]:
    """The texts of the most recent mentions currently scored negative, lower-cased and folded."""
    cells, cell_params = _cells(f)
    per_hour = cur.execute(
        f"""SELECT hour, sum(mentions) FROM ({cells}) WHERE sentiment = 'negative'
            GROUP BY hour ORDER BY hour DESC""",  # noqa: S608 - fixed fragments, ? params
        cell_params,
    ).fetchall()
    # The newest hours holding ``limit`` negative mentions: only those need reading.
    seen, since = 0, f.since
    for hour, n in per_hour:
        seen += int(n)
        if seen >= limit:
            since = max(_as_utc(hour), f.since) if f.since is not None else _as_utc(hour)
            break
    where, params = _mention_where(replace(f, since=since))
    joiner = " AND " if where else " WHERE "
    # Lower-casing and accent folding happen in the database, which is much faster at it.
    found = cur.execute(
        f"""SELECT strip_accents(lower(m.text)) FROM mentions m {SCORED}
            {where}{joiner}s.sentiment = 'negative'
            ORDER BY m.created_at DESC, m.key LIMIT ?""",  # noqa: S608 - fixed fragments, ? params
        [*params, limit],
    ).fetchall()
    return [text for (text,) in found]


def share_of_voice(cur: Cursor, f: Filters, brands: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Mentions per brand, most first (the brand filter is ignored: the point is the comparison).

    ``brands`` restricts the comparison to a brand and its competitors; empty means every brand.
    """
    return _share_of_voice(cur, _cells(f.without_brand()), brands)


def _brand_filter(params: list[Any], brands: Sequence[str]) -> tuple[str, list[Any]]:
    """The condition on ``brand`` (these brands, or any brand) and the parameters with its own."""
    if brands:
        return "brand IN (SELECT unnest(?))", [*params, list(brands)]
    return "brand <> ''", params


def _share_of_voice(cur: Cursor, source: _Source, brands: Sequence[str]) -> list[dict[str, Any]]:
    cells, params = source
    extra, params = _brand_filter(params, brands)
    return rows(
        cur,
        f"""SELECT brand, sum(mentions)::BIGINT AS mentions FROM ({cells}) WHERE {extra}
            GROUP BY ALL ORDER BY mentions DESC, brand""",  # noqa: S608 - fixed fragments, ? params
        params,
    )


def _brand_buckets(
    cur: Cursor, source: _Source, bucket: Bucket, brands: Sequence[str]
) -> list[dict[str, Any]]:
    """Per bucket and brand (the brand and its competitors, or every brand): mentions and their
    current sentiment, for sentiment and share of voice over time."""
    cells, params = source
    extra, params = _brand_filter(params, brands)
    return rows(
        cur,
        f"""SELECT {_bucket(bucket)} AS bucket, brand, sum(mentions)::BIGINT AS mentions,
                   {SENTIMENT_SPLIT}
            FROM ({cells}) WHERE {extra}
            GROUP BY ALL ORDER BY bucket, brand""",  # noqa: S608 - fixed fragments, ? params
        params,
    )


def split(cur: Cursor, f: Filters, by: Literal["platform", "lang"]) -> list[dict[str, Any]]:
    """Mentions per platform or per language, most first."""
    return _split(cur, _cells(f), by)


def _split(cur: Cursor, source: _Source, by: Literal["platform", "lang"]) -> list[dict[str, Any]]:
    # A fixed choice between two expressions, never caller text.
    column = "platform" if by == "platform" else "coalesce(nullif(lang, ''), 'und')"
    alias = "platform" if by == "platform" else "lang"
    cells, params = source
    return rows(
        cur,
        f"""SELECT {column} AS {alias}, sum(mentions)::BIGINT AS mentions FROM ({cells})
            GROUP BY ALL ORDER BY mentions DESC""",  # noqa: S608 - fixed fragments, ? params
        params,
    )


# -- care ------------------------------------------------------------------------------------------


def _case_where(f: Filters, team: str | None, level: str | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("c.opened_at >= ?", f.since),
        ("c.opened_at < ?", f.until),
        ("c.brand = ?", f.brand),
        ("c.platform = ?", f.platform),
        ("c.lang = ?", f.lang),
        ("c.team = ?", team),
        ("c.level = ?", level),
    ):
        if value is not None:
            clauses.append(column)
            params.append(value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _minutes(column: str) -> str:
    return f"epoch({column} - c.opened_at) / 60.0"


def _durations(column: str) -> str:
    m = _minutes(column)
    return (
        f"count({column}) AS n, avg({m}) AS mean_minutes, median({m}) AS median_minutes, "
        f"quantile_cont({m}, 0.9) AS p90_minutes"
    )


def care(
    cur: Cursor,
    f: Filters,
    *,
    team: str | None = None,
    level: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The care metrics over cases opened in the selected period."""
    now = now or datetime.now(UTC)
    where, params = _case_where(f, team, level)
    # Cases dismissed as spam or not actionable are not part of the care workload.
    active = (" AND " if where else " WHERE ") + "c.status <> 'dismissed'"

    def durations(column: str) -> dict[str, Any]:
        # The columns are fixed literals of this module; the filter values are ? parameters.
        sql = f"SELECT {_durations(column)} FROM cases c{where}{active}"  # noqa: S608 - fixed fragments, ? params
        row = one(cur, sql, params) or {}
        return {k: _round(v) for k, v in row.items()}

    counts = (
        one(
            cur,
            f"""SELECT count(*) AS cases,
                   count(*) FILTER (WHERE c.status = 'dismissed') AS dismissed,
                   count(*) FILTER (WHERE c.status <> 'dismissed') AS active,
                   count(c.deflected_at) FILTER (WHERE c.status <> 'dismissed') AS deflected,
                   count(c.resolved_at) FILTER (WHERE c.status <> 'dismissed') AS resolved,
                   count(c.closed_public_at) FILTER (WHERE c.status <> 'dismissed')
                       AS closed_public,
                   count(c.csat_score) AS csat_responses,
                   avg(c.csat_score) AS csat_mean,
                   count(*) FILTER (WHERE c.csat_score >= 4) AS csat_satisfied
            FROM cases c{where}""",  # noqa: S608 - fixed fragments, ? params
            params,
        )
        or {}
    )
    active_n = counts.get("active") or 0
    resolved_n = counts.get("resolved") or 0
    csat_n = counts.get("csat_responses") or 0
    return {
        "filters": {**f.describe(), "team": team, "level": level},
        "cases": counts.get("cases") or 0,
        "dismissed": counts.get("dismissed") or 0,
        "first_response": durations("c.first_response_at"),
        "time_to_deflect": durations("c.deflected_at"),
        "resolution": durations("c.resolved_at"),
        "deflected_share": _share(counts.get("deflected") or 0, active_n),
        "closed_public_share": _share(counts.get("closed_public") or 0, resolved_n),
        "resolved_share": _share(resolved_n, active_n),
        "csat": {
            "responses": csat_n,
            "mean": _round(counts.get("csat_mean")),
            "satisfied_share": _share(counts.get("csat_satisfied") or 0, csat_n),
        },
        "sla": sla_compliance(cur, f, team=team, level=level, now=now),
        "by_status": rows(
            cur,
            f"""SELECT c.status, count(*) AS cases FROM cases c{where}
                GROUP BY ALL ORDER BY cases DESC""",  # noqa: S608 - fixed fragments, ? params
            params,
        ),
    }


def sla_compliance(
    cur: Cursor,
    f: Filters,
    *,
    team: str | None = None,
    level: str | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Per team and level: first responses and resolutions on time, late, and still running.

    A target counts as met when it happened by its due time, as missed when it happened late or its
    running clock passed its due time without it (or the case was flagged ``sla_breached``), and as
    pending otherwise; a paused resolution clock does not run (``pipeline.care.sla``).
    """
    now = now or datetime.now(UTC)
    where, params = _case_where(f, team, level)
    active = (" AND " if where else " WHERE ") + "c.status <> 'dismissed'"
    found = rows(
        cur,
        f"""SELECT coalesce(c.team, '') AS team, coalesce(c.level, '') AS level, count(*) AS cases,
              count(*) FILTER (WHERE c.first_response_at IS NOT NULL
                  AND (c.first_response_due IS NULL OR c.first_response_at <= c.first_response_due))
                  AS first_response_met,
              count(*) FILTER (WHERE (c.first_response_at IS NOT NULL
                      AND c.first_response_at > c.first_response_due)
                  OR (c.first_response_at IS NULL AND c.first_response_due < ?))
                  AS first_response_missed,
              count(*) FILTER (WHERE c.resolved_at IS NOT NULL
                  AND (c.resolution_due IS NULL OR c.resolved_at <= c.resolution_due)
                  AND NOT c.sla_breached) AS resolution_met,
              count(*) FILTER (WHERE c.sla_breached
                  OR (c.resolved_at IS NOT NULL AND c.resolved_at > c.resolution_due)
                  OR (c.resolved_at IS NULL AND c.sla_paused_at IS NULL
                      AND c.resolution_due < ?)) AS resolution_missed
            FROM cases c{where}{active}
            GROUP BY ALL ORDER BY team, level""",  # noqa: S608 - fixed fragments, ? params
        [now, now, *params],
    )
    for row in found:
        for target in ("first_response", "resolution"):
            met, missed = row[f"{target}_met"], row[f"{target}_missed"]
            row[f"{target}_pending"] = row["cases"] - met - missed
            row[f"{target}_compliance"] = _share(met, met + missed)
    return found


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 2)
    return value


def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
