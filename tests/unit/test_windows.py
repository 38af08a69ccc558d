"""The platforms' messaging windows, as the case page and the connectors apply them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.care import windows

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_a_private_reply_is_once_and_within_seven_days_of_the_comment() -> None:
    fresh = windows.private_reply("facebook", T0, used=False, now=T0 + timedelta(days=6))
    assert fresh is not None and fresh.open and fresh.closes_at == T0 + timedelta(days=7)
    assert fresh.left(T0 + timedelta(days=6)) == timedelta(days=1)
    late = windows.private_reply("instagram", T0, used=False, now=T0 + timedelta(days=7))
    assert late is not None and not late.open and "7 days" in late.reason
    used = windows.private_reply("facebook", T0, used=True, now=T0 + timedelta(hours=1))
    assert used is not None and not used.open and "already used" in used.reason
    assert windows.private_reply("x", T0, used=False, now=T0) is None


def test_messenger_answers_for_24_hours_or_7_days_with_the_human_agent_tag() -> None:
    now = T0 + timedelta(hours=30)
    standard = windows.messaging("messenger", T0, now=now)
    assert standard is not None and not standard.open and not standard.template_only
    tagged = windows.messaging("messenger", T0, now=now, human_agent=True)
    assert tagged is not None and tagged.open and tagged.closes_at == T0 + timedelta(days=7)
    never = windows.messaging("instagram_dm", None, now=now)
    assert never is not None and not never.open and "not written" in never.reason


def test_whatsapp_outside_its_window_takes_only_templates() -> None:
    inside = windows.messaging("whatsapp", T0, now=T0 + timedelta(hours=23))
    assert inside is not None and inside.open and not inside.template_only
    outside = windows.messaging("whatsapp", T0, now=T0 + timedelta(hours=25), human_agent=True)
    assert outside is not None and not outside.open and outside.template_only
    assert "template" in outside.reason
    assert windows.messaging("email", T0, now=T0 + timedelta(days=30)) is None


def test_each_closed_window_says_why_with_a_code_a_reader_can_have_translated() -> None:
    now = T0
    used = windows.private_reply("facebook", now - timedelta(days=1), used=True, now=now)
    late = windows.private_reply("facebook", now - timedelta(days=8), used=False, now=now)
    never = windows.messaging("messenger", None, now=now)
    gone = windows.messaging("whatsapp", now - timedelta(hours=25), now=now)
    fresh = windows.messaging("whatsapp", now - timedelta(hours=1), now=now)
    assert [w.code for w in (used, late, never, gone, fresh)] == [  # type: ignore[union-attr]
        "used", "expired", "not_written", "closed", "open",
    ]  # fmt: skip
    assert gone is not None and gone.template_only and not gone.open
