"""Every dashboard page renders against the seeded service, in English and Spanish."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest  # noqa: TID253 - testing the dashboard

from tests.dashboard.conftest import APP, LiveApi, dashboard, free_port, open_page, texts


def test_overview_shows_volume_sentiment_spikes_and_share_of_voice(app: AppTest) -> None:
    at = open_page(app, "overview")
    assert at.title[0].value == "Listening overview"
    labels = {m.label: m.value for m in at.metric}
    assert int(labels["Mentions"].replace(",", "")) >= 40
    assert labels["Open cases"] != "0"
    headers = [s.value for s in at.subheader]
    for wanted in ("Volume by platform", "Volume spikes", "Top negative terms", "Share of voice",
                   "By platform", "By language"):  # fmt: skip
        assert wanted in headers
    assert len(at.get("vega_lite_chart")) >= 6


def test_a_spike_marker_opens_the_mentions_behind_it(app: AppTest) -> None:
    at = open_page(app, "overview")
    spike_buttons = [b for b in at.button if b.key and b.key.startswith("spike_")]
    assert spike_buttons, "the seeded burst of 8 mentions in one hour is a spike"
    spike_buttons[-1].click().run()
    assert not at.exception
    assert at.title[0].value == "Mentions"
    assert "Showing the spike" in texts(at)
    table = at.dataframe[0].value
    assert len(table) == 8
    assert all("caída general" in text for text in table["text"])


def test_overview_filters_narrow_the_figures(app: AppTest) -> None:
    at = open_page(app, "overview")
    everything = int(at.metric[0].value.replace(",", ""))
    at.selectbox(key="ov_platform_en").set_value("reddit").run()
    assert int(at.metric[0].value.replace(",", "")) == 1
    at.selectbox(key="ov_platform_en").set_value("").run()
    at.selectbox(key="ov_lang_en").set_value("en").run()
    assert 0 < int(at.metric[0].value.replace(",", "")) < everything


def test_queue_lists_open_cases_with_sla_countdowns(app: AppTest) -> None:
    at = open_page(app, "queue")
    assert at.title[0].value == "Universal queue"
    table = at.dataframe[0].value
    assert len(table) >= 5
    assert table["SLA"].str.contains("due in|overdue|paused").all()
    assert set(table["Status"]) <= {
        "New",
        "Acknowledged",
        "In private",
        "Resolved",
        "Closed publicly",
    }


def test_queue_filters_by_language(app: AppTest) -> None:
    at = open_page(app, "queue")
    at.selectbox(key="q_lang_en").set_value("en").run()
    table = at.dataframe[0].value
    assert len(table) >= 1
    assert set(table["Language"]) == {"en"}


def test_mentions_search_and_inspect(app: AppTest) -> None:
    at = open_page(app, "mentions")
    at.selectbox(key="m_period_en").set_value("period_all").run()
    at.text_input(key="m_q").set_value("FACTURA").run()
    table = at.dataframe[0].value
    assert list(table["author"]) == ["beto"]
    assert "1 mentions" in texts(at)


def test_care_metrics_page(app: AppTest) -> None:
    at = open_page(app, "care")
    assert at.title[0].value == "Care metrics"
    labels = [m.label for m in at.metric]
    for wanted in ("First response (median)", "Time to deflect (median)", "Resolution (median)",
                   "Complaints moved to private", "Closed publicly", "CSAT"):  # fmt: skip
        assert wanted in labels
    assert "SLA compliance by team and level" in [s.value for s in at.subheader]
    assert "cases" in at.caption[0].value


def test_sources_page(app: AppTest, live_api: LiveApi) -> None:
    at = open_page(app, "sources")
    assert at.title[0].value == "Source health"
    assert "Service: ok" in texts(at) or "Service: degraded" in texts(at)
    mentions = live_api.get("/stats")["mentions"]
    assert f"{mentions:,} mentions" in texts(at)


def test_a_manager_retries_a_set_aside_mention_from_the_sources_page(live_api: LiveApi) -> None:
    from pipeline.records import utcnow
    from pipeline.stages import set_aside
    from tests.conftest import seed_scored

    key = seed_scored(live_api.store, native_id="set-aside-1", text="Orbita \x00 roto")
    set_aside.hold(live_api.store, key, stage="score", exc=ValueError("tokenizer choked"),
                   now=utcnow())  # fmt: skip
    at = open_page(dashboard(live_api, "marta"), "sources")
    assert "Set aside" in [s.value for s in at.subheader]
    table = at.dataframe[-1].value
    assert key in list(table["mention_key"])
    assert "tokenizer choked" in " ".join(table["reason"])
    at.selectbox(key="src_set_aside_key").set_value(key)
    at.button(key="src_set_aside_retry").click().run()
    assert f"{key} goes back to the score stage." in [m.value for m in at.success]
    assert key not in [i["mention_key"] for i in live_api.get("/set-aside")["items"]]
    agent = open_page(dashboard(live_api, "mateo"), "sources")
    assert "Set aside" not in [s.value for s in agent.subheader]


def test_the_interface_switches_to_spanish(app: AppTest) -> None:
    at = open_page(app, "queue")
    at.session_state["lang"] = "es"
    at.run()
    assert at.title[0].value == "Cola universal"
    assert "Caso" in at.dataframe[0].value.columns


def test_the_default_language_comes_from_the_config(live_api: LiveApi) -> None:
    at = dashboard(live_api, "marta", lang=None).run()
    assert at.title[0].value == "Resumen de la escucha"  # ui_language = "es" in the example


def test_a_clear_panel_when_the_api_is_down() -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["api_url"] = f"http://127.0.0.1:{free_port()}"
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception
    assert "Cannot reach the service" in at.error[0].value
    assert "escucha serve" in at.error[0].value


def test_care_page_takes_an_agent_off_shift(app: AppTest, live_api: LiveApi) -> None:
    at = open_page(app, "care")
    assert "Agents and workload" in [s.value for s in at.subheader]
    toggle = at.toggle(key="shift_lucia")
    assert toggle.value is True
    toggle.set_value(False).run()
    agents = {a["name"]: a for a in live_api.get("/agents")}
    assert agents["lucia"]["on_shift"] is False
    live_api.send("PUT", "/agents/lucia/shift", {"on_shift": True})


def test_an_agent_may_switch_only_their_own_shift(live_api: LiveApi) -> None:
    at = open_page(dashboard(live_api, "mateo"), "care")
    assert at.toggle(key="shift_mateo").disabled is False
    assert at.toggle(key="shift_lucia").disabled is True
