"""Every page, read in Spanish, shows no English of ours, and read in English no Spanish: titles,
texts, labels, options, tabs, table headers, statuses and platform actions.

What the page shows from people (mention texts, names) is theirs and may be in any language; the
check looks for the dashboard's own strings of the other language, and for raw identifiers such as
``in_private`` that should have been named in the reader's language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pytest
from streamlit.testing.v1 import AppTest  # noqa: TID253 - testing the dashboard

from dashboard.i18n import LANGUAGES, STRINGS
from pipeline.records import STATUSES
from tests.dashboard.conftest import ROOT, LiveApi, dashboard, open_page, texts

PAGES = sorted(p.stem for p in (ROOT / "dashboard" / "views").glob("*.py"))
# A fragment shorter than this ("Email", "Total") is too often the same word in both languages.
MIN_FRAGMENT = 9
# Raw identifiers that a reader should never see: statuses written with an underscore.
RAW = re.compile(r"\b(?:" + "|".join(s for s in STATUSES if "_" in s) + r")\b")
# ... and a status shown on its own (an option, a cell, a bold value) as its identifier ("new").
BARE = re.compile(r"^\**(?:" + "|".join(STATUSES) + r")\**$", re.MULTILINE)


def _fragments(text: str) -> list[str]:
    """The fixed parts of a string around its ``{placeholders}`` and Markdown marks."""
    parts = re.split(r"\{[^}]*\}|\*\*|`|:material/[a-z_]+:|[:\w-]+-badge\[|[\[\]]", text)
    return [p.strip(" .,:;·—()…\n") for p in parts]


def foreign(lang: str) -> set[str]:
    """The other language's fixed phrases that nothing in ``lang`` contains."""
    mine = [pair[LANGUAGES.index(lang)] for pair in STRINGS.values()]
    other = LANGUAGES[1 - LANGUAGES.index(lang)]
    found = set()
    for pair in STRINGS.values():
        theirs, ours = pair[LANGUAGES.index(other)], pair[LANGUAGES.index(lang)]
        if theirs == ours:
            continue
        for fragment in _fragments(theirs):
            if len(fragment) < MIN_FRAGMENT or not re.search(r"[^\W\d_]{3}", fragment):
                continue
            if any(fragment in text for text in mine):
                continue
            found.add(fragment)
    return found


def shown(at: AppTest) -> str:
    """Everything the page shows that is the dashboard's own: texts, labels, options, tabs,
    table headers and the status column."""
    parts: list[str] = [texts(at)]

    def add(values: Iterable[object]) -> None:
        parts.extend(str(v) for v in values if v is not None)

    for kind in ("button", "selectbox", "multiselect", "radio", "toggle", "checkbox",
                 "text_input", "text_area", "number_input", "date_input"):  # fmt: skip
        for widget in at.get(kind):
            add([getattr(widget, "label", None), getattr(widget, "help", None)])
            add(getattr(widget, "options", None) or [])
    add(tab.label for tab in at.tabs)
    add(expander.label for expander in at.expander)
    add(metric.label for metric in at.metric)
    for frame in at.dataframe:
        table = frame.value
        add(table.columns)
        for column in table.columns:
            if str(column).lower() in ("status", "estado"):
                add(table[column])
    return "\n".join(parts)


@pytest.fixture(scope="module")
def case_id(live_api: LiveApi) -> str:
    return str(live_api.get("/cases", open="true", limit=1)["items"][0]["id"])


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("page", PAGES)
def test_a_page_speaks_only_the_readers_language(
    live_api: LiveApi, case_id: str, page: str, lang: str
) -> None:
    at = dashboard(live_api, "ada", lang=lang)
    at.run()
    query = {"id": case_id} if page == "case" else {}
    at = open_page(at, page, **query)
    text = shown(at)
    assert text.strip(), f"{page} showed nothing"
    leaked = sorted(f for f in foreign(lang) if f in text)
    assert not leaked, f"{page} in {lang} shows {leaked}"
    raw = RAW.findall(text) + BARE.findall(text)
    assert not raw, f"{page} in {lang} shows raw statuses {sorted(set(raw))}"


def test_urgency_reasons_are_named_in_the_readers_language(live_api: LiveApi) -> None:
    case = next(
        c for c in live_api.get("/cases", open="true", limit=200)["items"]
        if c["urgency_reasons"] == ["outage"]
    )  # fmt: skip
    assert case["urgency_categories"] == ["outage"]
    for lang, named in (("es", "Caída del servicio"), ("en", "Outage")):
        at = open_page(dashboard(live_api, "ada", lang=lang).run(), "case", id=case["id"])
        assert f": {named}" in texts(at), lang  # "Motivos: Caída del servicio"
    table = open_page(dashboard(live_api, "ada", lang="es").run(), "queue").dataframe[0].value
    assert "Caída del servicio" in set(table["Motivos"])


def test_the_check_finds_english_in_a_spanish_page() -> None:
    """The check itself: an English phrase of ours is foreign to Spanish, a shared word is not."""
    spanish = foreign("es")
    assert "Universal queue" in spanish
    assert "escucha" not in spanish
    assert all(len(f) >= MIN_FRAGMENT for f in spanish)
