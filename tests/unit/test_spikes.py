"""Spike detection: a clear injected spike is found, a seasonal series without one is left alone."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from pipeline.analytics.spikes import (
    HOUR,
    SentimentConfig,
    SpikeConfig,
    _binomial_log_sf,
    _negative_binomial_log_sf,
    detect,
    detect_sentiment_drop,
    false_alarm_rate,
    hourly,
    judge_hours,
)

START = datetime(2026, 9, 7, tzinfo=UTC)  # a Monday


def seasonal_rate(hour: datetime, base: float) -> float:
    """Mentions per hour: quiet at night, busy in the evening, calmer at weekends."""
    daily = 0.25 + 0.75 * max(0.0, math.sin(math.pi * (hour.hour - 6) / 18)) ** 1.5
    weekly = 0.7 if hour.weekday() >= 5 else 1.0
    return base * daily * weekly


def make_series(
    weeks: int, base: float, seed: int, spikes: dict[datetime, float] | None = None
) -> list[tuple[datetime, int]]:
    rng = np.random.default_rng(seed)
    spikes = spikes or {}
    series = []
    for i in range(weeks * 168):
        hour = START + i * HOUR
        rate = seasonal_rate(hour, base) * rng.gamma(25.0, 1 / 25.0) * spikes.get(hour, 1.0)
        series.append((hour, int(rng.poisson(rate))))
    return series


def test_clear_spike_is_found_with_its_window() -> None:
    spike_start = START + timedelta(weeks=6, days=2, hours=14)
    injected = {spike_start + i * HOUR: 4.0 for i in range(3)}
    series = make_series(7, 30, seed=1, spikes=injected)
    now = spike_start + timedelta(hours=3)
    found = detect(series, now)
    assert len(found) == 1
    spike = found[0]
    assert spike.start == spike_start
    assert spike.end == now
    assert spike.ongoing
    assert spike.observed > 2.5 * spike.expected
    assert spike.ratio > 2.5
    assert spike.score > 4


def test_flat_seasonal_series_raises_no_alarm() -> None:
    for seed in range(3):
        series = make_series(8, 30, seed=seed)
        now = START + timedelta(weeks=8)
        assert detect(series, now, SpikeConfig(lookback=timedelta(weeks=2))) == []


def test_small_counts_never_alarm_below_the_minimum() -> None:
    series = make_series(7, 1.0, seed=3, spikes={START + timedelta(weeks=6, hours=3): 6.0})
    assert (
        detect(series, START + timedelta(weeks=7), SpikeConfig(lookback=timedelta(weeks=1))) == []
    )


def test_no_baseline_means_no_verdict() -> None:
    series = make_series(1, 30, seed=4)
    assert judge_hours(series, START + timedelta(weeks=1)) == []
    assert detect([], START) == []


def test_missing_hours_count_as_zero_and_timestamps_are_bucketed() -> None:
    assert hourly([(START + timedelta(minutes=5), 2), (START + timedelta(minutes=50), 3)]) == {
        START: 5
    }
    # two weeks of a quiet series stored sparsely, then a burst
    sparse = [(START + timedelta(days=d, hours=12), 1) for d in range(21)]
    sparse.append((START + timedelta(days=21, hours=12), 40))
    found = detect(sparse, START + timedelta(days=21, hours=13))
    assert [s.start for s in found] == [START + timedelta(days=21, hours=12)]


def test_tail_probabilities_match_known_values() -> None:
    # Poisson(10): P(X >= 30) = 2.5099512e-07; Binomial(100, 0.15): P(X >= 30) = 1.0548126e-04
    assert math.exp(_negative_binomial_log_sf(30, 10, 10)) == pytest.approx(2.5099512e-07, rel=1e-6)
    assert math.exp(_binomial_log_sf(30, 100, 0.15)) == pytest.approx(1.0548126e-04, rel=1e-6)
    assert math.exp(_negative_binomial_log_sf(30, 10, 25)) > math.exp(
        _negative_binomial_log_sf(30, 10, 10)
    )
    assert false_alarm_rate(1e-4) == pytest.approx(0.0168)


def sentiment_series(
    days: int, seed: int, drop_at: datetime | None = None
) -> list[tuple[datetime, int, int]]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(days * 24):
        hour = START + i * HOUR
        total = int(rng.poisson(seasonal_rate(hour, 20)))
        share = 0.6 if drop_at is not None and drop_at <= hour < drop_at + 6 * HOUR else 0.2
        rows.append((hour, int(rng.binomial(total, share)), total))
    return rows


def test_sentiment_drop_is_found_and_normal_days_are_not() -> None:
    drop_at = START + timedelta(days=20, hours=12)
    found = detect_sentiment_drop(sentiment_series(21, 5, drop_at), drop_at + 4 * HOUR)
    assert len(found) == 1
    assert found[0].share > 0.4
    assert found[0].baseline_share == pytest.approx(0.2, abs=0.05)
    assert found[0].ongoing
    calm = SentimentConfig(lookback=timedelta(days=5))
    assert detect_sentiment_drop(sentiment_series(21, 6), START + timedelta(days=21), calm) == []


def test_a_sustained_moderate_surge_is_found_by_the_window_test() -> None:
    surge_start = START + timedelta(weeks=6, days=1, hours=2)  # night: about 2.5 mentions an hour
    injected = {surge_start + i * HOUR: 3.5 for i in range(4)}
    series = make_series(7, 10, seed=0, spikes=injected)
    now = surge_start + timedelta(hours=4)
    assert detect(series, now, SpikeConfig(window_hours=1)) == []  # no single hour is enough
    [spike] = detect(series, now)
    assert spike.start == surge_start
    assert spike.observed > 3 * spike.expected
    assert spike.detected_at is not None
    assert surge_start < spike.detected_at <= now
