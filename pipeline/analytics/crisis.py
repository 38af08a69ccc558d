"""A crisis window judged against its baseline: hourly volume and negative share next to the
usual hourly volume and negative share of the days before."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pipeline.analytics.spikes import floor_hour

HOUR = timedelta(hours=1)
BASELINE = timedelta(days=7)  # the history before a window that sets what is usual


def baseline(totals: dict[str, int], *, hours: float) -> dict[str, Any]:
    """The usual hour: mean mentions per hour and negative share of the scored ones."""
    scored = totals.get("scored", 0)
    return {
        "hours": hours,
        "mentions": totals.get("mentions", 0),
        "hourly_mean": totals.get("mentions", 0) / hours if hours else 0.0,
        "negative_share": totals.get("negative", 0) / scored if scored else None,
    }


def timeline(
    hourly: Sequence[dict[str, Any]], *, start: datetime, end: datetime, usual: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every hour of ``[start, end)`` (empty hours as zeros): mentions, negative share, and the
    baseline's mean and share beside them, with the ratio of the hour to the mean."""
    by_hour = {floor_hour(row["hour"]): row for row in hourly}
    mean = float(usual["hourly_mean"])
    found: list[dict[str, Any]] = []
    hour = floor_hour(start)
    while hour < end:
        row = by_hour.get(hour, {})
        mentions, scored = int(row.get("mentions", 0)), int(row.get("scored", 0))
        negative = int(row.get("negative", 0))
        found.append(
            {
                "hour": hour,
                "mentions": mentions,
                "negative": negative,
                "negative_share": negative / scored if scored else None,
                "baseline_mentions": round(mean, 2),
                "baseline_negative_share": usual["negative_share"],
                "ratio": round(mentions / mean, 2) if mean > 0 else None,
            }
        )
        hour += HOUR
    return found


def summary(totals: dict[str, int], usual: dict[str, Any], *, hours: float) -> dict[str, Any]:
    """The window in a few figures, beside the baseline's."""
    scored = totals.get("scored", 0)
    mean = float(usual["hourly_mean"])
    hourly_mean = totals.get("mentions", 0) / hours if hours else 0.0
    return {
        "mentions": totals.get("mentions", 0),
        "negative": totals.get("negative", 0),
        "negative_share": totals.get("negative", 0) / scored if scored else None,
        "hourly_mean": hourly_mean,
        "ratio": round(hourly_mean / mean, 2) if mean > 0 else None,
    }
