"""Triage opens, routes and joins cases; case actions follow the lifecycle with a full audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipeline.care.cases import ActionRequest, CaseService
from pipeline.care.customers import set_shift
from pipeline.errors import CaseError
from pipeline.stages.triage import triage_pending
from pipeline.store import rows
from tests.conftest import seed_scored


def test_a_spanish_complaint_opens_a_case_routed_to_the_spanish_team(store, example_settings):
    seed_scored(store, native_id="1", text="Orbita lleva 3 días sin fibra, fatal", lang="es")
    result = triage_pending(store, example_settings)
    assert len(result.opened) == 1
    with store.read() as cur:
        (case,) = rows(cur, "SELECT * FROM cases")
        (event,) = rows(cur, "SELECT * FROM case_events")
    assert case["status"] == "new"
    assert case["team"] == "atencion-es"
    assert case["level"] == "country"
    assert case["assignee"] in {"lucia", "mateo"}
    assert case["first_response_due"] > case["opened_at"]
    assert case["resolution_due"] > case["first_response_due"]
    assert event["action"] == "open" and event["actor"] == "pipeline"


def test_critical_urgency_goes_to_the_crisis_team_at_head_office(store, example_settings):
    seed_scored(store, native_id="1", text="Orbita: el router echa chispas y huele a quemado",
                urgency_level=3, reasons=("safety: fire",))  # fmt: skip
    triage_pending(store, example_settings)
    with store.read() as cur:
        (case,) = rows(cur, "SELECT team, level, urgency_reasons FROM cases")
    assert (case["team"], case["level"]) == ("crisis", "head_office")
    assert case["urgency_reasons"] == ["safety: fire"]


def test_competitor_praise_and_spam_open_no_case(store, example_settings):
    seed_scored(store, native_id="1", text="Celera va fatal", brand="Celera")
    seed_scored(store, native_id="2", text="Orbita crypto giveaway click here", author="bot")
    seed_scored(store, native_id="3", text="Me encanta Orbita", author="fan",
                sentiment="positive", complaint=0.05, urgency_level=0)  # fmt: skip
    result = triage_pending(store, example_settings)
    assert result.opened == []
    assert result.ignored == 3


def test_a_second_complaint_from_the_same_author_joins_the_open_case(store, example_settings):
    seed_scored(store, native_id="1", text="Orbita sin servicio")
    triage_pending(store, example_settings)
    seed_scored(
        store, native_id="2", text="Orbita sigo sin servicio, nadie contesta", urgency_level=2
    )
    result = triage_pending(store, example_settings)
    assert result.opened == [] and result.attached == 1
    with store.read() as cur:
        assert rows(cur, "SELECT count(*) AS n FROM cases")[0]["n"] == 1
        assert rows(cur, "SELECT urgency_level FROM cases")[0]["urgency_level"] == 2
        assert rows(cur, "SELECT count(*) AS n FROM case_mentions")[0]["n"] == 2


@pytest.fixture
def case_id(store, example_settings):
    seed_scored(store, native_id="1", text="Orbita no me funciona el móvil", author="ana")
    return triage_pending(store, example_settings).opened[0]


def test_actions_follow_the_lifecycle_and_leave_an_audit_trail(store, example_settings, case_id):
    cases = CaseService(store, example_settings)
    agent = ActionRequest(actor="lucia")
    with pytest.raises(CaseError, match=r"cannot resolve a case that is new.*allowed now"):
        cases.act(case_id, "resolve", agent)
    cases.act(case_id, "acknowledge", agent)
    cases.act(case_id, "private_message", agent)
    cases.act(
        case_id, "customer_reply", ActionRequest(actor="lucia", text="Mi número es 600123123")
    )
    cases.act(case_id, "resolve", agent)
    detail = cases.act(case_id, "close_public", agent)
    assert detail["case"]["status"] == "closed_public"
    events = [(e["action"], e["from_status"], e["to_status"], e["actor"]) for e in detail["events"]]
    assert events == [
        ("open", None, "new", "pipeline"),
        ("acknowledge", "new", "acknowledged", "lucia"),
        ("private_message", "acknowledged", "in_private", "lucia"),
        ("customer_reply", "in_private", "in_private", "lucia"),
        ("resolve", "in_private", "resolved", "lucia"),
        ("close_public", "resolved", "closed_public", "lucia"),
    ]
    kinds = [(o["kind"], o["lang"], o["status"]) for o in detail["outbox"]]
    assert kinds == [
        ("public_reply", "es", "pending"),
        ("private_message", "es", "pending"),
        ("public_close", "es", "pending"),
    ]
    ack = detail["outbox"][0]
    assert ack["text"].startswith("Hola @ana") and ack["in_reply_to"] == "1"
    assert detail["outbox"][1]["recipient"] == "ana"
    assert detail["outbox"][1]["private_channel"] == "dm"
    assert detail["case"]["first_response_at"] is not None


def test_dismiss_needs_a_reason_and_escalate_needs_another_team(store, example_settings, case_id):
    cases = CaseService(store, example_settings)
    with pytest.raises(CaseError, match="needs a reason"):
        cases.act(case_id, "dismiss", ActionRequest(actor="lucia"))
    with pytest.raises(CaseError, match="another team or level"):
        cases.act(case_id, "escalate", ActionRequest(actor="lucia", reason="x", team="atencion-es"))
    detail = cases.act(
        case_id, "escalate", ActionRequest(actor="lucia", reason="riesgo legal", team="crisis")
    )
    assert (detail["case"]["team"], detail["case"]["level"]) == ("crisis", "head_office")
    assert detail["case"]["status"] == "new"  # escalation keeps the case open
    detail = cases.act(case_id, "dismiss", ActionRequest(actor="lucia", reason="spam"))
    assert detail["case"]["status"] == "dismissed"
    assert detail["case"]["actions"] == ["reopen"]


def test_youtube_deflection_points_to_the_configured_private_channel(store, example_settings):
    seed_scored(store, native_id="yt1", text="Orbita me cobra de más", platform="youtube", lang="en",
                author="Bob")  # fmt: skip
    (case_id,) = triage_pending(store, example_settings).opened
    preview = CaseService(store, example_settings).preview(case_id, "acknowledge")
    assert example_settings.private_channel.address in preview.text
    assert preview.lang == "en" and preview.text.startswith("Hi Bob")
    private = CaseService(store, example_settings).preview(case_id, "private_message")
    assert private.visibility == "private" and "email" in private.where


def test_escalating_up_moves_the_case_to_head_office_with_the_reason(
    store, example_settings, case_id
):
    cases = CaseService(store, example_settings)
    detail = cases.act(
        case_id, "escalate", ActionRequest(actor="lucia", reason="amenaza legal", direction="up")
    )
    assert (detail["case"]["team"], detail["case"]["level"]) == ("crisis", "head_office")
    event = detail["events"][-1]
    assert event["detail"]["reason"] == "amenaza legal"
    assert event["detail"]["from_level"] == "country"
    with pytest.raises(CaseError):
        cases.act(case_id, "escalate", ActionRequest(actor="l", reason="x", direction="up"))


def test_backfilled_history_and_press_articles_open_no_case(store, example_settings):
    from datetime import UTC, datetime, timedelta

    seed_scored(store, native_id="old", text="Orbita sin fibra", author="ana",
                created_at=datetime.now(UTC) - timedelta(days=4))  # fmt: skip
    key = seed_scored(store, native_id="press", text="Orbita sufre una caída", author="diario")
    with store.transaction() as cur:
        cur.execute("UPDATE mentions SET kind = 'article' WHERE key = ?", [key])
    result = triage_pending(store, example_settings)
    assert result.opened == [] and result.ignored == 2


def test_a_mention_rescored_by_a_new_model_is_triaged_once(store, example_settings):
    """The case follows the mention's current score, whatever older scores it had."""
    first = datetime.now(UTC) - timedelta(minutes=2)
    text = "Orbita me ha cobrado dos veces la factura"
    seed_scored(store, native_id="1", text=text, model_version="v1", scored_at=first)
    seed_scored(store, native_id="1", text=text, model_version="v2", urgency_level=3,
                reasons=("fraud: double charge",), scored_at=first + timedelta(minutes=1))  # fmt: skip
    result = triage_pending(store, example_settings)
    assert len(result.opened) == 1 and result.attached == 0
    with store.read() as cur:
        events = rows(cur, "SELECT action FROM case_events ORDER BY id")
        (case,) = rows(cur, "SELECT urgency_level, urgency_reasons FROM cases")
    assert [e["action"] for e in events] == ["open"]
    assert case["urgency_level"] == 3 and case["urgency_reasons"] == ["fraud: double charge"]


MADRID = ZoneInfo("Europe/Madrid")


def test_a_paused_resolution_clock_keeps_its_business_time_over_the_weekend(
    store, example_settings
):
    """Paused Friday 17:00 with 7 business hours left (Fri 17-19, Sat 10-14, Mon 9-10), resumed
    Monday 09:00: due Monday 16:00, not the old due date plus the 64 hours of wall clock."""
    now = [datetime(2026, 11, 27, 16, 0, tzinfo=MADRID)]  # a Friday
    cases = CaseService(store, example_settings, clock=lambda: now[0])
    seed_scored(store, native_id="1", text="Orbita sin fibra desde ayer",
                created_at=now[0] - timedelta(minutes=5))  # fmt: skip
    (case_id,) = triage_pending(store, example_settings, cases=cases, clock=cases.clock).opened
    opened = cases.detail(case_id)["case"]
    assert opened["resolution_due"] == datetime(2026, 11, 30, 10, 0, tzinfo=MADRID)
    now[0] = datetime(2026, 11, 27, 17, 0, tzinfo=MADRID)
    cases.act(case_id, "private_message", ActionRequest(actor="lucia"))
    now[0] = datetime(2026, 11, 30, 9, 0, tzinfo=MADRID)  # Monday
    case = cases.act(case_id, "customer_reply", ActionRequest(actor="lucia", text="Sigo igual"))
    assert case["case"]["resolution_due"] == datetime(2026, 11, 30, 16, 0, tzinfo=MADRID)
    assert case["case"]["sla_paused_at"] is None


def test_a_customer_named_by_id_in_one_post_and_by_handle_in_another_has_one_case(
    store, example_settings
):
    seed_scored(store, native_id="1", text="Orbita sin servicio", author="ana", author_id="123")
    (case_id,) = triage_pending(store, example_settings).opened
    seed_scored(store, native_id="2", text="Orbita sigo sin servicio", author="Ana")
    result = triage_pending(store, example_settings)
    assert result.opened == [] and result.attached == 1
    cases = CaseService(store, example_settings)
    found = cases.record_private_message(
        "x", "@ana", "Mi número es el 600", native_id="dm-1", at=datetime.now(UTC)
    )
    assert found == case_id
    assert cases.detail(case_id)["messages"][-1]["text"] == "Mi número es el 600"


def test_a_case_opened_while_nobody_was_on_shift_goes_to_the_first_agent_back(
    store, example_settings
):
    for agent in ("lucia", "mateo"):
        set_shift(store, example_settings, agent, on_shift=False, actor="admin")
    seed_scored(store, native_id="1", text="Orbita no tengo línea")
    (case_id,) = triage_pending(store, example_settings).opened
    cases = CaseService(store, example_settings)
    assert cases.detail(case_id)["case"]["assignee"] is None
    assert cases.dispatch_waiting() == 0  # still nobody
    set_shift(store, example_settings, "mateo", on_shift=True, actor="admin")
    assert cases.dispatch_waiting() == 1
    detail = cases.detail(case_id)
    assert detail["case"]["assignee"] == "mateo"
    assert detail["events"][-1]["action"] == "assign"
    assert detail["events"][-1]["actor"] == "pipeline"
    assert cases.dispatch_waiting() == 0  # once
