"""SLA calendar: weekends, holidays, daylight-saving changes, pauses and warning states."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.care.sla import BusinessCalendar, clock_state, resume
from pipeline.errors import ConfigError
from pipeline.settings import TeamSettings

MADRID = ZoneInfo("Europe/Madrid")


def local(*args: int, tz: ZoneInfo = MADRID) -> datetime:
    return datetime(*args, tzinfo=tz).astimezone(UTC)  # type: ignore[misc]


def team(**kwargs: object) -> TeamSettings:
    base: dict[str, object] = {
        "name": "care",
        "timezone": "Europe/Madrid",
        "hours": ["mon-fri 09:00-17:00"],
    }
    base.update(kwargs)
    return TeamSettings.model_validate(base)


CAL = BusinessCalendar.from_team(team())


def is_open(cal: BusinessCalendar, at: datetime) -> bool:
    """Open at ``at``: the clock runs during the next second."""
    return cal.elapsed(at, at + timedelta(seconds=1)) > timedelta(0)


def test_friday_late_message_is_due_monday_morning() -> None:
    friday = local(2026, 11, 20, 16, 45)  # a Friday
    due = CAL.add(friday, timedelta(minutes=30))
    assert due == local(2026, 11, 23, 9, 15)
    assert due.tzinfo is UTC


def test_message_at_the_weekend_starts_counting_on_monday() -> None:
    saturday = local(2026, 11, 21, 12, 0)
    assert CAL.add(saturday, timedelta(minutes=30)) == local(2026, 11, 23, 9, 30)
    assert CAL.elapsed(saturday, local(2026, 11, 23, 10, 0)) == timedelta(hours=1)


def test_due_exactly_at_closing_time_stays_that_day() -> None:
    assert CAL.add(local(2026, 11, 20, 16, 30), timedelta(minutes=30)) == local(2026, 11, 20, 17)


def test_holiday_monday_is_skipped() -> None:
    cal = BusinessCalendar.from_team(team(holidays=[date(2026, 11, 23)]))
    assert cal.add(local(2026, 11, 20, 16, 45), timedelta(minutes=30)) == local(2026, 11, 24, 9, 15)
    assert not is_open(cal, local(2026, 11, 23, 10))


def test_is_open_includes_opening_and_excludes_closing() -> None:
    assert is_open(CAL, local(2026, 11, 23, 9))
    assert not is_open(CAL, local(2026, 11, 23, 17))
    assert not is_open(CAL, local(2026, 11, 22, 12))  # Sunday
    # the first open instant after Saturday morning is Monday 09:00
    assert CAL.add(local(2026, 11, 21, 8), timedelta(0)) == local(2026, 11, 23, 9)


def test_multi_day_duration_spans_business_days() -> None:
    # 8h a day: 20 business hours from Monday 9:00 is Wednesday 13:00
    assert CAL.add(local(2026, 11, 23, 9), timedelta(hours=20)) == local(2026, 11, 25, 13)


def test_spring_forward_weekend_uses_local_wall_clock() -> None:
    # Madrid moves from UTC+1 to UTC+2 on Sunday 2026-03-29
    friday = local(2026, 3, 27, 16, 45)
    due = CAL.add(friday, timedelta(minutes=30))
    assert due == datetime(2026, 3, 30, 7, 15, tzinfo=UTC)  # 09:15 CEST
    assert friday == datetime(2026, 3, 27, 15, 45, tzinfo=UTC)  # 16:45 CET


def test_fall_back_weekend_uses_local_wall_clock() -> None:
    friday = local(2026, 10, 23, 16, 45)  # CEST; Madrid falls back on Sunday 2026-10-25
    assert CAL.add(friday, timedelta(minutes=30)) == datetime(2026, 10, 26, 8, 15, tzinfo=UTC)


def test_open_hours_across_the_dst_change_count_real_time() -> None:
    cal = BusinessCalendar.from_team(team(hours=["sun 00:00-06:00"]))
    # on the spring-forward night the 00:00-06:00 window lasts five real hours
    day = local(2026, 3, 29, 0)
    assert cal.elapsed(day, day + timedelta(hours=10)) == timedelta(hours=5)
    autumn = local(2026, 10, 25, 0)
    assert cal.elapsed(autumn, autumn + timedelta(hours=10)) == timedelta(hours=7)


def test_round_the_clock_team_has_no_gap_at_midnight() -> None:
    cal = BusinessCalendar.from_team(team(hours=["mon-sun 00:00-23:59"]))
    start = local(2026, 11, 20, 23, 50)
    assert cal.add(start, timedelta(minutes=30)) == start + timedelta(minutes=30)
    assert is_open(cal, local(2026, 11, 20, 23, 59, 30))


def test_split_and_overlapping_hours_are_merged() -> None:
    cal = BusinessCalendar.from_team(
        team(hours=["mon-fri 09:00-14:00", "mon-fri 13:00-15:00", "mon-fri 16:00-19:00"])
    )
    assert cal.add(local(2026, 11, 23, 14, 30), timedelta(hours=1)) == local(2026, 11, 23, 16, 30)
    assert cal.elapsed(local(2026, 11, 23, 8), local(2026, 11, 23, 20)) == timedelta(hours=9)


def test_resume_gives_back_the_open_time_left_when_the_clock_paused() -> None:
    due = local(2026, 11, 23, 12)  # Monday noon: 2 h left on Friday 15:00 ... 17:00, 3 h Monday
    paused = local(2026, 11, 20, 15)  # Friday
    # resumed on Monday 09:00: the weekend is not counted, 5 open hours are left -> 14:00
    assert resume(CAL, due, paused_at=paused, resumed_at=local(2026, 11, 23, 9)) == local(
        2026, 11, 23, 14
    )
    # paused for one open hour on Friday: the due time moves one hour
    assert resume(CAL, due, paused_at=paused, resumed_at=local(2026, 11, 20, 16)) == local(
        2026, 11, 23, 13
    )
    # paused and resumed after hours: no open time passed, the due time stays
    evening = local(2026, 11, 20, 18)
    assert resume(CAL, due, paused_at=evening, resumed_at=local(2026, 11, 20, 20)) == due
    # already late when it paused: the breach stands
    late = local(2026, 11, 20, 14)
    assert resume(CAL, late, paused_at=paused, resumed_at=local(2026, 11, 23, 9)) == late


def test_the_clock_that_matters_now() -> None:
    warn = timedelta(minutes=10)
    due = local(2026, 11, 23, 9, 15)
    dues = {"first_response_due": due, "resolution_due": local(2026, 11, 23, 17)}
    waiting = clock_state(CAL, local(2026, 11, 23, 9, 6), warn_before=warn, **dues,
                          first_response_at=None, resolved_at=None, paused=False)  # fmt: skip
    assert waiting == {"clock": "first_response", "state": "warning"}
    answered = clock_state(CAL, local(2026, 11, 23, 9, 20), warn_before=warn, **dues,
                           first_response_at=due, resolved_at=None, paused=False)  # fmt: skip
    assert answered == {"clock": "resolution", "state": "ok"}
    paused = clock_state(CAL, local(2026, 11, 24, 9), warn_before=warn, **dues,
                         first_response_at=due, resolved_at=None, paused=True)  # fmt: skip
    assert paused == {"clock": "resolution", "state": "paused"}
    late = clock_state(CAL, local(2026, 11, 24, 9), warn_before=warn, **dues,
                       first_response_at=due, resolved_at=None, paused=False)  # fmt: skip
    assert late == {"clock": "resolution", "state": "breached"}


def test_sla_state_warns_then_breaches() -> None:
    due = local(2026, 11, 23, 9, 15)
    warn = timedelta(minutes=10)
    assert CAL.state(due, due - timedelta(minutes=11), warn) == "ok"
    assert CAL.state(due, due - timedelta(minutes=10), warn) == "warning"
    assert CAL.state(due, due, warn) == "warning"
    assert CAL.state(due, due + timedelta(seconds=1), warn) == "breached"
    # warnings count open time: Friday 16:55 is 10 open minutes before Monday 09:05
    assert CAL.state(local(2026, 11, 23, 9, 5), local(2026, 11, 20, 16, 55), warn) == "warning"


def test_calendar_without_open_hours_is_a_config_error() -> None:
    every_day = [date(2026, 1, 1) + timedelta(days=i) for i in range(3 * 366 + 30)]
    cal = BusinessCalendar.from_team(team(hours=["mon 09:00-10:00"], holidays=every_day))
    with pytest.raises(ConfigError, match="no business hours"):
        cal.add(local(2026, 1, 1, 12), timedelta(minutes=5))


moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=5))


@settings(max_examples=60, deadline=None)
@given(start=moments, duration=durations)
def test_add_and_elapsed_are_inverse(start: datetime, duration: timedelta) -> None:
    cal = BusinessCalendar.from_team(team(hours=["mon-fri 09:00-17:00", "sat 10:00-14:00"]))
    due = cal.add(start, duration)
    assert due >= start
    assert cal.elapsed(start, due) == duration
    if duration > timedelta(0):
        assert is_open(cal, due - timedelta(microseconds=1))


@settings(max_examples=60, deadline=None)
@given(start=moments, a=durations, b=durations)
def test_add_is_additive(start: datetime, a: timedelta, b: timedelta) -> None:
    assert CAL.add(CAL.add(start, a), b) == CAL.add(start, a + b)
