"""Spike detection on hourly mention counts against a seasonal (hour-of-week) baseline.

The expected count for an hour is a robust average of the same local hour on the same weekday over
the previous weeks; the observed count is tested against a negative binomial whose variance allows
for the baseline's own error and for overdispersion estimated (median absolute deviation) from the
recent history. An hour is flagged only when the test is significant *and* the count is material
(minimum count and ratio); the sum of the last few hours is tested the same way to catch sustained
surges. Consecutive flagged hours form one spike. ``docs/care.md`` gives the backtested precision,
recall, delay and false alarms per week of the defaults.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pipeline.records import utc

if TYPE_CHECKING:
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
_MAX_SCORE = 300.0


@dataclass(frozen=True, slots=True)
class SpikeConfig:
    """Tuning of the volume detector; the defaults are the backtested ones."""

    weeks: int = 6  # same hour-of-week samples in the baseline
    min_weeks: int = 2  # no verdict on an hour with fewer past weeks of data
    alpha: float = 1e-5  # one-sided significance per hour
    min_count: int = 10  # an hour with fewer mentions is never a spike
    min_ratio: float = 1.5  # ...nor one under 1.5 times the expected count
    window_hours: int = 3  # also test the sum of this many hours (slower, smaller surges); 1 = off
    lookback: timedelta = timedelta(hours=24)  # hours (ending at ``now``) that are judged
    dispersion_hours: int = 4 * 168  # recent hours used to estimate overdispersion
    timezone: str = "UTC"  # where "the same hour of the week" is read


@dataclass(frozen=True, slots=True)
class Spike:
    """A run of consecutive hours well above the seasonal baseline."""

    start: datetime  # first flagged hour (UTC)
    end: datetime  # end of the last flagged hour
    observed: int  # mentions in the window
    expected: float  # baseline mentions for the window
    score: float  # -log10 p-value of the strongest test (higher is stronger)
    peak_hour: datetime
    ongoing: bool  # the last judged hour is part of it
    detected_at: datetime | None = None  # when the data first showed it (end of an hour)

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected > 0 else math.inf


@dataclass(frozen=True, slots=True)
class HourVerdict:
    """The test of one hour: what was seen, what was expected, and the evidence."""

    hour: datetime
    observed: int
    expected: float
    variance: float
    p_value: float
    flagged: bool
    decided_at: datetime | None = None  # end of the hour whose test flagged this one

    @property
    def score(self) -> float:
        return min(_MAX_SCORE, -math.log10(self.p_value)) if self.p_value > 0 else _MAX_SCORE


def hourly(series: Iterable[tuple[datetime, int]]) -> dict[datetime, int]:
    """Sum counts into UTC hour buckets (timestamps are floored to the hour)."""
    buckets: dict[datetime, int] = {}
    for moment, count in series:
        hour = floor_hour(moment)
        buckets[hour] = buckets.get(hour, 0) + int(count)
    return buckets


def floor_hour(moment: datetime) -> datetime:
    return utc(moment).replace(minute=0, second=0, microsecond=0)


def detect(
    series: Sequence[tuple[datetime, int]],
    now: datetime,
    config: SpikeConfig = SpikeConfig(),
    *,
    start: datetime | None = None,
) -> list[Spike]:
    """Volume spikes among the complete hours in ``(now - lookback, now]``.

    ``series`` holds (hour, count) pairs; hours missing between ``start`` (default: the first
    hour in the series) and ``now`` count as zero. Older history is only the baseline.
    """
    verdicts = judge_hours(series, now, config, start=start)
    return _merge(verdicts)


def judge_hours(
    series: Sequence[tuple[datetime, int]],
    now: datetime,
    config: SpikeConfig = SpikeConfig(),
    *,
    start: datetime | None = None,
) -> list[HourVerdict]:
    """The per-hour tests behind :func:`detect` (for dashboards and tuning)."""
    import numpy as np  # imported here so that importing this module stays cheap

    counts = hourly(series)
    if not counts:
        return []
    first = floor_hour(start) if start is not None else min(counts)
    last = floor_hour(now) - HOUR  # the last complete hour
    size = int((last - first) / HOUR) + 1
    if size <= 0:
        return []
    observed = np.zeros(size, dtype=np.int64)
    for hour, count in counts.items():
        index = int((hour - first) / HOUR)
        if 0 <= index < size:
            observed[index] = count
    expected, weeks = _baselines(observed, _utc_offsets(first, size, config.timezone), config)
    judged_from = max(0, size - int(config.lookback / HOUR))
    kappa = _overdispersion(observed, expected, weeks, judged_from, config)
    verdicts: dict[int, HourVerdict] = {}
    for index in range(judged_from, size):
        if weeks[index] < config.min_weeks:
            continue
        hour = first + index * HOUR
        verdict = _test(
            hour, int(observed[index]), (float(expected[index]), int(weeks[index])), kappa, config
        )
        verdicts[index] = replace(verdict, decided_at=hour + HOUR if verdict.flagged else None)
        begin = index - config.window_hours + 1
        if config.window_hours > 1 and begin >= judged_from and not verdict.flagged:
            _test_window(verdicts, range(begin, index + 1), hour + HOUR, kappa, config)
    return [verdicts[i] for i in sorted(verdicts)]


def _test_window(
    verdicts: dict[int, HourVerdict],
    indexes: range,
    decided_at: datetime,
    kappa: float,
    config: SpikeConfig,
) -> None:
    """Test the sum of several hours; when it is a surge, flag its hours above their baseline."""
    window = [verdicts.get(i) for i in indexes]
    if any(v is None for v in window):
        return
    hours = [v for v in window if v is not None]
    # a window holding an already-flagged hour is explained by it, and the surge must go on now
    if any(v.flagged for v in hours) or hours[-1].observed <= hours[-1].expected:
        return
    observed = sum(v.observed for v in hours)
    expected = sum(v.expected for v in hours)
    mean = max(expected, 0.5)
    variance = sum(v.variance for v in hours)
    if observed < config.min_count or observed < config.min_ratio * expected or observed <= mean:
        return
    p_value = math.exp(_negative_binomial_log_sf(observed, mean, max(variance, mean)))
    if p_value >= config.alpha:
        return
    for index, verdict in zip(indexes, hours, strict=True):
        if verdict.observed > verdict.expected and not verdict.flagged:
            verdicts[index] = replace(
                verdict, p_value=min(verdict.p_value, p_value), flagged=True, decided_at=decided_at
            )


@dataclass(frozen=True, slots=True)
class SentimentConfig:
    """Tuning of the negative-share detector."""

    window: timedelta = timedelta(hours=6)  # the recent window whose share is tested
    baseline: timedelta = timedelta(days=14)  # the history before it that sets the usual share
    alpha: float = 1e-4
    min_total: int = 20  # mentions in the window
    min_negative: int = 10
    min_increase: float = 0.15  # absolute rise of the negative share
    min_ratio: float = 1.5  # relative rise of the negative share
    lookback: timedelta = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class SentimentDrop:
    """A period where the share of negative mentions rose well above its usual level."""

    start: datetime
    end: datetime
    negative: int  # in the strongest window
    total: int
    share: float
    baseline_share: float
    score: float
    ongoing: bool


def detect_sentiment_drop(
    series: Sequence[tuple[datetime, int, int]],
    now: datetime,
    config: SentimentConfig = SentimentConfig(),
) -> list[SentimentDrop]:
    """Windows in the lookback whose negative share is significantly above the baseline share.

    ``series`` holds (hour, negative mentions, all mentions). The test is a binomial upper tail
    of the window's negatives given its total and the pooled share of the baseline period.
    """
    negatives: dict[datetime, int] = {}
    totals: dict[datetime, int] = {}
    for moment, negative, total in series:
        hour = floor_hour(moment)
        negatives[hour] = negatives.get(hour, 0) + int(negative)
        totals[hour] = totals.get(hour, 0) + int(total)
    last_end = floor_hour(now)
    end = last_end - config.lookback + HOUR
    flagged: list[tuple[datetime, datetime, int, int, float, float]] = []
    while end <= last_end:
        begin = end - config.window
        neg, tot = _window_sum(negatives, totals, begin, end)
        base_neg, base_tot = _window_sum(negatives, totals, begin - config.baseline, begin)
        end += HOUR
        if base_tot == 0 or tot < config.min_total or neg < config.min_negative:
            continue
        share, p0 = neg / tot, max(base_neg / base_tot, 0.5 / base_tot)
        if share - p0 < config.min_increase or share < config.min_ratio * p0:
            continue
        p_value = math.exp(_binomial_log_sf(neg, tot, p0))
        if p_value < config.alpha:
            score = min(_MAX_SCORE, -math.log10(p_value)) if p_value > 0 else _MAX_SCORE
            flagged.append((begin, end - HOUR, neg, tot, p0, score))
    drops: list[SentimentDrop] = []
    for begin, finish, neg, tot, p0, score in flagged:
        if drops and begin <= drops[-1].end:
            prev = drops[-1]
            stronger = score > prev.score
            drops[-1] = SentimentDrop(
                prev.start,
                finish,
                neg if stronger else prev.negative,
                tot if stronger else prev.total,
                neg / tot if stronger else prev.share,
                p0 if stronger else prev.baseline_share,
                max(score, prev.score),
                finish == last_end,
            )
        else:
            drops.append(
                SentimentDrop(begin, finish, neg, tot, neg / tot, p0, score, finish == last_end)
            )
    return drops


def false_alarm_rate(alpha: float, hours_per_week: int = 168) -> float:
    """Upper bound of false alarms per week per series if the baseline model held exactly."""
    return alpha * hours_per_week


def _utc_offsets(first: datetime, size: int, timezone: str) -> NDArray[Any]:
    """The zone's UTC offset, in whole hours, at each hour of the series."""
    import numpy as np

    zone = ZoneInfo(timezone)
    offsets = np.zeros(size, dtype=np.int64)
    if timezone == "UTC":
        return offsets
    for index in range(size):
        offset = (first + index * HOUR).astimezone(zone).utcoffset() or timedelta(0)
        offsets[index] = round(offset / HOUR)
    return offsets


def _baselines(
    observed: NDArray[Any], offsets: NDArray[Any], config: SpikeConfig
) -> tuple[NDArray[Any], NDArray[Any]]:
    """Per hour: the robust mean of the same local hour-of-week in past weeks, and their number.

    With four or more weeks the highest and lowest are dropped (a trimmed mean, so an old spike
    or outage does not move the baseline); with two or three the median is used.
    """
    import numpy as np

    size = len(observed)
    index = np.arange(size)
    samples = np.full((size, config.weeks), np.inf)
    for week in range(1, config.weeks + 1):
        back = index - 168 * week
        # shift by the change of UTC offset so "Monday 10:00 local" stays 10:00 across DST
        back = back + offsets - offsets[np.clip(back, 0, None)]
        ok = back >= 0
        samples[ok, week - 1] = observed[back[ok]]
    weeks = np.isfinite(samples).sum(axis=1)
    ordered = np.sort(samples, axis=1)  # missing weeks (inf) sort last
    finite = np.where(np.isfinite(ordered), ordered, 0.0)
    rows = np.arange(size)
    top = finite[rows, np.clip(weeks - 1, 0, None)]
    trimmed = (finite.sum(axis=1) - finite[:, 0] - top) / np.clip(weeks - 2, 1, None)
    median3 = finite[:, 1]
    median2 = (finite[:, 0] + finite[:, 1]) / 2
    expected = np.where(weeks >= 4, trimmed, np.where(weeks == 3, median3, median2))
    return expected, weeks


def _overdispersion(
    observed: NDArray[Any],
    expected: NDArray[Any],
    weeks: NDArray[Any],
    until: int,
    config: SpikeConfig,
) -> float:
    """The negative binomial's extra variance (variance = m + kappa m^2), fitted robustly.

    Chooses kappa so that the median absolute Pearson residual of the recent history before the
    judged hours matches a unit normal (spikes and outages barely move a median).
    """
    import numpy as np

    begin = max(0, until - config.dispersion_hours)
    sel = slice(begin, until)
    ok = weeks[sel] >= config.min_weeks
    if int(ok.sum()) < 48:
        return 0.0
    x = observed[sel][ok].astype(float)
    mean = np.maximum(expected[sel][ok], 0.5)
    inflation = 1 + 1 / weeks[sel][ok]

    def spread(kappa: float) -> float:
        residual = (x - mean) / np.sqrt((mean + kappa * mean * mean) * inflation)
        return float(1.4826 * np.median(np.abs(residual - np.median(residual))))

    if spread(0.0) <= 1.0:
        return 0.0
    low, high = 0.0, 4.0
    for _ in range(30):
        middle = (low + high) / 2
        low, high = (middle, high) if spread(middle) > 1.0 else (low, middle)
    return high


def _test(
    hour: datetime, observed: int, baseline: tuple[float, int], kappa: float, config: SpikeConfig
) -> HourVerdict:
    expected, n = baseline
    mean = max(expected, 0.5)  # an empty baseline still allows a few mentions
    variance = (mean + kappa * mean * mean) * (1 + 1 / n)
    if observed <= mean:
        return HourVerdict(hour, observed, expected, variance, 1.0, False)
    p_value = math.exp(_negative_binomial_log_sf(observed, mean, variance))
    flagged = (
        p_value < config.alpha
        and observed >= config.min_count
        and observed >= config.min_ratio * expected
    )
    return HourVerdict(hour, observed, expected, variance, p_value, flagged)


def _merge(verdicts: Sequence[HourVerdict]) -> list[Spike]:
    spikes: list[Spike] = []
    last = verdicts[-1].hour if verdicts else None
    run: list[HourVerdict] = []
    for verdict in [*verdicts, None]:
        if verdict is not None and verdict.flagged:
            if run and verdict.hour != run[-1].hour + HOUR:
                spikes.append(_spike(run, last))
                run = []
            run.append(verdict)
        elif run:
            spikes.append(_spike(run, last))
            run = []
    return spikes


def _spike(run: Sequence[HourVerdict], last: datetime | None) -> Spike:
    peak = max(run, key=lambda v: v.score)
    return Spike(
        start=run[0].hour,
        end=run[-1].hour + HOUR,
        observed=sum(v.observed for v in run),
        expected=sum(v.expected for v in run),
        score=peak.score,
        peak_hour=peak.hour,
        ongoing=run[-1].hour == last,
        detected_at=min((v.decided_at for v in run if v.decided_at), default=None),
    )


def _window_sum(
    negatives: Mapping[datetime, int],
    totals: Mapping[datetime, int],
    begin: datetime,
    end: datetime,
) -> tuple[int, int]:
    neg = tot = 0
    hour = begin
    while hour < end:
        neg += negatives.get(hour, 0)
        tot += totals.get(hour, 0)
        hour += HOUR
    return neg, tot


def _negative_binomial_log_sf(k: int, mean: float, variance: float) -> float:
    """log P(X >= k) for a negative binomial with this mean and variance (Poisson if equal)."""
    if variance <= mean * (1 + 1e-9):
        log_pmf = k * math.log(mean) - mean - math.lgamma(k + 1)

        def ratio(j: int) -> float:
            return mean / (j + 1)

    else:
        r = mean * mean / (variance - mean)
        q = mean / variance  # success probability p = r / (r + mean)
        log_pmf = (
            math.lgamma(k + r)
            - math.lgamma(r)
            - math.lgamma(k + 1)
            + r * math.log(q)
            + k * math.log1p(-q)
        )

        def ratio(j: int) -> float:
            return (j + r) / (j + 1) * (1 - q)

    return log_pmf + math.log(_tail_sum(k, ratio, math.inf))


def _binomial_log_sf(k: int, n: int, p: float) -> float:
    """log P(X >= k) for a binomial(n, p)."""
    if k <= 0:
        return 0.0
    if p >= 1:
        return 0.0
    log_pmf = (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )
    return min(0.0, log_pmf + math.log(_tail_sum(k, lambda j: (n - j) / (j + 1) * p / (1 - p), n)))


def _tail_sum(k: int, ratio: Callable[[int], float], last: float) -> float:
    """Sum of pmf(j) / pmf(k) for j >= k, from the successive pmf ratios."""
    total = term = 1.0
    j = k
    while j < last and j < k + 1_000_000:
        term *= ratio(j)
        total += term
        j += 1
        if term < 1e-17 * total:
            break
    return total
