"""The queue as an inbox: a click opens the case, previous / next step through the list, the
filters come back at the next sign-in, and ticked rows are acted on together, even while the
table refreshes itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest  # noqa: TID253 - testing the dashboard

from pipeline.access import users
from pipeline.records import utcnow
from pipeline.stages.triage import triage_pending
from tests.conftest import seed_scored
from tests.dashboard.conftest import PASSWORD, LiveApi, dashboard, open_page, texts

# People of these tests only: what they save (filters) and do never reaches other tests' people.
BOSS = "inbox.boss"  # a manager: every case
AGENT = "inbox.agent"  # an agent of atencion-es
TAG = "bandeja de entrada"  # in the text of the cases these tests may change
# Their mentions are old and spread out, so they make no volume spike in other tests' overview.
LONG_AGO = datetime.now(UTC) - timedelta(hours=50)


@pytest.fixture(scope="module")
def inbox_world(live_api: LiveApi) -> LiveApi:
    for name, role, teams in ((BOSS, "manager", ()), (AGENT, "agent", ("atencion-es",))):
        users.add(live_api.store, name, role=role, password=PASSWORD, now=utcnow(), teams=teams)
    for i in range(4):
        seed_scored(
            live_api.store, native_id=f"inbox-{i}", author=f"inbox{i}",
            created_at=LONG_AGO - timedelta(hours=3 * i), text=f"Orbita {TAG}: el router {i} no va",
        )  # fmt: skip
    triage_pending(live_api.store, live_api.service.settings)
    return live_api


def signed_in(live_api: LiveApi, name: str, lang: str = "en") -> AppTest:
    """A new browser session of ``name``, freshly signed in."""
    at = dashboard(live_api, lang=lang)
    at.session_state["auth_token"] = live_api.login(name)
    return at


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def on_case_page(at: AppTest) -> AppTest:
    """Stay on the case page the app switched to (a browser follows it; AppTest starts each run
    on the page it was last told)."""
    return at.switch_page("views/case.py")


def shown_ids(at: AppTest) -> list[str]:
    return [str(c) for c in at.dataframe[0].value["Case"]]


def tagged(live_api: LiveApi, n: int) -> list[str]:
    """The ids of ``n`` new cases of these tests at the country level, in queue order."""
    found = live_api.get("/cases", open="true", limit=200)["items"]
    ids = [
        c["id"] for c in found
        if TAG in (c.get("text") or "") and c["status"] == "new" and c["level"] == "country"
    ]  # fmt: skip
    assert len(ids) >= n, found
    return ids[:n]


def case_of(live_api: LiveApi, case_id: str) -> dict[str, Any]:
    return dict(live_api.get(f"/cases/{case_id}")["case"])


def test_clicking_a_row_opens_its_case_and_the_queue_comes_back_unselected(
    inbox_world: LiveApi,
) -> None:
    at = open_page(signed_in(inbox_world, BOSS), "queue")
    ids = shown_ids(at)
    assert len(ids) >= 5
    assert "Click a row to open its case." in texts(at)
    at.session_state["q_table"] = {"selection": {"rows": [2]}}  # as a click stores it
    run(at)
    assert at.title[0].value == f"Case {ids[2]}"
    assert at.query_params["id"] == ids[2]
    assert f"3 of {len(ids)}" in texts(at)
    at = open_page(at, "queue")
    assert at.title[0].value == "Universal queue"  # the old click does not open it again


def test_previous_and_next_step_through_the_queue_as_it_was_shown(inbox_world: LiveApi) -> None:
    at = open_page(signed_in(inbox_world, BOSS), "queue")
    at.selectbox(key="q_lang_en").set_value("es").run()
    ids = shown_ids(at)
    at.session_state["q_table"] = {"selection": {"rows": [0]}}
    run(at)
    assert at.title[0].value == f"Case {ids[0]}"
    assert at.button(key="case_prev").disabled
    on_case_page(at).button(key="case_next").click()
    run(at)
    assert at.title[0].value == f"Case {ids[1]}"
    assert f"2 of {len(ids)}" in texts(at)
    on_case_page(at).button(key="case_prev").click()
    run(at)
    assert at.title[0].value == f"Case {ids[0]}"
    open_page(at, "queue").selectbox(key="q_lang_en").set_value("").run()


def test_a_case_opened_from_a_link_steps_through_the_open_queue(inbox_world: LiveApi) -> None:
    ids = [c["id"] for c in inbox_world.get("/cases", open="true", limit=200)["items"]]
    at = open_page(signed_in(inbox_world, BOSS), "case", id=ids[1])
    assert f"2 of {len(ids)}" in texts(at)
    on_case_page(at).button(key="case_next").click()
    run(at)
    assert at.title[0].value == f"Case {ids[2]}"


def test_an_agent_steps_only_through_their_teams_cases(inbox_world: LiveApi) -> None:
    at = open_page(signed_in(inbox_world, AGENT), "queue")
    ids = shown_ids(at)
    teams = {case_of(inbox_world, case_id)["team"] for case_id in ids}
    assert teams == {"atencion-es"}
    at.session_state["q_table"] = {"selection": {"rows": [len(ids) - 1]}}
    run(at)
    assert at.button(key="case_next").disabled
    assert f"{len(ids)} of {len(ids)}" in texts(at)


def test_saved_filters_come_back_at_the_next_sign_in_in_any_language(
    inbox_world: LiveApi,
) -> None:
    at = open_page(signed_in(inbox_world, AGENT), "queue")
    everything = len(shown_ids(at))
    at.selectbox(key="q_lang_en").set_value("es").run()
    at.selectbox(key="q_urgency_en").set_value(2).run()
    at.toggle(key="q_live").set_value(False).run()
    assert not at.exception
    narrowed = shown_ids(at)
    assert 0 < len(narrowed) < everything

    again = open_page(signed_in(inbox_world, AGENT), "queue")  # another browser, next day
    assert again.selectbox(key="q_lang_en").value == "es"
    assert again.selectbox(key="q_urgency_en").value == 2
    assert again.toggle(key="q_live").value is False
    assert shown_ids(again) == narrowed
    assert "Filters (2 active)" in [e.label for e in again.expander]

    spanish = open_page(signed_in(inbox_world, AGENT, lang="es"), "queue")
    assert spanish.selectbox(key="q_lang_es").value == "es"

    again.button(key="q_clear").click()
    run(again)
    assert len(shown_ids(again)) == everything
    cleared = open_page(signed_in(inbox_world, AGENT), "queue")
    assert cleared.selectbox(key="q_lang_en").value == ""
    assert cleared.toggle(key="q_live").value is False  # clearing filters keeps the mode
    cleared.toggle(key="q_live").set_value(True).run()


def test_filters_are_kept_per_person(inbox_world: LiveApi) -> None:
    agent = open_page(signed_in(inbox_world, AGENT), "queue")
    agent.selectbox(key="q_platform_en").set_value("reddit").run()
    boss = open_page(signed_in(inbox_world, BOSS), "queue")
    assert boss.selectbox(key="q_platform_en").value == ""
    agent.selectbox(key="q_platform_en").set_value("").run()


def test_an_empty_queue_says_how_to_see_cases_again(inbox_world: LiveApi) -> None:
    at = open_page(signed_in(inbox_world, AGENT), "queue")
    at.selectbox(key="q_platform_en").set_value("reddit").run()
    at.selectbox(key="q_urgency_en").set_value(3).run()
    assert "No open cases match these filters: press 'Clear filters'" in texts(at)
    at.button(key="q_clear").click()
    run(at)
    assert shown_ids(at)


def test_ticked_rows_and_filters_survive_a_refresh(inbox_world: LiveApi) -> None:
    at = open_page(signed_in(inbox_world, BOSS), "queue")
    at.selectbox(key="q_lang_en").set_value("es").run()
    at.toggle(key="q_several").set_value(True).run()
    assert "Tick rows in the table to act on them." in texts(at)
    ids = shown_ids(at)
    at.session_state["q_table_several"] = {"selection": {"rows": [1, 3]}}
    run(at)
    assert "2 cases selected" in texts(at)
    at.radio(key="q_bulk_action_en").set_value("dismiss").run()
    at.text_input(key="q_bulk_reason_dismiss").input("duplicado").run()
    seed_scored(inbox_world.store, native_id="inbox-late", author="late", created_at=LONG_AGO,
                text=f"Orbita {TAG}: llega tarde y va primero", urgency_level=3)  # fmt: skip
    triage_pending(inbox_world.store, inbox_world.service.settings)
    run(at)  # the live table refreshes: a new case, perhaps rows in another order
    run(at)
    rows = at.session_state["q_table_several"]["selection"]["rows"]
    now_shown = shown_ids(at)
    assert [now_shown[i] for i in rows] == [ids[1], ids[3]]
    assert "2 cases selected" in texts(at)
    assert at.selectbox(key="q_lang_en").value == "es"
    assert at.radio(key="q_bulk_action_en").value == "dismiss"
    assert at.text_input(key="q_bulk_reason_dismiss").value == "duplicado"
    at.selectbox(key="q_lang_en").set_value("").run()


def test_bulk_assign_on_ticked_rows(inbox_world: LiveApi) -> None:
    wanted = tagged(inbox_world, 2)
    at = open_page(signed_in(inbox_world, BOSS), "queue")
    at.toggle(key="q_several").set_value(True).run()
    ids = shown_ids(at)
    rows = [ids.index(case_id) for case_id in wanted]
    at.session_state["q_table_several"] = {"selection": {"rows": rows}}
    run(at)
    at.selectbox(key="q_bulk_who").set_value("lucia")
    at.button(key="q_bulk").click()
    run(at)
    assert "2 cases assigned to lucia." in texts(at)
    for case_id in wanted:
        assert case_of(inbox_world, case_id)["assignee"] == "lucia"
    assert "Tick rows in the table to act on them." in texts(at)  # done: nothing ticked


def tick(at: AppTest, case_ids: list[str]) -> AppTest:
    """Turn on "select several" and tick the rows of ``case_ids``, as clicks would."""
    at.toggle(key="q_several").set_value(True).run()
    shown = shown_ids(at)
    at.session_state["q_table_several"] = {
        "selection": {"rows": [shown.index(c) for c in case_ids]}
    }
    return run(at)


def test_bulk_escalation_reports_each_case_that_could_not_move(inbox_world: LiveApi) -> None:
    first, second = tagged(inbox_world, 2)
    # Someone already took the second case to the top level: it has nowhere higher to go.
    inbox_world.send(
        "POST", f"/cases/{second}/actions/escalate", {"reason": "prensa", "direction": "up"}
    )
    assert case_of(inbox_world, second)["level"] == "head_office"
    at = tick(open_page(signed_in(inbox_world, BOSS), "queue"), [first, second])
    at.radio(key="q_bulk_action_en").set_value("escalate").run()
    at.button(key="q_bulk_go").click()
    run(at)
    assert "Write a reason." in texts(at)
    assert case_of(inbox_world, first)["level"] == "country"
    at.text_input(key="q_bulk_reason_escalate").input("afecta a toda la región")
    at.button(key="q_bulk_go").click()
    run(at)
    assert "Escalate: 1 cases." in texts(at)
    failures = [w.value for w in at.warning]
    assert len(failures) == 1 and failures[0].startswith(f"{second} did not change:"), failures
    assert case_of(inbox_world, first)["level"] == "head_office"


def test_bulk_dismiss_takes_the_ticked_cases_out_of_the_queue(inbox_world: LiveApi) -> None:
    (wanted,) = tagged(inbox_world, 1)
    at = tick(open_page(signed_in(inbox_world, BOSS), "queue"), [wanted])
    assert "1 cases selected" in texts(at)
    at.radio(key="q_bulk_action_en").set_value("dismiss").run()
    at.text_input(key="q_bulk_reason_dismiss").input("no es una queja")
    at.button(key="q_bulk_go").click()
    run(at)
    assert "Dismiss: 1 cases." in texts(at)
    assert case_of(inbox_world, wanted)["status"] == "dismissed"
    assert wanted not in shown_ids(at)
