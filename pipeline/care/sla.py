"""SLA clocks in business hours: a team's calendar (zone, weekly hours, holidays) and SLA states.

Datetimes in and out are aware UTC; the calendar works in the team's local time, so daylight-saving
changes and holidays fall where the team sees them. Durations are real elapsed time while open.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pipeline.errors import ConfigError
from pipeline.records import utc
from pipeline.settings import SlaSettings, TeamSettings

logger = logging.getLogger(__name__)

SlaState = Literal["ok", "warning", "breached"]
Pause = tuple[datetime, datetime | None]  # (paused at, resumed at or None while still paused)

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

    def is_open(self, at: datetime) -> bool:
        """True when ``at`` falls inside an open interval (start included, end excluded)."""
        at = utc(at)
        local_day = at.astimezone(self.tz).date()
        for day in (local_day - timedelta(days=1), local_day):
            for start, end in self._day_spans(day):
                if start <= at < end:
                    return True
        return False

    def next_open(self, at: datetime) -> datetime:
        """The first open instant at or after ``at``."""
        at = utc(at)
        start, _end = next(self._spans_from(at))
        return max(start, at)

    def add(
        self, start: datetime, duration: timedelta, *, pauses: Sequence[Pause] = ()
    ) -> datetime:
        """The instant when ``duration`` of open time has passed since ``start``.

        With ``pauses`` the clock also stops inside those intervals; a pause still open (``None``
        end) is treated as lasting forever, so use :meth:`due` when that can happen.
        """
        due = self.due(start, duration, pauses=pauses)
        if due is None:
            raise ValueError("the SLA clock is paused indefinitely; use due() to get None")
        return due

    def due(
        self, start: datetime, duration: timedelta, *, pauses: Sequence[Pause] = ()
    ) -> datetime | None:
        """Like :meth:`add`, but ``None`` when an open-ended pause stops the clock before due."""
        if duration < _ZERO:
            raise ValueError("an SLA duration cannot be negative")
        start = utc(start)
        remaining = duration
        for span_start, span_end in _subtract(self._spans_from(start), _normalise(pauses)):
            if span_end is None:
                return None
            available = span_end - span_start
            if remaining <= available:
                return span_start + remaining
            remaining -= available
        return None

    def elapsed(self, start: datetime, end: datetime, *, pauses: Sequence[Pause] = ()) -> timedelta:
        """Open time between ``start`` and ``end`` (zero when ``end`` is not after ``start``)."""
        start, end = utc(start), utc(end)
        total = _ZERO
        if end <= start:
            return total
        for span_start, span_end in _subtract(self._spans_from(start), _normalise(pauses)):
            if span_start >= end or span_end is None:
                break
            total += min(span_end, end) - span_start
        return total

    def remaining(self, due: datetime, now: datetime, *, pauses: Sequence[Pause] = ()) -> timedelta:
        """Open time left until ``due`` (negative wall-clock overrun once past it)."""
        due, now = utc(due), utc(now)
        if now > due:
            return due - now
        return self.elapsed(now, due, pauses=pauses)

    def state(self, due: datetime, now: datetime, warn_before: timedelta) -> SlaState:
        """Like :func:`sla_state`, but ``warn_before`` counts open time only."""
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


def sla_state(due: datetime, now: datetime, warn_before: timedelta) -> SlaState:
    """Breached once ``now`` is past ``due``, warning within ``warn_before`` of it, else ok."""
    due, now = utc(due), utc(now)
    if now > due:
        return "breached"
    return "warning" if due - now <= warn_before else "ok"


@dataclass(frozen=True, slots=True)
class SlaStatus:
    """Where a case stands against its team's first-response and resolution SLAs."""

    first_response_due: datetime | None  # None while paused indefinitely
    resolution_due: datetime | None
    first_response: SlaState
    resolution: SlaState
    first_response_met: bool | None  # None until the first response is sent
    resolution_met: bool | None  # None until resolved
    business_time_open: timedelta  # open time used so far, pauses excluded

    @property
    def breached(self) -> bool:
        return "breached" in (self.first_response, self.resolution)


def evaluate(
    calendar: BusinessCalendar,
    sla: SlaSettings,
    opened_at: datetime,
    now: datetime,
    *,
    first_response_at: datetime | None = None,
    resolved_at: datetime | None = None,
    pauses: Sequence[Pause] = (),
) -> SlaStatus:
    """Compute both SLA clocks of a case; the first response clock never pauses.

    A clock that has stopped (response sent, case resolved) is judged at the moment it stopped.
    """
    opened_at, now = utc(opened_at), utc(now)
    first_due = calendar.due(opened_at, sla.first_response)
    resolution_due = calendar.due(opened_at, sla.resolution, pauses=pauses)
    first_state, first_met = _judge(calendar, first_due, now, first_response_at, sla.warn_before)
    res_state, res_met = _judge(calendar, resolution_due, now, resolved_at, sla.warn_before)
    stop = utc(resolved_at) if resolved_at is not None else now
    return SlaStatus(
        first_response_due=first_due,
        resolution_due=resolution_due,
        first_response=first_state,
        resolution=res_state,
        first_response_met=first_met,
        resolution_met=res_met,
        business_time_open=calendar.elapsed(opened_at, stop, pauses=pauses),
    )


def _judge(
    calendar: BusinessCalendar,
    due: datetime | None,
    now: datetime,
    done_at: datetime | None,
    warn_before: timedelta,
) -> tuple[SlaState, bool | None]:
    if done_at is not None:
        met = due is None or utc(done_at) <= due
        return ("ok" if met else "breached"), met
    if due is None:
        return "ok", None
    return calendar.state(due, now, warn_before), None


def _merge(spans: Iterable[tuple[time, time]]) -> tuple[tuple[time, time], ...]:
    """Sort and merge overlapping or touching intervals of one weekday."""
    merged: list[tuple[time, time]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _normalise(pauses: Sequence[Pause]) -> list[tuple[datetime, datetime | None]]:
    """Pauses as sorted, merged UTC intervals; an open pause swallows everything after it."""
    result: list[tuple[datetime, datetime | None]] = []
    for start, end in sorted(((utc(s), utc(e) if e else None) for s, e in pauses), key=_pause_key):
        if end is not None and end <= start:
            continue
        if result:
            last_start, last_end = result[-1]
            if last_end is None:
                break
            if start <= last_end:
                result[-1] = (last_start, None if end is None else max(last_end, end))
                continue
        result.append((start, end))
    return result


def _pause_key(pause: tuple[datetime, datetime | None]) -> datetime:
    return pause[0]


def _ended_by(pause: tuple[datetime, datetime | None], at: datetime) -> bool:
    return pause[1] is not None and pause[1] <= at


def _subtract(
    spans: Iterator[tuple[datetime, datetime]], pauses: list[tuple[datetime, datetime | None]]
) -> Iterator[tuple[datetime, datetime | None]]:
    """Open spans minus pauses; yields ``(start, None)`` once an open-ended pause begins."""
    index = 0
    for start, end in spans:
        while start < end:
            while index < len(pauses) and _ended_by(pauses[index], start):
                index += 1
            if index >= len(pauses):
                yield start, end
                break
            pause_start, pause_end = pauses[index]
            if pause_start >= end:
                yield start, end
                break
            if pause_start > start:
                yield start, pause_start
            if pause_end is None:
                yield max(start, pause_start), None
                return
            start = max(start, pause_end)


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
