"""The one SLA model: a team's business calendar (zone, weekly hours, holidays), due dates,
pause and resume, warning and breach. Triage sets due dates with it, cases resume paused clocks
with it, the queue shows its states, and a breach is ``now`` past a running clock's due time.

Datetimes in and out are aware UTC; the calendar works in the team's local time, so daylight-saving
changes and holidays fall where the team sees them. Durations are real elapsed time while open.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pipeline.errors import ConfigError
from pipeline.records import utc
from pipeline.settings import SlaSettings, TeamSettings

logger = logging.getLogger(__name__)

SlaState = Literal["ok", "warning", "breached"]

# A closing time of 23:59 means "until midnight", so "mon-sun 00:00-23:59" is round the clock.
_END_OF_DAY = time(23, 59)
# How far ahead to look for open hours before deciding the calendar never opens.
_HORIZON_DAYS = 3 * 366
_ZERO = timedelta(0)


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Weekly open hours in a time zone, minus holidays; answers "when is this due?"."""

    tz: ZoneInfo
    weekly: dict[int, tuple[tuple[time, time], ...]]  # weekday (0 = Monday) -> merged intervals
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not any(self.weekly.values()):
            raise ConfigError("the business hours have no open interval", key="teams.hours")

    @classmethod
    def from_team(cls, team: TeamSettings) -> BusinessCalendar:
        """Build the calendar from a ``[[teams]]`` entry (timezone, hours, holidays)."""
        weekly = {day: _merge(spans) for day, spans in team.weekly_hours().items()}
        try:
            return cls(ZoneInfo(team.timezone), weekly, frozenset(team.holidays))
        except ConfigError as exc:
            raise ConfigError(
                "the business hours have no open interval", key=f"teams.{team.name}.hours"
            ) from exc

    @classmethod
    def always_open(cls) -> BusinessCalendar:
        """A round-the-clock calendar in UTC (for teams without business hours)."""
        return cls(ZoneInfo("UTC"), {day: ((time(0), _END_OF_DAY),) for day in range(7)})

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when ``duration`` of open time has passed since ``start``."""
        if duration < _ZERO:
            raise ValueError("an SLA duration cannot be negative")
        start = utc(start)
        remaining = duration
        for span_start, span_end in self._spans_from(start):
            available = span_end - span_start
            if remaining <= available:
                return span_start + remaining
            remaining -= available
        raise AssertionError("unreachable: _spans_from never ends")  # pragma: no cover

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Open time between ``start`` and ``end`` (zero when ``end`` is not after ``start``)."""
        start, end = utc(start), utc(end)
        total = _ZERO
        if end <= start:
            return total
        for span_start, span_end in self._spans_from(start):
            if span_start >= end:
                break
            total += min(span_end, end) - span_start
        return total

    def state(self, due: datetime, now: datetime, warn_before: timedelta) -> SlaState:
        """Breached once ``now`` is past ``due``; warning within ``warn_before`` of open time."""
        due, now = utc(due), utc(now)
        if now > due:
            return "breached"
        return "warning" if self.elapsed(now, due) <= warn_before else "ok"

    def _day_spans(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open intervals of one local date, in UTC."""
        if day in self.holidays:
            return []
        spans = []
        for opening, closing in self.weekly.get(day.weekday(), ()):
            start = datetime.combine(day, opening, tzinfo=self.tz).astimezone(UTC)
            if closing == _END_OF_DAY:
                end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
            else:
                end = datetime.combine(day, closing, tzinfo=self.tz)
            end = end.astimezone(UTC)
            if end > start:
                spans.append((start, end))
        return spans

    def _spans_from(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals (clipped to start at ``at``) in order, forever."""
        day = at.astimezone(self.tz).date() - timedelta(days=1)
        days_without_hours = 0
        while True:
            spans = [(max(s, at), e) for s, e in self._day_spans(day) if e > at]
            if spans:
                days_without_hours = 0
                yield from spans
            else:
                days_without_hours += 1
                if days_without_hours > _HORIZON_DAYS:
                    raise ConfigError(
                        f"no business hours in the {_HORIZON_DAYS} days after {day.isoformat()}",
                        key="teams.holidays",
                        hint="check the team's hours and holidays",
                    )
            day += timedelta(days=1)


def _merge(spans: Iterable[tuple[time, time]]) -> tuple[tuple[time, time], ...]:
    """Sort and merge overlapping or touching intervals of one weekday."""
    merged: list[tuple[time, time]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


DEFAULT_WARN_BEFORE = SlaSettings().warn_before


def resume(
    calendar: BusinessCalendar, due: datetime, *, paused_at: datetime, resumed_at: datetime
) -> datetime:
    """The due time after a pause: the open time that was left when the clock paused is left
    again when it resumes (a case paused Friday evening does not lose the weekend)."""
    due, paused_at, resumed_at = utc(due), utc(paused_at), utc(resumed_at)
    if due <= paused_at or resumed_at <= paused_at:
        return due  # late already when it paused, or nothing to make up
    return calendar.add(resumed_at, calendar.elapsed(paused_at, due))


def clock_state(
    calendar: BusinessCalendar,
    now: datetime,
    *,
    warn_before: timedelta,
    first_response_due: datetime | None,
    first_response_at: datetime | None,
    resolution_due: datetime | None,
    resolved_at: datetime | None,
    paused: bool,
) -> dict[str, str | None]:
    """The clock that matters now (first response until answered, then resolution) and its
    state: ok, warning (within ``warn_before`` of open time), breached, paused, or done."""
    if first_response_at is None:
        clock, due = "first_response", first_response_due
    elif resolved_at is None:
        clock, due = "resolution", resolution_due
    else:
        return {"clock": None, "state": "done"}
    if paused and clock == "resolution":
        return {"clock": clock, "state": "paused"}
    if due is None:
        return {"clock": clock, "state": "ok"}
    return {"clock": clock, "state": calendar.state(due, now, warn_before)}
