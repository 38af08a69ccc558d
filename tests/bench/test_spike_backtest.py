"""Backtest of the volume spike detector on synthetic seasonal series with injected spikes.

Prints precision, recall, mean detection delay and false alarms per series-week (`make bench`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from pipeline.analytics.spikes import HOUR, Spike, SpikeConfig, detect

pytestmark = pytest.mark.bench

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
WARMUP_WEEKS = 6
EVAL_WEEKS = 4
BASES = (3.0, 10.0, 30.0, 100.0)  # mentions per hour at the evening peak
SEEDS = range(25)


@dataclass(frozen=True)
class Injected:
    start: datetime
    hours: int
    multiplier: float

    @property
    def end(self) -> datetime:
        return self.start + self.hours * HOUR


def rate(hour: datetime, base: float, trend: float) -> float:
    daily = 0.25 + 0.75 * max(0.0, math.sin(math.pi * (hour.hour - 6) / 18)) ** 1.5
    weekly = 0.7 if hour.weekday() >= 5 else 1.0
    return base * daily * weekly * trend


def synthesise(
    base: float, seed: int, inject: bool
) -> tuple[list[tuple[datetime, int]], list[Injected]]:
    """A seasonal, overdispersed, slowly trending series; one spike in the warm-up, three later."""
    rng = np.random.default_rng(seed * 1000 + int(base))
    total_hours = (WARMUP_WEEKS + EVAL_WEEKS) * 168
    injected: list[Injected] = []
    if inject:
        starts = [int(rng.integers(168, WARMUP_WEEKS * 168 - 12))]
        for week in range(EVAL_WEEKS - 1):
            lo = (WARMUP_WEEKS + week) * 168 + 24
            starts.append(int(rng.integers(lo, lo + 168)))
        for s in starts:
            injected.append(
                Injected(START + s * HOUR, int(rng.integers(1, 7)), float(rng.uniform(2.0, 5.0)))
            )
    slope = float(rng.uniform(-0.1, 0.1))
    series = []
    for i in range(total_hours):
        hour = START + i * HOUR
        lam = rate(hour, base, 1 + slope * i / total_hours) * rng.gamma(25.0, 1 / 25.0)
        for spike in injected:
            if spike.start <= hour < spike.end:
                lam *= spike.multiplier
        series.append((hour, int(rng.poisson(lam))))
    return series, injected


def stream(series: list[tuple[datetime, int]], config: SpikeConfig) -> list[Spike]:
    """Run the detector week by week over the evaluated weeks and stitch adjacent spikes.

    Each hour's verdict uses only data up to that hour, so this equals running it every hour.
    """
    found: list[Spike] = []
    config = replace(config, lookback=timedelta(weeks=1))
    for week in range(EVAL_WEEKS):
        now = START + timedelta(weeks=WARMUP_WEEKS + week + 1)
        history = [(h, c) for h, c in series if h < now]
        for spike in detect(history, now, config):
            if found and found[-1].end == spike.start:
                previous = found[-1]
                found[-1] = replace(
                    previous,
                    end=spike.end,
                    observed=previous.observed + spike.observed,
                    expected=previous.expected + spike.expected,
                    score=max(previous.score, spike.score),
                    ongoing=spike.ongoing,
                )
            else:
                found.append(spike)
    return found


def evaluate(config: SpikeConfig) -> dict[str, float]:
    eval_start = START + timedelta(weeks=WARMUP_WEEKS)
    tp = fp = hits = total = 0
    delays: list[float] = []
    null_alarms = 0
    per_base: dict[float, list[int]] = {b: [0, 0, 0] for b in BASES}
    strong = [0, 0]  # spikes of x3 or more lasting 2 h or more, at 10 mentions/h or more
    for base in BASES:
        for seed in SEEDS:
            series, injected = synthesise(base, seed, inject=True)
            targets = [s for s in injected if s.start >= eval_start]
            found = stream(series, config)
            for spike in found:
                if any(spike.start < t.end and t.start < spike.end for t in targets):
                    tp += 1
                else:
                    fp += 1
            for target in targets:
                total += 1
                per_base[base][1] += 1
                overlapping = [s for s in found if s.start < target.end and target.start < s.end]
                is_strong = target.multiplier >= 3 and target.hours >= 2 and base >= 10
                strong[1] += is_strong
                strong[0] += bool(overlapping) and is_strong
                if overlapping:
                    hits += 1
                    per_base[base][0] += 1
                    # when the data first showed it: the end of the hour whose test fired
                    first = min(s.detected_at or s.end for s in overlapping)
                    delays.append(max(first - target.start, HOUR) / HOUR)
            null_series, _ = synthesise(base, seed + 100, inject=False)
            alarms = len(stream(null_series, config))
            null_alarms += alarms
            per_base[base][2] += alarms
    series_weeks = len(BASES) * len(SEEDS) * EVAL_WEEKS
    result = {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": hits / total,
        "recall_strong": strong[0] / strong[1],
        "mean_delay_h": sum(delays) / len(delays) if delays else math.nan,
        "false_alarms_per_week": fp / series_weeks,
        "null_false_alarms_per_week": null_alarms / series_weeks,
    }
    for base, (h, n, alarms) in per_base.items():
        result[f"recall_base_{base:g}"] = h / n
        result[f"null_alarms_per_week_base_{base:g}"] = alarms / (len(SEEDS) * EVAL_WEEKS)
    return result


def test_spike_backtest() -> None:
    figures = evaluate(SpikeConfig())
    print()
    print(
        f"spike backtest: {len(BASES) * len(SEEDS)} series x {EVAL_WEEKS} weeks evaluated "
        f"(after {WARMUP_WEEKS} weeks of history), spikes x2-x5 lasting 1-6 h"
    )
    for name, value in figures.items():
        print(f"  {name:28s} {value:.3f}")
    assert figures["precision"] >= 0.95
    assert figures["null_false_alarms_per_week"] <= 0.02
    assert figures["recall_strong"] >= 0.8
    assert figures["mean_delay_h"] <= 2.0
