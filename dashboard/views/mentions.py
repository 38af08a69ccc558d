"""Mentions: search and filter everything ingested, correct labels, export the selection."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st  # noqa: TID253 - the dashboard is the one place streamlit belongs

from dashboard import ui
from dashboard.i18n import STRINGS, t
from dashboard.ui import tr

PAGE_SIZE = 100
SENTIMENTS = ("negative", "neutral", "positive")
CORRECTABLE: dict[str, list[str]] = {
    "sentiment": ["negative", "neutral", "positive"],
    "urgency_level": ["0", "1", "2", "3"],
    "intent": ["complaint", "question", "praise", "suggestion", "other"],
    "complaint": ["0", "1"],
}

FIELDS = {"sentiment": "sentiment", "urgency_level": "urgency", "intent": "intent",
          "complaint": "complaint"}  # fmt: skip


def _value_label(field: str, value: Any, language: str) -> str:
    """A label's value as the reader says it: "neutro", "Alta", "queja", "sí"."""
    text = str(value)
    if field == "sentiment" and text in SENTIMENTS:
        return t(text, language)
    if field == "urgency_level" and text.isdigit():
        return ui.urgency_label(int(text), language)
    if field == "intent" and f"intent_{text}" in STRINGS:
        return t(f"intent_{text}", language)
    if field == "complaint" and text in ("0", "1", "0.0", "1.0", "True", "False"):
        return t("yes" if text in ("1", "1.0", "True") else "no", language)
    return text


def _filters() -> dict[str, Any]:
    spike_since = ui.parse_time(st.query_params.get("since"))
    spike_until = ui.parse_time(st.query_params.get("until"))
    q = st.text_input(tr("search"), key="m_q", help=tr("search_help"), placeholder="…")
    if spike_since and spike_until:
        head = st.columns([4, 1])
        head[0].info(
            tr(
                "spike_filter",
                start=ui.when(spike_since),
                end=ui.when(spike_until, with_date=False),
            )
        )
        if head[1].button(tr("clear"), key="m_clear"):
            st.query_params.clear()
            st.rerun()
        filters: dict[str, Any] = {"since": spike_since, "until": spike_until}
        cfg = ui.ui_config()
        cols = st.columns(3)
        with cols[0]:
            filters["platform"] = ui.choose("platform", cfg.get("platforms", []), key="m_platform")
        with cols[1]:
            filters["lang"] = ui.choose("lang", cfg.get("languages", []), key="m_lang")
        with cols[2]:
            filters["sentiment"] = ui.choose(
                "sentiment", CORRECTABLE["sentiment"], key="m_sentiment", fmt=ui.translator()
            )
    else:
        filters = ui.listening_filters("m")
        cols = st.columns(3)
        with cols[0]:
            filters["sentiment"] = ui.choose(
                "sentiment", CORRECTABLE["sentiment"], key="m_sentiment", fmt=ui.translator()
            )
        with cols[1]:
            level = st.selectbox(
                tr("min_urgency"),
                [0, 1, 2, 3],
                key=ui.wkey("m_urgency"),
                format_func=ui.urgency_format(),
            )
            filters["min_urgency"] = level or None
        with cols[2]:
            filters["case"] = ui.choose(
                "with_case",
                ["open", "none"],
                key="m_case",
                fmt={"open": tr("case_open"), "none": tr("case_none_opt")}.__getitem__,
            )
    filters["q"] = q.strip() or None
    return filters


def _table(items: list[dict[str, Any]]) -> pd.DataFrame:
    frame = ui.frame(items, "created_at")
    keep = [
        c
        for c in ("created_at", "platform", "brand", "lang", "author", "text", "sentiment",
                  "urgency_level", "intent", "case_id", "key")
        if c in frame
    ]  # fmt: skip
    frame = frame[keep]
    if "sentiment" in frame:
        frame["sentiment"] = frame["sentiment"].map(lambda v: tr(v) if v in SENTIMENTS else v)
    if "urgency_level" in frame:
        frame["urgency_level"] = frame["urgency_level"].map(ui.urgency_format())
    if "intent" in frame:
        language = ui.lang()
        frame["intent"] = frame["intent"].map(
            lambda v: _value_label("intent", v, language) if v else v
        )
    return frame


def _export(filters: dict[str, Any]) -> None:
    with st.expander(tr("export"), icon=":material/download:"):
        cols = st.columns(2)
        for col, fmt, mime in (
            (cols[0], "csv", "text/csv"),
            (cols[1], "parquet", "application/vnd.apache.parquet"),
        ):
            with col:
                key = f"m_export_{fmt}"
                if st.button(tr("export_prepare", fmt=fmt.upper()), key=f"{key}_go"):
                    data = ui.attempt(ui.client().export_mentions, fmt, **filters)
                    if data is not None:
                        st.session_state[key] = data
                if key in st.session_state:
                    st.download_button(
                        tr("export_download", fmt=fmt.upper()),
                        st.session_state[key],
                        file_name=f"mentions.{fmt}",
                        mime=mime,
                        key=f"{key}_dl",
                        icon=":material/save:",
                    )


def _inspect(items: list[dict[str, Any]]) -> None:
    by_key = {m["key"]: m for m in items}

    def describe(key: str) -> str:
        text = str(by_key[key].get("text") or "").replace("\n", " ")
        return f"{key} · {text[:70]}"

    st.subheader(tr("inspect"))
    key = st.selectbox(tr("m_mentions"), list(by_key), key="m_pick", format_func=describe)
    if not key:
        return
    mention = by_key[key]
    caption = " · ".join(
        str(v) for v in (mention.get("platform"), mention.get("author"), mention.get("created_at"))
    )
    ui.public_text(mention.get("text"), caption=caption)
    url = ui.safe_url(mention.get("url"))
    if url:
        st.link_button(tr("open_original"), url, icon=":material/open_in_new:")
    if (
        mention.get("case_id")
        and ui.may("cases:read")
        and st.button(
            f"{tr('open_case')} {mention['case_id']}",
            key="m_open_case",
            icon=":material/folder_open:",
        )
    ):
        st.switch_page("views/case.py", query_params={"id": mention["case_id"]})

    if not ui.may("labels:correct"):
        return
    with st.container(border=True, key="m_correct"):
        st.markdown(f"**{tr('correct')}**")
        cols = st.columns(2)
        language = ui.lang()  # the labels' functions run outside this run too
        field = cols[0].selectbox(
            tr("field"),
            list(CORRECTABLE),
            key="m_field",
            format_func=lambda f: t(FIELDS[f], language),
        )
        # The values follow the field chosen, each named in the reader's language.
        value = cols[1].selectbox(
            tr("value"),
            CORRECTABLE[field],
            key=f"m_value_{field}",
            format_func=lambda v: _value_label(field, v, language),
        )
        submitted = st.button(tr("save_correction"), key="m_correct_go", icon=":material/edit:")
    if submitted and value is not None:
        result = ui.attempt(ui.client().correct, key, field, value)
        if result is not None:
            st.success(
                tr(
                    "correction_saved",
                    field=tr(FIELDS[field]),
                    old=_value_label(field, result.get("old_value"), language),
                    new=_value_label(field, result.get("new_value"), language),
                ),
                icon=":material/check_circle:",
            )


def main() -> None:
    st.title(tr("mentions_title"))
    filters = _filters()
    page = int(st.session_state.get("m_page", 1))
    found = ui.fetch(
        ui.client().mentions, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, **filters
    )
    total = int(found["total"])
    pages = max(1, -(-total // PAGE_SIZE))
    cols = st.columns([3, 1])
    cols[0].caption(tr("mentions_total", n=f"{total:,}"))
    cols[1].number_input(tr("page"), min_value=1, max_value=pages, step=1, key="m_page")
    items: list[dict[str, Any]] = found["items"]
    if not items:
        st.info(tr("none_yet"))
        return
    st.dataframe(
        _table(items),
        hide_index=True,
        width="stretch",
        column_config={
            "created_at": ui.datetime_column(tr("col_when")),
            "platform": tr("platform"),
            "brand": tr("brand"),
            "lang": tr("lang"),
            "author": tr("col_author"),
            "text": st.column_config.TextColumn(tr("col_text"), width="large"),
            "sentiment": tr("sentiment"),
            "urgency_level": tr("col_urgency"),
            "intent": tr("intent"),
            "case_id": tr("col_case"),
            "key": tr("col_key"),
        },
    )
    if ui.may("listening:export"):
        _export(filters)
    _inspect(items)


main()
