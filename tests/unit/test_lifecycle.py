"""The case state machine: every path follows ARCHITECTURE.md's lifecycle."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipeline.care import lifecycle


def test_the_happy_path_reaches_closed():
    status = "new"
    for action in ("acknowledge", "private_message", "resolve", "close_public", "close"):
        assert lifecycle.allowed(action, status), (action, status)
        status = lifecycle.next_status(action, status, deflected=True)
    assert status == "closed"


def test_a_closed_or_dismissed_case_only_reopens():
    for final in lifecycle.FINAL_STATUSES:
        assert lifecycle.actions_from(final) == ["reopen"]


def test_reopen_returns_to_the_private_conversation_only_if_there_was_one():
    assert lifecycle.next_status("reopen", "closed", deflected=True) == "in_private"
    assert lifecycle.next_status("reopen", "dismissed", deflected=False) == "new"


def test_a_customer_writing_after_resolution_brings_the_case_back():
    assert lifecycle.next_status("customer_reply", "resolved", deflected=True) == "in_private"


@given(st.lists(st.sampled_from(lifecycle.ACTIONS), max_size=30), st.booleans())
def test_any_sequence_of_allowed_actions_stays_inside_the_lifecycle(actions, deflected):
    status = "new"
    for action in actions:
        if not lifecycle.allowed(action, status):
            continue
        before = status
        status = lifecycle.next_status(action, status, deflected=deflected)
        assert status in lifecycle.STATUSES
        if action in ("escalate", "assign"):
            assert status == before  # escalation keeps the case open, SLA running
        if before == "new":
            # nothing jumps from new straight to resolved or closed
            assert status not in ("resolved", "closed_public", "closed")


def test_closing_publicly_requires_a_resolution_first():
    for status in ("new", "acknowledged", "in_private"):
        assert not lifecycle.allowed("close_public", status)
