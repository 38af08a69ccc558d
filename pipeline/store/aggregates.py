"""Named aggregate queries for the dashboard: listening (volume, sentiment, spikes, terms, share of
voice) and care (response times, deflection, public closing, SLA compliance, CSAT).

Every query takes the same ``Filters``; the WHERE clause is built from fixed fragments with ``?``
parameters only, so no caller-supplied text ever becomes SQL.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pipeline.fold import fold
from pipeline.store import Cursor, one, rows
from pipeline.store.search import MentionFilter

Bucket = Literal["hour", "day"]

# The latest score of each mention (a mention rescored by a newer model has several rows).
_LATEST_SCORES = """
    SELECT mention_key, arg_max(sentiment, scored_at) AS sentiment,
           arg_max(urgency_level, scored_at) AS urgency_level
    FROM scores GROUP BY mention_key
"""

SPIKE_BASELINE_HOURS = 24
SPIKE_RATIO = 3.0
SPIKE_MIN_COUNT = 5
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


def _mention_where(f: Filters) -> tuple[str, list[Any]]:
    """The same mention filter the /mentions list uses, so figures and lists always agree."""
    return MentionFilter(
        platform=f.platform, brand=f.brand, lang=f.lang, since=f.since, until=f.until
    ).where()


def _bucket_sql(bucket: Bucket) -> str:
    # A fixed choice between two literals, never caller text.
    return (
        "date_trunc('day', m.created_at)" if bucket == "day" else "date_trunc('hour', m.created_at)"
    )


# -- listening -------------------------------------------------------------------------------------


def volume(cur: Cursor, f: Filters, bucket: Bucket = "day") -> list[dict[str, Any]]:
    """Mentions per time bucket, platform and brand."""
    where, params = _mention_where(f)
    return rows(
        cur,
        f"""SELECT {_bucket_sql(bucket)} AS bucket, m.platform, coalesce(m.brand, '') AS brand,
                   count(*) AS mentions
            FROM mentions m{where}
            GROUP BY ALL ORDER BY bucket, m.platform, brand""",
        params,
    )


def sentiment(cur: Cursor, f: Filters, bucket: Bucket = "day") -> list[dict[str, Any]]:
    """Sentiment counts, shares and net sentiment ((pos - neg) / (pos + neg)) per time bucket."""
    where, params = _mention_where(f)
    found = rows(
        cur,
        f"""SELECT {_bucket_sql(bucket)} AS bucket,
                   count(*) FILTER (WHERE s.sentiment = 'negative') AS negative,
                   count(*) FILTER (WHERE s.sentiment = 'neutral') AS neutral,
                   count(*) FILTER (WHERE s.sentiment = 'positive') AS positive
            FROM mentions m JOIN ({_LATEST_SCORES}) s ON s.mention_key = m.key{where}
            GROUP BY ALL ORDER BY bucket""",
        params,
    )
    for row in found:
        total = row["negative"] + row["neutral"] + row["positive"]
        polar = row["negative"] + row["positive"]
        row["scored"] = total
        for name in ("negative", "neutral", "positive"):
            row[f"share_{name}"] = row[name] / total if total else 0.0
        row["net"] = (row["positive"] - row["negative"]) / polar if polar else None
    return found


def net_sentiment(cur: Cursor, f: Filters) -> float | None:
    """Net sentiment over the whole selection, or ``None`` when nothing polar was scored."""
    where, params = _mention_where(f)
    row = one(
        cur,
        f"""SELECT count(*) FILTER (WHERE s.sentiment = 'negative') AS neg,
                   count(*) FILTER (WHERE s.sentiment = 'positive') AS pos
            FROM mentions m JOIN ({_LATEST_SCORES}) s ON s.mention_key = m.key{where}""",
        params,
    )
    if row is None or not (row["neg"] + row["pos"]):
        return None
    return float((row["pos"] - row["neg"]) / (row["pos"] + row["neg"]))


def hourly_counts(cur: Cursor, f: Filters) -> list[tuple[datetime, int]]:
    """Mentions per hour, with the empty hours filled in with zeros."""
    where, params = _mention_where(f)
    found = cur.execute(
        f"""SELECT date_trunc('hour', m.created_at) AS hour, count(*) FROM mentions m{where}
            GROUP BY ALL ORDER BY hour""",
        params,
    ).fetchall()
    if not found:
        return []
    counts = {_as_utc(hour): int(n) for hour, n in found}
    first, last = min(counts), max(counts)
    series: list[tuple[datetime, int]] = []
    hour = first
    while hour <= last:
        series.append((hour, counts.get(hour, 0)))
        hour += timedelta(hours=1)
    return series


def spikes(cur: Cursor, f: Filters, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Volume spikes in the selection, each with the hours it covers and a reason a person can read.

    Where at least two weeks of history precede the selection, the seasonal detector of
    ``pipeline.analytics.spikes`` judges every hour against the same hour of the week in past
    weeks; with
    less history, the simple rule of ``trailing_spikes`` applies.
    """
    from pipeline.analytics import (
        spikes as seasonal,  # numpy is imported only when spikes are asked for
    )

    config = seasonal.SpikeConfig()
    end = f.until or (now or datetime.now(UTC))
    history = Filters(None, f.until, f.brand, f.platform, f.lang)
    if f.since is not None:
        history = replace(history, since=f.since - timedelta(weeks=config.weeks))
    series = hourly_counts(cur, history)
    if not series:
        return []
    first = series[0][0]
    window_start = f.since or first
    if window_start - first < timedelta(weeks=config.min_weeks):
        return trailing_spikes(series, since=f.since)
    found = seasonal.detect(series, end, replace(config, lookback=end - window_start))
    return [
        {
            "start": spike.start,
            "end": spike.end,
            "mentions": spike.observed,
            "baseline": round(spike.expected, 2),
            "ratio": round(spike.ratio, 2) if spike.expected > 0 else None,
            "method": "seasonal",
            "reason": (
                f"{spike.observed} mentions vs {spike.expected:.1f} expected for these hours "
                f"of the week (score {spike.score:.0f})"
            ),
        }
        for spike in found
    ]


def trailing_spikes(
    series: Sequence[tuple[datetime, int]], *, since: datetime | None = None
) -> list[dict[str, Any]]:
    """Hours whose volume is at least ``SPIKE_RATIO`` times the trailing 24-hour mean.

    Simple on purpose, so a person can check it: an hour is a spike when it has at least
    ``SPIKE_MIN_COUNT`` mentions and ``SPIKE_RATIO`` times the mean of the hours before it.
    Consecutive spike hours form one spike.
    """
    found: list[dict[str, Any]] = []
    for i, (hour, count) in enumerate(series):
        if since is not None and hour < since.replace(minute=0, second=0, microsecond=0):
            continue
        window = [n for _, n in series[max(0, i - SPIKE_BASELINE_HOURS) : i]]
        if len(window) < 3:
            continue  # too little history to call anything unusual
        baseline = sum(window) / len(window)
        if count >= SPIKE_MIN_COUNT and count >= SPIKE_RATIO * max(baseline, 1.0):
            if found and found[-1]["end"] == hour:
                last = found[-1]
                hours = int((hour - last["start"]) / timedelta(hours=1)) + 1
                last["end"] = hour + timedelta(hours=1)
                last["mentions"] += count
                last["ratio"] = round(last["mentions"] / (hours * max(last["baseline"], 1.0)), 2)
                last["reason"] = (
                    f"{last['mentions']} mentions in {hours} h vs {last['baseline']:.1f}/h "
                    "before they began"
                )
                continue
            found.append(
                {
                    "start": hour,
                    "end": hour + timedelta(hours=1),
                    "mentions": count,
                    "baseline": round(baseline, 2),
                    "ratio": round(count / max(baseline, 1.0), 2),
                    "method": "trailing",
                    "reason": (
                        f"{count} mentions in the hour vs {baseline:.1f}/h over the "
                        f"previous {len(window)} h"
                    ),
                }
            )
    return found


_STOPWORDS = frozenset(
    " ".join(
        (
            "a al algo algun alguna algunas alguno algunos ante antes aqui asi aun bien cada",
            "casi como con contra cual cuales cuando de del desde donde dos el ella ellas",
            "ello ellos en entre era eran es esa esas ese eso esos esta estaba estado estamos",
            "estan estar estas este esto estos estoy fue fueron ha habia han hasta hay he la",
            "las le les lo los mas me mi mis mucho muy nada ni no nos nosotros o os otra otro",
            "para pero poco por porque que quien se ser si sido sin sobre solo son su sus",
            "tambien te tengo tiene tienen todo todos tu tus un una uno unos usted ya yo vez",
            "hace hoy ayer about after again all also am an and any are as at be because been",
            "before being but by can could did do does doing don for from had has have having",
            "he her here hers him his how i if in into is it its just me more most my no not",
            "now of off on once only or other our out over own same she should so some still",
            "such than that the their them then there these they this those through to too",
            "under until up very was we were what when where which while who why will with",
            "would you your yours get got im ive dont cant wont didnt isnt its rt http https",
            "www com amp via",
        )
    ).split()
)

_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
_STRIP = re.compile(r"https?://\S+|[@#]\w+")


def terms(
    texts: Sequence[str], *, exclude: Sequence[str] = (), limit: int = 20
) -> list[dict[str, Any]]:
    """The most frequent content words (accents folded, Spanish and English stopwords removed).

    Each word counts once per text, so one long rant does not dominate.
    """
    skip = set(_STOPWORDS)
    for name in exclude:
        skip.update(_WORD.findall(fold(name)))
    counter: Counter[str] = Counter()
    for text in texts:
        words = set(_WORD.findall(fold(_STRIP.sub(" ", text))))
        counter.update(w for w in words if w not in skip)
    return [{"term": term, "mentions": n} for term, n in counter.most_common(limit)]


def top_negative_terms(
    cur: Cursor, f: Filters, *, exclude: Sequence[str] = (), limit: int = 20
) -> list[dict[str, Any]]:
    """Top words of the most recent negative mentions (a sample of ``NEGATIVE_TERMS_SAMPLE``)."""
    where, params = _mention_where(f)
    joiner = " AND " if where else " WHERE "
    # Lower-casing and accent folding happen in the database, which is much faster at it.
    found = cur.execute(
        f"""SELECT strip_accents(lower(m.text)) FROM mentions m
            JOIN ({_LATEST_SCORES}) s ON s.mention_key = m.key
            {where}{joiner}s.sentiment = 'negative'
            ORDER BY m.created_at DESC LIMIT ?""",
        [*params, NEGATIVE_TERMS_SAMPLE],
    ).fetchall()
    return terms([text for (text,) in found], exclude=exclude, limit=limit)


def share_of_voice(cur: Cursor, f: Filters, brands: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Mentions per brand (the brand filter is ignored: the point is the comparison).

    ``brands`` restricts the comparison to a brand and its competitors; empty means every brand.
    """
    where, params = _mention_where(f.without_brand())
    joiner = " AND " if where else " WHERE "
    extra = ""
    if brands:
        extra = f"{joiner}m.brand IN (SELECT unnest(?))"
        params = [*params, list(brands)]
    else:
        extra = f"{joiner}m.brand IS NOT NULL"
    found = rows(
        cur,
        f"""SELECT m.brand, count(*) AS mentions FROM mentions m{where}{extra}
            GROUP BY ALL ORDER BY mentions DESC, m.brand""",
        params,
    )
    total = sum(r["mentions"] for r in found)
    for row in found:
        row["share"] = row["mentions"] / total if total else 0.0
    return found


def split(cur: Cursor, f: Filters, by: Literal["platform", "lang"]) -> list[dict[str, Any]]:
    """Mentions per platform or per language, with shares."""
    column = "m.platform" if by == "platform" else "coalesce(m.lang, m.lang_hint, 'und')"
    where, params = _mention_where(f)
    found = rows(
        cur,
        f"""SELECT {column} AS {by}, count(*) AS mentions FROM mentions m{where}
            GROUP BY ALL ORDER BY mentions DESC""",
        params,
    )
    total = sum(r["mentions"] for r in found)
    for row in found:
        row["share"] = row["mentions"] / total if total else 0.0
    return found


def overview(
    cur: Cursor,
    f: Filters,
    *,
    bucket: Bucket = "day",
    brands: Sequence[str] = (),
    brand_names: Sequence[str] = (),
) -> dict[str, Any]:
    """Everything the Overview page draws, in one answer."""
    vol = volume(cur, f, bucket)
    by_bucket = sentiment(cur, f, bucket)
    negative = sum(r["negative"] for r in by_bucket)
    positive = sum(r["positive"] for r in by_bucket)
    polar = negative + positive
    return {
        "filters": {
            "since": f.since,
            "until": f.until,
            "brand": f.brand,
            "platform": f.platform,
            "lang": f.lang,
            "bucket": bucket,
        },
        "total": sum(r["mentions"] for r in vol),
        "net_sentiment": (positive - negative) / polar if polar else None,
        "volume": vol,
        "sentiment": by_bucket,
        "spikes": spikes(cur, f),
        "negative_terms": top_negative_terms(cur, f, exclude=brand_names),
        "share_of_voice": share_of_voice(cur, f, brands),
        "platforms": split(cur, f, "platform"),
        "languages": split(cur, f, "lang"),
    }


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
        row = one(cur, f"SELECT {_durations(column)} FROM cases c{where}{active}", params) or {}
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
            FROM cases c{where}""",
            params,
        )
        or {}
    )
    active_n = counts.get("active") or 0
    resolved_n = counts.get("resolved") or 0
    csat_n = counts.get("csat_responses") or 0
    return {
        "filters": {
            "since": f.since,
            "until": f.until,
            "brand": f.brand,
            "platform": f.platform,
            "lang": f.lang,
            "team": team,
            "level": level,
        },
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
                GROUP BY ALL ORDER BY cases DESC""",
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
    due time passed without it (or the case was flagged ``sla_breached``), and as pending otherwise.
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
                  OR (c.resolved_at IS NULL AND c.resolution_due < ?)) AS resolution_missed
            FROM cases c{where}{active}
            GROUP BY ALL ORDER BY team, level""",
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
