"""The Overview page's answer from the store's overview rows: shares, net sentiment (overall and
per brand over time), share of voice over time, volume spikes and top negative terms (the store
reads the rows; this module judges them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.analytics.spikes import SpikeConfig, detect
from pipeline.analytics.terms import terms
from pipeline.analytics.windows import fill_hours, trailing_spikes
from pipeline.store.aggregates import OverviewRows

# How far before the selection the hourly counts must reach for the seasonal spike detector.
SPIKE_HISTORY = timedelta(weeks=SpikeConfig().weeks)
_SENTIMENTS = ("negative", "neutral", "positive")


def summarise(
    found: OverviewRows, *, brand_names: Sequence[str] = (), now: datetime | None = None
) -> dict[str, Any]:
    """Everything the Overview page draws, in one answer (the /aggregates/overview body)."""
    f = found.filters
    by_bucket = sentiment_shares(found.sentiment)
    return {
        "filters": {**f.describe(), "bucket": found.bucket},
        "total": sum(r["mentions"] for r in found.volume),
        "net_sentiment": net_sentiment(found.sentiment),
        "volume": found.volume,
        "sentiment": by_bucket,
        "spikes": volume_spikes(found.hourly, since=f.since, until=f.until, now=now),
        "negative_terms": terms(found.negative_texts, exclude=brand_names),
        "share_of_voice": with_shares(found.share_of_voice),
        "brand_sentiment": sentiment_shares(found.brand_buckets),
        "share_of_voice_over_time": shares_per_bucket(found.brand_buckets),
        "platforms": with_shares(found.platforms),
        "languages": with_shares(found.languages),
    }


def sentiment_shares(counts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per bucket: the counts, the number scored, each sentiment's share and the net sentiment
    ((positive - negative) / (positive + negative), ``None`` when nothing polar was scored)."""
    found: list[dict[str, Any]] = []
    for row in counts:
        total = sum(row[name] for name in _SENTIMENTS)
        polar = row["negative"] + row["positive"]
        shares = {f"share_{name}": row[name] / total if total else 0.0 for name in _SENTIMENTS}
        net = (row["positive"] - row["negative"]) / polar if polar else None
        found.append({**row, "scored": total, **shares, "net": net})
    return found


def net_sentiment(counts: Sequence[dict[str, Any]]) -> float | None:
    """Net sentiment over all the buckets, or ``None`` when nothing polar was scored."""
    negative = sum(r["negative"] for r in counts)
    positive = sum(r["positive"] for r in counts)
    polar = negative + positive
    return (positive - negative) / polar if polar else None


def with_shares(counts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with ``share``: their ``mentions`` over the total of all rows."""
    total = sum(r["mentions"] for r in counts)
    return [{**row, "share": row["mentions"] / total if total else 0.0} for row in counts]


def shares_per_bucket(counts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per bucket and brand: the brand's ``mentions`` and its ``share`` of that bucket."""
    totals: dict[Any, int] = {}
    for row in counts:
        totals[row["bucket"]] = totals.get(row["bucket"], 0) + row["mentions"]
    return [
        {
            "bucket": row["bucket"],
            "brand": row["brand"],
            "mentions": row["mentions"],
            "share": row["mentions"] / totals[row["bucket"]] if totals[row["bucket"]] else 0.0,
        }
        for row in counts
    ]


def volume_spikes(
    hourly: Sequence[tuple[datetime, int]],
    *,
    since: datetime | None,
    until: datetime | None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Volume spikes in ``[since, until)``, each with the hours it covers and a reason to read.

    ``hourly`` holds the mentions per hour from ``SPIKE_HISTORY`` before ``since``. Where at least
    two weeks of it precede the selection, the seasonal detector judges every hour against the
    same hour of the week in past weeks; with less, the simple trailing-window rule applies.
    """
    config = SpikeConfig()
    end = until or (now or datetime.now(UTC))
    series = fill_hours(hourly)
    if not series:
        return []
    first = series[0][0]
    window_start = since or first
    if window_start - first < timedelta(weeks=config.min_weeks):
        return trailing_spikes(series, since=since)
    found = detect(series, end, replace(config, lookback=end - window_start))
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
