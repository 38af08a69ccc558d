"""Queue: the universal inbox of open cases by SLA due time and priority. A click on a row opens
the case; with "select several", ticked rows are assigned, escalated or dismissed together."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pandas as pd
import streamlit as st  # noqa: TID253 - the dashboard is the one place streamlit belongs

from dashboard import inbox, ui
from dashboard.client import ApiError, NotSignedIn
from dashboard.ui import tr

LIVE_EVERY = timedelta(seconds=15)
OPEN_STATUSES = ["new", "acknowledged", "in_private", "resolved", "closed_public"]
URGENCIES = [0, 1, 2, 3]
BULK_ACTIONS = ("assign", "escalate", "dismiss")
ONE = "q_table"  # the table while a click opens the case
SEVERAL = "q_table_several"  # the table while rows are ticked for a bulk action
SHOWN = "q_shown"  # the case ids of the table's rows, as last drawn
PICKED = "q_picked"  # the ticked cases by id, so a refresh that reorders the rows keeps them
RESET_PICK = "q_reset_pick"  # a bulk action is done: untick everything on the next drawing
# The coloured marker in front of an SLA label: a table cell cannot draw it (colour is added
# with a style instead).
_MARKER = re.compile(r"^[^\w—]+\s+")
_TONES = {"overdue": "color: #c62828; font-weight: 600", "warning": "color: #b26a00"}


# -- filters ---------------------------------------------------------------------------------------


def _widget_keys() -> dict[str, str]:
    """Filter -> the key of its widget (per language where its labels are translated)."""
    keys = {f: ui.wkey(f"q_{f}") for f in ("team", "level", "assignee", "platform", "lang")}
    return {
        "status": "q_status", **keys, "brand": ui.wkey("q_brand"),
        "min_urgency": ui.wkey("q_urgency"), "live": "q_live",
    }  # fmt: skip


def _widget_value(field: str, value: Any, options: dict[str, list[str]]) -> Any:
    """``value`` as the filter's widget holds it, or its "anything" value when it is not offered."""
    if field == "status":
        return [s for s in value if s in OPEN_STATUSES] if isinstance(value, list) else []
    if field == "min_urgency":
        return value if value in URGENCIES else 0
    if field == "live":
        return value if isinstance(value, bool) else True
    return value if value in options.get(field, []) else ""


def _seed(saved: dict[str, Any], options: dict[str, list[str]]) -> None:
    """Give the filter widgets that hold nothing yet the saved filters: the first visit of a
    session, the way back from another page, the other language."""
    for field, key in _widget_keys().items():
        if key not in st.session_state:
            st.session_state[key] = _widget_value(field, saved.get(field), options)


def _clear_filters() -> None:
    for field, key in _widget_keys().items():
        if field != "live":
            st.session_state[key] = _widget_value(field, None, {})


def _filters(cfg: dict[str, Any]) -> dict[str, Any]:
    """The filter widgets, restored from what this person saved; answers the chosen filters."""
    options = {
        "team": ui.team_names(cfg),
        "level": list(cfg.get("levels", [])),
        "assignee": ui.agent_names(cfg),
        "platform": list(cfg.get("platforms", [])),
        "lang": list(cfg.get("languages", [])),
        "brand": [b["name"] for b in cfg.get("brands", [])],
    }
    _seed(inbox.saved_filters(), options)
    keys = _widget_keys()
    active = sum(bool(st.session_state.get(keys[f])) for f in ("status", *options, "min_urgency"))
    label = tr("inbox_filters_active", n=active) if active else tr("filters")
    chosen: dict[str, Any] = {}
    language = ui.lang()  # the option labels are drawn after this run's code
    with st.expander(label, expanded=bool(active), icon=":material/filter_list:"):
        cols = st.columns(4)
        with cols[0]:
            chosen["status"] = st.multiselect(
                tr("status"), OPEN_STATUSES, key=keys["status"], placeholder=tr("any"),
                format_func=ui.status_format(),
            )  # fmt: skip
            chosen["team"] = ui.choose("team", options["team"], key="q_team")
        with cols[1]:
            chosen["level"] = ui.choose("level", options["level"], key="q_level")
            chosen["assignee"] = ui.choose("assignee", options["assignee"], key="q_assignee")
        with cols[2]:
            chosen["platform"] = ui.choose("platform", options["platform"], key="q_platform")
            chosen["lang"] = ui.choose("lang", options["lang"], key="q_lang")
        with cols[3]:
            chosen["brand"] = ui.choose("brand", options["brand"], key="q_brand")
            chosen["min_urgency"] = st.selectbox(
                tr("min_urgency"), URGENCIES, key=keys["min_urgency"],
                format_func=lambda level: ui.urgency_text(level, language),
            )  # fmt: skip
        st.caption(tr("inbox_filters_kept"))
        st.button(
            tr("inbox_clear_filters"), key="q_clear", icon=":material/filter_alt_off:",
            on_click=_clear_filters, disabled=not active,
        )  # fmt: skip
    return chosen


# -- the table -------------------------------------------------------------------------------------


def _rows(items: list[dict[str, Any]]) -> tuple[pd.DataFrame, list[str]]:
    """The table, and each row's SLA tone (overdue, warning or none) for its colour."""
    at = ui.now()
    records, tones = [], []
    for case in items:
        label, left = ui.sla_countdown(case, at)
        state = (case.get("sla") or {}).get("state")
        tones.append("overdue" if left < 0 else "warning" if state == "warning" else "")
        text = str(case.get("text") or "").replace("\n", " ")
        records.append(
            {
                tr("col_case"): case["id"],
                tr("col_sla"): _MARKER.sub("", label),
                tr("col_urgency"): ui.urgency_text(case.get("urgency_level")),
                tr("col_text"): text[:160],
                tr("status"): ui.status_label(case.get("status")),
                tr("platform"): case.get("platform"),
                tr("lang"): case.get("lang"),
                tr("team"): " / ".join(p for p in (case.get("team"), case.get("level")) if p),
                tr("assignee"): case.get("assignee") or "",
                tr("col_author"): case.get("author"),
                tr("col_reasons"): ", ".join(ui.reason_labels(case)),
                tr("col_opened"): ui.parse_time(case.get("opened_at")),
            }
        )
    return pd.DataFrame(records), tones


def _clicked() -> str | None:
    """The case whose row was clicked in the last drawing (the click is used up)."""
    state = st.session_state.get(ONE)
    rows = list(state["selection"]["rows"]) if state is not None else []
    if not rows:
        return None
    st.session_state[ONE] = {"selection": {"rows": []}}  # coming back shows no stale selection
    shown: list[str] = st.session_state.get(SHOWN) or []
    return shown[rows[0]] if rows[0] < len(shown) else None


def _ticked(case_ids: list[str]) -> list[str]:
    """The ticked cases, by id, put back on the table: a refresh that brings new or reordered
    rows keeps what the agent ticked."""
    picked: list[str] = list(st.session_state.get(PICKED) or [])
    state = st.session_state.get(SEVERAL)
    if st.session_state.pop(RESET_PICK, False):
        picked = []
    elif state is not None:
        shown: list[str] = st.session_state.get(SHOWN) or []
        picked = [shown[i] for i in state["selection"]["rows"] if i < len(shown)]
    picked = [case_id for case_id in picked if case_id in case_ids]
    st.session_state[PICKED] = picked
    st.session_state[SEVERAL] = {"selection": {"rows": [case_ids.index(c) for c in picked]}}
    return picked


def _inbox(query: dict[str, Any], several: bool, filtered: bool, cfg: dict[str, Any]) -> None:
    """The queue itself; in live mode it refreshes on its own, so new cases appear as they open,
    and what the agent ticked or typed stays."""
    if not several:
        clicked = _clicked()
        if clicked:
            inbox.open_case(clicked)
    found = ui.fetch(ui.client().cases, **query)
    items: list[dict[str, Any]] = found["items"]
    case_ids = [str(case["id"]) for case in items]
    picked = _ticked(case_ids) if several else []
    st.session_state[SHOWN] = case_ids
    inbox.remember(case_ids)
    st.caption(tr("queue_total", n=found["total"]) + f" · {ui.when(ui.now(), with_date=False)}")
    if not items:
        st.info(tr("inbox_empty_filtered" if filtered else "inbox_empty"))
        return
    frame, tones = _rows(items)
    styled = frame.style.apply(
        lambda _: [_TONES.get(tone, "") for tone in tones], subset=[tr("col_sla")]
    )
    st.dataframe(
        styled,
        key=SEVERAL if several else ONE,
        on_select="rerun",
        selection_mode="multi-row" if several else "single-row",
        hide_index=True,
        width="stretch",
        column_config={
            tr("col_opened"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            tr("col_text"): st.column_config.TextColumn(width="large"),
        },
    )
    if several:
        _bulk(picked, cfg)
    else:
        st.caption(tr("inbox_click_hint"))


# -- acting on several cases -----------------------------------------------------------------------


def _bulk(picked: list[str], cfg: dict[str, Any]) -> None:
    """The action bar for the ticked rows; the API decides, case by case, what is allowed."""
    with st.container(border=True, key="q_actions"):
        if not picked:
            st.caption(tr("inbox_pick_rows"))
            return
        st.markdown(f"**{tr('inbox_selected', n=len(picked))}**")
        name = ui.translator()
        action = st.radio(
            tr("inbox_action"), BULK_ACTIONS, key=ui.wkey("q_bulk_action"), horizontal=True,
            format_func=lambda a: name(f"action_{a}"),
        )  # fmt: skip
        if action == "assign":
            who = st.selectbox(
                tr("assign_to"), ui.agent_names(cfg), key="q_bulk_who", accept_new_options=True,
                index=None, placeholder="…",
            )  # fmt: skip
            if st.button(tr("assign"), key="q_bulk", icon=":material/group_add:", type="primary"):
                if not who:
                    st.warning(tr("inbox_who_required"))
                    return
                result = ui.attempt(ui.client().bulk_assign, picked, who)
                if result is not None:
                    done = tr("assigned_n", n=len(result.get("assigned", [])), who=who)
                    _finish(done, dict(result.get("failed") or {}))
            return
        if action == "escalate":
            st.caption(tr("inbox_escalate_help"))
        reason = st.text_input(tr("reason"), key=f"q_bulk_reason_{action}")
        icon = ":material/arrow_upward:" if action == "escalate" else ":material/block:"
        if st.button(tr(f"action_{action}"), key="q_bulk_go", icon=icon, type="primary"):
            if not reason.strip():
                st.warning(tr("reason_required"))
                return
            body = {"reason": reason, "direction": "up" if action == "escalate" else None}
            _act_on_each(picked, action, body)


def _act_on_each(picked: list[str], action: str, body: dict[str, Any]) -> None:
    """One action on every ticked case; each refusal is reported with the service's reason."""
    failed: dict[str, str] = {}
    with st.spinner(tr("loading")):
        for case_id in picked:
            try:
                ui.client().act(case_id, action, **body)
            except NotSignedIn:
                ui.session_ended()
            except ApiError as exc:
                failed[case_id] = exc.detail
    done = len(picked) - len(failed)
    _finish(tr("inbox_done", action=tr(f"action_{action}"), n=done), failed)


def _finish(message: str, failed: dict[str, str]) -> None:
    st.session_state["q_flash"] = (message, failed)
    st.session_state[RESET_PICK] = True
    st.rerun()


def _flash() -> None:
    flash = st.session_state.pop("q_flash", None)
    if flash:
        message, failed = flash
        st.success(message, icon=":material/check_circle:")
        for case_id, why in failed.items():
            st.warning(tr("inbox_case_failed", case=case_id, why=ui.escape_markdown(str(why))))


def main() -> None:
    st.title(tr("queue_title"))
    st.caption(tr("queue_caption"))
    cfg = ui.ui_config()
    chosen = _filters(cfg)
    with st.container(horizontal=True, key="q_modes"):
        live = st.toggle(tr("live"), key="q_live", help=tr("live_help"))
        several = ui.may("cases:work") and st.toggle(
            tr("inbox_select_several"), key="q_several", help=tr("inbox_select_several_help")
        )
    inbox.keep_filters({**chosen, "live": live})
    if not several:
        st.session_state.pop(PICKED, None)
    _flash()
    statuses = chosen["status"]
    query: dict[str, Any] = {
        **{k: v or None for k, v in chosen.items() if k != "status"},
        "status": statuses,
        "open": None if statuses else True,
        "limit": 200,
    }
    filtered = any(bool(v) for v in chosen.values())
    if live:
        st.fragment(run_every=LIVE_EVERY)(_inbox)(query, several, filtered, cfg)
    else:
        _inbox(query, several, filtered, cfg)


main()
