"""Queue: the universal inbox of open cases by SLA due time and priority; assign, bulk-assign."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pandas as pd
import streamlit as st  # noqa: TID253 - the dashboard is the one place streamlit belongs

from dashboard import ui
from dashboard.ui import tr

LIVE_EVERY = timedelta(seconds=15)
OPEN_STATUSES = ["new", "acknowledged", "in_private", "resolved", "closed_public"]


def _rows(items: list[dict[str, Any]]) -> pd.DataFrame:
    at = ui.now()
    records = []
    for case in items:
        label, _ = ui.sla_countdown(case, at)
        text = str(case.get("text") or "").replace("\n", " ")
        records.append(
            {
                tr("col_case"): case["id"],
                tr("col_sla"): label,
                tr("col_urgency"): ui.urgency_label(case.get("urgency_level")),
                tr("col_text"): text[:160],
                tr("status"): case.get("status"),
                tr("platform"): case.get("platform"),
                tr("lang"): case.get("lang"),
                tr("team"): " / ".join(p for p in (case.get("team"), case.get("level")) if p),
                tr("assignee"): case.get("assignee") or "",
                tr("col_author"): case.get("author"),
                tr("col_reasons"): ", ".join(case.get("urgency_reasons") or []),
                tr("col_opened"): ui.parse_time(case.get("opened_at")),
            }
        )
    return pd.DataFrame(records)


def _table(filters: dict[str, Any]) -> None:
    """The queue itself; in live mode it refreshes on its own, so new cases appear as they open."""
    found = ui.fetch(ui.client().cases, **filters)
    items: list[dict[str, Any]] = found["items"]
    st.caption(tr("queue_total", n=found["total"]) + f" · {ui.now():%H:%M:%S} UTC")
    if not items:
        st.info(tr("case_none"))
        return
    st.dataframe(
        _rows(items),
        hide_index=True,
        width="stretch",
        column_config={
            tr("col_opened"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            tr("col_text"): st.column_config.TextColumn(width="large"),
        },
    )


def _bulk_assign(ids: list[str], agents: list[str], describe: Callable[[str], str]) -> None:
    st.subheader(tr("bulk_assign"))
    chosen = st.multiselect(
        tr("select_cases"), ids, key="q_bulk_pick", format_func=describe, placeholder="…"
    )
    who = st.selectbox(
        tr("assign_to"), agents, key="q_bulk_who", accept_new_options=True, index=None,
        placeholder="…",
    )  # fmt: skip
    if st.button(tr("assign"), key="q_bulk", icon="👥", disabled=not chosen):
        if not who:
            st.warning(tr("assign_to"))
            return
        result = ui.attempt(ui.client().bulk_assign, chosen, who)
        if result is not None:
            st.session_state["q_flash"] = (
                tr("assigned_n", n=len(result.get("assigned", [])), who=who),
                result.get("failed", {}),
            )
            st.rerun()


def main() -> None:
    st.title(tr("queue_title"))
    st.caption(tr("queue_caption"))
    cfg = ui.ui_config()
    teams = ui.team_names(cfg)
    agents = ui.agent_names(cfg)

    with st.expander(tr("filters"), expanded=False):
        cols = st.columns(4)
        with cols[0]:
            statuses = st.multiselect(
                tr("status"), OPEN_STATUSES, key="q_status", placeholder=tr("any")
            )
            team = ui.choose("team", teams, key="q_team")
        with cols[1]:
            level = ui.choose("level", list(cfg.get("levels", [])), key="q_level")
            assignee = ui.choose("assignee", agents, key="q_assignee")
        with cols[2]:
            platform = ui.choose("platform", list(cfg.get("platforms", [])), key="q_platform")
            language = ui.choose("lang", list(cfg.get("languages", [])), key="q_lang")
        with cols[3]:
            brand = ui.choose("brand", [b["name"] for b in cfg.get("brands", [])], key="q_brand")
            min_urgency = st.selectbox(
                tr("min_urgency"),
                [0, 1, 2, 3],
                key=ui.wkey("q_urgency"),
                format_func=ui.urgency_format(),
            )

    filters: dict[str, Any] = {
        "status": statuses,
        "open": None if statuses else True,
        "team": team,
        "level": level,
        "assignee": assignee,
        "platform": platform,
        "lang": language,
        "brand": brand,
        "min_urgency": min_urgency or None,
        "limit": 200,
    }
    live = st.toggle(tr("live"), value=True, key="q_live", help=tr("live_help"))
    if live:
        st.fragment(run_every=LIVE_EVERY)(_table)(filters)
    else:
        _table(filters)
    items: list[dict[str, Any]] = ui.fetch(ui.client().cases, **filters)["items"]
    if not items:
        return

    ids = [case["id"] for case in items]
    by_id = {case["id"]: case for case in items}

    def describe(case_id: str) -> str:
        case = by_id[case_id]
        text = str(case.get("text") or "").replace("\n", " ")
        return f"{case_id} · {case.get('platform')} · {case.get('author')} · {text[:60]}"

    left, right = st.columns(2)
    with left, st.container(border=True):
        st.subheader(tr("open_case"))
        picked = st.selectbox(tr("col_case"), ids, key="q_open_pick", format_func=describe)
        if st.button(tr("open"), key="q_open", type="primary", icon="🗂️") and picked:
            st.session_state["case_id"] = picked
            st.switch_page("views/case.py", query_params={"id": picked})
    if ui.may("cases:work"):
        with right, st.container(border=True):
            _bulk_assign(ids, agents, describe)
    flash = st.session_state.pop("q_flash", None)
    if flash:
        message, failed = flash
        st.success(message, icon="✅")
        for case_id, why in failed.items():
            st.warning(tr("assign_failed", case=case_id, why=ui.escape_markdown(str(why))))


main()
