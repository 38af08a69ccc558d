"""Hourly series and the simple trailing-window spike rule used when history is short."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

HOUR = timedelta(hours=1)
SPIKE_BASELINE_HOURS = 24
SPIKE_RATIO = 3.0
SPIKE_MIN_COUNT = 5


def fill_hours(counts: Iterable[tuple[datetime, int]]) -> list[tuple[datetime, int]]:
    """(hour, count) pairs from the first to the last hour given, empty hours as zeros."""
    found = dict(counts)
    if not found:
        return []
    first, last = min(found), max(found)
    series: list[tuple[datetime, int]] = []
    hour = first
    while hour <= last:
        series.append((hour, found.get(hour, 0)))
        hour += HOUR
    return series


def trailing_spikes(
    series: Sequence[tuple[datetime, int]], *, since: datetime | None = None
) -> list[dict[str, Any]]:
    """Hours whose volume is at least ``SPIKE_RATIO`` times the trailing 24-hour mean.

    Simple on purpose, so a person can check it: an hour is a spike when it has at least
    ``SPIKE_MIN_COUNT`` mentions and ``SPIKE_RATIO`` times the mean of the hours before it.
    Consecutive spike hours form one spike. ``series`` must have its empty hours as zeros
    (:func:`fill_hours`).
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
                hours = int((hour - last["start"]) / HOUR) + 1
                last["end"] = hour + HOUR
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
                    "end": hour + HOUR,
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
