"""The Overview's listening sections (sentiment per brand, share of voice over time, themes, top
authors, risk categories) in Spanish and English, and the crisis view opened from a spike."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest  # noqa: TID253 - testing the dashboard

from tests.dashboard.conftest import LiveApi, dashboard, open_page, texts


def _frame(at: AppTest, column: str, nth: int = 0):
    """The ``nth`` table with ``column`` (AppTest does not expose a table's key)."""
    found = [frame.value for frame in at.dataframe if column in frame.value.columns]
    assert len(found) > nth, f"no table with {column}"
    return found[nth]


def test_overview_shows_the_listening_sections_in_english(app: AppTest) -> None:
    at = open_page(app, "overview")
    headers = [s.value for s in at.subheader]
    for wanted in ("Net sentiment by brand", "Share of voice over time",
                   "Themes and phrases of the period", "Top authors", "Risk categories"):  # fmt: skip
        assert wanted in headers, headers
    themes = _frame(at, "Growth")
    assert {"Term", "Mentions", "Growth", "negative", "neutral", "positive"} <= set(themes)
    assert any("caida general" in term for term in themes["Term"])
    assert not any("orbita" in term for term in themes["Term"])  # brand names are not themes
    authors = _frame(at, "Followers", 1)
    assert len(authors) >= 5 and "Author" in authors
    # Example mentions are shown as text: the injected script stays inert.
    assert "<script>" not in "".join(str(m.value) for m in at.markdown)
    assert any(b.key and b.key.startswith("crisis_") for b in at.button)


def test_overview_shows_the_listening_sections_in_spanish(live_api: LiveApi) -> None:
    at = open_page(dashboard(live_api, "marta", lang="es"), "overview")
    headers = [s.value for s in at.subheader]
    for wanted in ("Sentimiento neto por marca", "Cuota de voz en el tiempo",
                   "Temas y frases del periodo", "Autores principales",
                   "Categorías de riesgo"):  # fmt: skip
        assert wanted in headers, headers
    assert len(_frame(at, "Crecimiento")) >= 1


def test_the_crisis_view_opens_from_a_spike_with_its_mentions_and_cases(app: AppTest) -> None:
    at = open_page(app, "overview")
    crisis = [b for b in at.button if b.key and b.key.startswith("crisis_")]
    assert crisis, "the seeded burst of 8 mentions in one hour is a spike"
    crisis[-1].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Crisis view"
    mentions = _frame(at, "Text")
    assert len(mentions) == 8
    assert all("caída general" in text for text in mentions["Text"])
    cases = _frame(at, "Status")
    assert len(cases) >= 1 and set(cases["Status"]) <= {"New", "Acknowledged", "In private"}
    labels = {m.label: m.value for m in at.metric}
    assert labels["Mentions"] == "8"
    headers = [s.value for s in at.subheader]
    assert "The mentions behind it" in headers and "Cases opened" in headers

    # A click on a case's row opens it.
    first = str(cases["Case"].iloc[0])
    window = {k: str(v) for k, v in at.query_params.items() if k in ("brand", "start", "end")}
    at = open_page(at, "crisis", **window)
    at.session_state["crisis_cases"] = {"selection": {"rows": [0]}}  # as a click stores it
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.startswith(f"Case {first}")


def test_the_crisis_view_without_a_window_says_where_to_open_it(app: AppTest) -> None:
    at = open_page(app, "crisis")
    assert at.title[0].value == "Crisis view"
    assert "Open the crisis view from a spike" in texts(at)


def test_a_viewer_sees_how_many_cases_not_which(live_api: LiveApi) -> None:
    at = open_page(dashboard(live_api, "victor"), "overview")
    [b for b in at.button if b.key and b.key.startswith("crisis_")][-1].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "your role does not see cases" in texts(at)
