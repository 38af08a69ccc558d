"""Every case action, taken from the Case page's composer, against the live seeded service, as
the person signed in."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest  # noqa: TID253 - testing the dashboard

from tests.dashboard.conftest import INJECTED, LiveApi, dashboard, open_page, sign_in, texts


def case_with(live_api: LiveApi, words: str) -> dict:
    found = live_api.get("/cases", limit=200)["items"]
    for case in found:
        if words in (case.get("text") or ""):
            return case
    raise AssertionError(f"no case whose text has {words!r}")


def detail_of(live_api: LiveApi, case_id: str) -> dict:
    return live_api.get(f"/cases/{case_id}")


def status_of(live_api: LiveApi, case_id: str) -> str:
    return detail_of(live_api, case_id)["case"]["status"]


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_case_goes_from_new_to_closed_publicly_and_back(app: AppTest, live_api: LiveApi) -> None:
    case = case_with(live_api, "caso 0")
    case_id = case["id"]
    at = open_page(app, "case", id=case_id)
    assert at.title[0].value == f"Case {case_id}"
    page = texts(at)
    assert "Suggested next step: Acknowledge publicly" in page
    assert "Will post **publicly** on **x**" in page
    template = at.text_area(key=f"text_{case_id}_acknowledge").value
    assert "cli0" in template  # prefilled from the template, for this author, in Spanish
    assert "privado" in template

    click(at, "do_acknowledge")
    assert status_of(live_api, case_id) == "acknowledged"
    assert "Done: Acknowledge publicly → Acknowledged" in texts(at)

    at.text_area(key=f"text_{case_id}_private_message").set_value("Hola, ¿nos das tu número?")
    click(at, "do_private_message")
    assert status_of(live_api, case_id) == "in_private"
    detail = detail_of(live_api, case_id)
    assert any(o["text"] == "Hola, ¿nos das tu número?" for o in detail["outbox"])

    at.text_area(key=f"text_{case_id}_reply").set_value("Es el 600 000 000")
    click(at, "do_customer_reply")
    assert status_of(live_api, case_id) == "in_private"

    click(at, "do_resolve")
    assert status_of(live_api, case_id) == "resolved"
    assert "Will post **publicly**" in texts(at)  # the closing reply's preview
    click(at, "do_close_public")
    assert status_of(live_api, case_id) == "closed_public"
    click(at, "do_close")
    assert status_of(live_api, case_id) == "closed"
    click(at, "do_reopen")
    assert status_of(live_api, case_id) == "in_private"

    timeline = next(df.value for df in at.dataframe if "Action" in df.value)
    assert {"Acknowledge publicly", "Private message", "Resolve", "Close publicly"} <= set(
        timeline["Action"]
    )
    # The detail is what was said, not a JSON dump.
    assert "Es el 600 000 000" in set(timeline["Detail"])
    assert not any(str(d).startswith("{") for d in timeline["Detail"])
    # Each step is recorded under the person signed in: nobody types a name any more.
    events = detail_of(live_api, case_id)["events"]
    worked = [e for e in events if e["action"] in ("acknowledge", "private_message", "resolve",
                                                  "close_public", "close", "reopen")]  # fmt: skip
    assert worked
    assert {e["actor"] for e in worked} == {"marta"}


def test_only_the_actions_the_status_allows_are_offered(app: AppTest, live_api: LiveApi) -> None:
    case = case_with(live_api, "caso 5")
    at = open_page(app, "case", id=case["id"])
    offered = {button.key for button in at.button}
    assert {"do_acknowledge", "do_dismiss", "do_escalate"} <= offered
    assert not {"do_close", "do_resolve", "do_close_public", "do_reopen"} & offered
    assert status_of(live_api, case["id"]) == "new"


def test_dismiss_needs_a_reason(app: AppTest, live_api: LiveApi) -> None:
    case = case_with(live_api, "caso 1")
    at = open_page(app, "case", id=case["id"])
    click(at, "do_dismiss")
    assert "Write a reason." in texts(at)
    assert status_of(live_api, case["id"]) == "new"
    at.text_input(key="reason_dismiss").set_value("spam")
    click(at, "do_dismiss")
    assert status_of(live_api, case["id"]) == "dismissed"


def test_escalate_to_another_team_and_level(app: AppTest, live_api: LiveApi) -> None:
    case = case_with(live_api, "caso 2")
    at = open_page(app, "case", id=case["id"])
    at.selectbox(key="esc_team").set_value("crisis")
    at.selectbox(key="esc_level").set_value("country")
    at.text_input(key="reason_escalate").set_value("posible caída general")
    click(at, "do_escalate")
    detail = detail_of(live_api, case["id"])["case"]
    assert detail["team"] == "crisis"
    assert detail["level"] == "country"


def test_assign_from_the_case_page(app: AppTest, live_api: LiveApi) -> None:
    case = case_with(live_api, "caso 3")
    at = open_page(app, "case", id=case["id"])
    at.selectbox(key="case_assignee").set_value("mateo")
    click(at, "do_assign")
    assert detail_of(live_api, case["id"])["case"]["assignee"] == "mateo"


def test_bulk_assign_from_the_queue(app: AppTest, live_api: LiveApi) -> None:
    ids = [case_with(live_api, words)["id"] for words in ("caso 4", "dos veces")]
    at = open_page(app, "queue")
    at.toggle(key="q_several").set_value(True).run()
    shown = list(at.dataframe[0].value["Case"])
    at.session_state["q_table_several"] = {"selection": {"rows": [shown.index(i) for i in ids]}}
    at.run()
    at.selectbox(key="q_bulk_who").set_value("lucia")
    click(at, "q_bulk")
    assert "2 cases assigned to lucia." in texts(at)
    for case_id in ids:
        assert detail_of(live_api, case_id)["case"]["assignee"] == "lucia"


def test_the_queue_opens_a_case(app: AppTest, live_api: LiveApi) -> None:
    at = open_page(app, "queue")
    wanted = at.dataframe[0].value["Case"][0]
    at.session_state["q_table"] = {"selection": {"rows": [0]}}  # a click on the first row
    at.run()
    assert at.title[0].value == f"Case {wanted}"


def test_public_text_is_shown_literally(app: AppTest, live_api: LiveApi) -> None:
    case = case_with(live_api, "<script>")
    at = open_page(app, "case", id=case["id"])
    shown = [m.value for m in at.markdown if "script" in m.value]
    assert shown, "the mention is on the page"
    for value in shown:
        # Every Markdown/HTML control character is escaped, so nothing renders as markup.
        assert "<script>" not in value
        assert "\\<script\\>" in value
        assert "\\*\\*negrita\\*\\*" in value
        assert "\\[pulsa\\]\\(javascript\\:alert\\(1\\)\\)" in value
    assert INJECTED.startswith("<script>")


def test_mentions_correction_and_export(app: AppTest, live_api: LiveApi) -> None:
    at = open_page(app, "mentions")
    at.selectbox(key="m_period_en").set_value("period_all").run()
    at.text_input(key="m_q").set_value("Celera mejor").run()
    assert list(at.dataframe[0].value["author"]) == ["dora"]
    at.selectbox(key="m_field").set_value("sentiment").run()
    at.selectbox(key="m_value_sentiment").set_value("neutral")
    at.button(key="m_correct_go").click().run()
    assert "Correction stored for retraining: Sentiment positive → neutral" in texts(at)
    # The values follow the field chosen.
    at.selectbox(key="m_field").set_value("intent").run()
    assert "queja" not in at.selectbox(key="m_value_intent").options
    assert "complaint" in at.selectbox(key="m_value_intent").options

    click(at, "m_export_csv_go")
    data = at.session_state["m_export_csv"]
    assert data.decode().splitlines()[0].startswith("key,")
    assert len(data.decode().strip().splitlines()) == 2  # the header and dora's mention


def test_an_agent_signed_in_through_the_form_acts_under_their_own_name(
    live_api: LiveApi,
) -> None:
    case = case_with(live_api, "caída general otra vez número 7")
    at = sign_in(dashboard(live_api).run(), "mateo")
    at.switch_page("views/case.py")
    at.query_params["id"] = case["id"]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == f"Case {case['id']}"
    click(at, "do_acknowledge")
    assert status_of(live_api, case["id"]) == "acknowledged"
    events = detail_of(live_api, case["id"])["events"]
    acknowledged = [e for e in events if e["action"] == "acknowledge"]
    assert [e["actor"] for e in acknowledged] == ["mateo"]


def test_the_agent_chooses_the_private_channel_and_the_invitation_follows(
    app: AppTest, live_api: LiveApi
) -> None:
    case = case_with(live_api, "caso 2")
    case_id = case["id"]
    at = open_page(app, "case", id=case_id)
    key = f"channel_{case_id}_acknowledge_dm_en"
    assert at.selectbox(key=key).options == ["The platform's private message", "E-mail", "WhatsApp"]
    at.selectbox(key=key).set_value("E-mail").run()
    text = at.text_area(key=f"text_{case_id}_acknowledge_email").value
    assert f"[{case_id}]" in text  # the e-mail invitation carries the case reference
    click(at, "do_acknowledge")
    assert detail_of(live_api, case_id)["case"]["private_channel"] == "email"
