"""Case: the mention in its thread, the author across channels, scores, timeline, composer."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st  # noqa: TID253 - the dashboard is the one place streamlit belongs

from dashboard import ui
from dashboard.client import ApiError, NotSignedIn
from dashboard.ui import tr

POSTING = ("acknowledge", "private_message", "close_public")
ACTIONS = (
    "acknowledge",
    "private_message",
    "customer_reply",
    "resolve",
    "close_public",
    "close",
    "escalate",
    "assign",
    "dismiss",
    "reopen",
)
# What a community manager usually does next; the API decides what is allowed.
NEXT_STEP = {
    "new": "acknowledge",
    "acknowledged": "private_message",
    "in_private": "resolve",
    "resolved": "close_public",
    "closed_public": "close",
}


def _pick_case() -> str | None:
    wanted = st.query_params.get("id") or st.session_state.get("case_id")
    if wanted:
        return str(wanted)
    found = ui.fetch(ui.client().cases, open=True, limit=200)
    ids = [c["id"] for c in found["items"]]
    if not ids:
        st.info(tr("case_none"))
        return None
    picked = st.selectbox(tr("case_pick"), ids, index=None, key="case_pick")
    return str(picked) if picked else None


def _when(value: Any) -> str:
    moment = ui.parse_time(value)
    return f"{moment:%Y-%m-%d %H:%M}" if moment else ""


def _header(case: dict[str, Any]) -> None:
    st.title(tr("case_title", id=case["id"]))
    sla, _ = ui.sla_countdown(case)
    ui.fields(
        [
            (tr("status"), case["status"]),
            (tr("col_sla"), sla),
            (tr("urgency"), ui.urgency_label(case.get("urgency_level"))),
            (tr("team"), " / ".join(p for p in (case.get("team"), case.get("level")) if p)),
            (tr("assignee"), case.get("assignee") or "—"),
            (tr("platform"), f"{case.get('platform')} · {case.get('lang') or '?'}"),
        ]
    )
    reasons = case.get("urgency_reasons") or []
    if reasons:
        st.caption(ui.escape_markdown(f"{tr('reasons')}: {', '.join(reasons)}"))
    for window in case.get("windows") or []:
        _window(window)


def _window(window: dict[str, Any]) -> None:
    """One platform window: open until when (and how long is left), or closed and why."""
    name = tr(f"window_{window['kind']}", channel=tr(f"channel_{window['channel']}"))
    closes = ui.parse_time(window.get("closes_at"))
    if window.get("open") and closes is not None:
        left = ui.span((closes - ui.now()).total_seconds())
        st.caption(tr("window_open", name=name, left=left, at=closes.strftime("%Y-%m-%d %H:%M")))
    else:
        reason = ui.escape_markdown(str(window.get("reason") or ""))
        key = "window_template_only" if window.get("template_only") else "window_closed"
        st.caption(tr(key, name=name, reason=reason))


def _mention(detail: dict[str, Any]) -> None:
    mention = detail.get("mention") or {}
    st.subheader(tr("the_mention"))
    caption = " · ".join(
        str(p)
        for p in (mention.get("platform"), mention.get("author"), _when(mention.get("created_at")))
        if p
    )
    if mention.get("title"):
        ui.public_text(mention["title"])
    ui.public_text(mention.get("text") or detail["case"].get("text"), caption=caption)
    url = ui.safe_url(mention.get("url"))
    if url:
        st.link_button(tr("open_original"), url, icon="↗️")

    thread = [m for m in detail.get("thread", []) if m.get("key") != mention.get("key")]
    messages = detail.get("messages", [])
    if thread:
        with st.expander(f"{tr('thread')} ({len(thread)})", expanded=True):
            for item in thread:
                ui.public_text(
                    item.get("text"),
                    caption=f"{item.get('author')} · {_when(item.get('created_at'))}",
                )
    if messages:
        with st.expander(f"{tr('messages')} ({len(messages)})", expanded=True):
            for msg in messages:
                arrow = "⬅️" if msg.get("direction") == "inbound" else "➡️"
                lock = "🔒" if msg.get("visibility") == "private" else "🌐"
                ui.public_text(
                    msg.get("text"),
                    caption=f"{arrow} {lock} {msg.get('platform')} · {msg.get('author')} · "
                    f"{_when(msg.get('created_at'))}",
                )


def _scores(mention: dict[str, Any]) -> None:
    st.subheader(tr("scores"))
    if mention.get("sentiment") is None:
        st.caption(tr("none_yet"))
        return
    ui.fields(
        [
            (tr("sentiment"), tr(str(mention["sentiment"]))),
            (tr("intent"), str(mention.get("intent") or "—")),
            (tr("complaint"), f"{float(mention.get('complaint') or 0):.2f}"),
        ]
    )
    probs = pd.DataFrame(
        {
            tr("sentiment"): [tr("negative"), tr("neutral"), tr("positive")],
            "p": [mention.get("p_negative"), mention.get("p_neutral"), mention.get("p_positive")],
        }
    )
    st.dataframe(
        probs,
        hide_index=True,
        width="stretch",
        column_config={
            "p": st.column_config.ProgressColumn(min_value=0, max_value=1, format="%.2f")
        },
    )
    ui.fields(
        [
            (
                tr("urgency"),
                f"{ui.urgency_label(mention.get('urgency_level'))} "
                f"({float(mention.get('urgency_score') or 0):.2f})",
            )
        ]
    )
    for reason in mention.get("urgency_reasons") or []:
        st.caption("• " + ui.escape_markdown(str(reason)))


def _author(detail: dict[str, Any]) -> None:
    author = detail.get("author") or {}
    st.subheader(tr("author"))
    shown = [
        (label, author.get(k))
        for k, label in (
            ("handle", "@"),
            ("name", tr("author")),
            ("platform", tr("platform")),
            ("followers", tr("followers")),
            ("customer_id", "id"),
        )
        if author.get(k) not in (None, "")
    ]
    if shown:
        ui.fields(shown)
    history = detail.get("history", [])
    st.markdown(f"**{tr('history')}** ({len(history)})")
    if history:
        frame = pd.DataFrame(history)
        keep = [
            c
            for c in ("created_at", "opened_at", "platform", "kind", "id", "key", "status", "text")
            if c in frame
        ]
        st.dataframe(frame[keep] if keep else frame, hide_index=True, width="stretch")


def _timeline(detail: dict[str, Any]) -> None:
    events = detail.get("events", [])
    st.subheader(tr("timeline"))
    if events:
        frame = pd.DataFrame(events)
        if "detail" in frame:
            frame["detail"] = frame["detail"].map(
                lambda d: (
                    d if isinstance(d, str) or d is None else json.dumps(d, ensure_ascii=False)
                )
            )
        keep = [
            c
            for c in ("created_at", "actor", "action", "from_status", "to_status", "detail")
            if c in frame
        ]
        st.dataframe(frame[keep], hide_index=True, width="stretch")
    outbox = detail.get("outbox", [])
    if outbox:
        st.markdown(f"**{tr('outbox')}**")
        frame = pd.DataFrame(outbox)
        keep = [
            c
            for c in ("created_at", "kind", "platform", "recipient", "status", "attempts",
                      "last_error", "platform_id", "text")
            if c in frame
        ]  # fmt: skip
        st.dataframe(frame[keep], hide_index=True, width="stretch")


def _run(case_id: str, action: str, **body: Any) -> None:
    result = ui.attempt(ui.client().act, case_id, action, **body)
    if result is not None:
        status = (result.get("case") or {}).get("status", "")
        st.session_state["case_flash"] = tr("done", action=tr(f"action_{action}"), status=status)
        st.rerun()


def _posting(case_id: str, action: str, case: dict[str, Any]) -> None:
    channel = None
    offered = case.get("channels") or []
    if action in ("acknowledge", "private_message") and len(offered) > 1:
        current = case.get("private_channel") or offered[0]
        labels = [tr(f"channel_{c}") for c in offered]  # plain labels: AppTest and reruns agree
        chosen = st.selectbox(
            tr("private_channel"),
            labels,
            index=offered.index(current) if current in offered else 0,
            key=ui.wkey(f"channel_{case_id}_{action}_{current}"),  # afresh when it moves
        )
        channel = offered[labels.index(chosen)] if chosen in labels else None
    try:
        preview = ui.client().preview(case_id, action, channel=channel)
    except NotSignedIn:
        ui.session_ended()
    except ApiError as exc:
        st.info(tr("preview_unavailable", detail=exc.detail))
        return
    st.markdown(
        tr(
            "will_post",
            visibility=tr(f"visibility_{preview.get('visibility', 'public')}"),
            platform=ui.escape_markdown(str(preview.get("platform"))),
            where=ui.escape_markdown(str(preview.get("where") or "—")),
            recipient=ui.escape_markdown(str(preview.get("recipient") or "—")),
        )
    )
    key = f"text_{case_id}_{action}"
    if channel is not None and channel != (case.get("private_channel") or offered[0]):
        key += f"_{channel}"  # another channel, another invitation: a fresh text box
    text = st.text_area(tr("message_text"), value=preview.get("text", ""), key=key, height=110)
    if st.button(tr("do_post"), key=f"do_{action}", type="primary", icon="📤"):
        edited = text if text != preview.get("text") else None
        _run(case_id, action, text=edited, channel=channel)


def _composer(case_id: str, case: dict[str, Any], cfg: dict[str, Any]) -> None:
    st.subheader(tr("composer"))
    suggested = NEXT_STEP.get(case["status"])
    if suggested:
        st.caption(tr("next_step", action=tr(f"action_{suggested}")))
    order = [suggested, *[a for a in ACTIONS if a != suggested]] if suggested else list(ACTIONS)
    allowed = case.get("actions")
    if allowed:  # the service says which actions this status allows; show only those
        order = [a for a in order if a in allowed]
    tabs = st.tabs([tr(f"action_{a}") for a in order])
    for tab, action in zip(tabs, order, strict=True):
        with tab:
            if action in POSTING:
                _posting(case_id, action, case)
            elif action == "customer_reply":
                st.caption(tr("customer_reply_help"))
                text = st.text_area(tr("message_text"), key=f"text_{case_id}_reply", height=90)
                if st.button(tr("do_action"), key="do_customer_reply") and text.strip():
                    _run(case_id, action, text=text)
            elif action in ("dismiss", "escalate"):
                team = level = None
                if action == "escalate":
                    cols = st.columns(2)
                    team = cols[0].selectbox(tr("team"), ui.team_names(cfg), key="esc_team")
                    level = cols[1].selectbox(
                        tr("level"), list(cfg.get("levels", [])), key="esc_level"
                    )
                reason = st.text_input(tr("reason"), key=f"reason_{action}")
                if st.button(tr("do_action"), key=f"do_{action}"):
                    if not reason.strip():
                        st.warning(tr("reason_required"))
                    else:
                        _run(case_id, action, reason=reason, team=team, level=level)
            elif action == "assign":
                who = st.selectbox(
                    tr("assign_to"),
                    ui.agent_names(cfg),
                    key="case_assignee",
                    accept_new_options=True,
                    index=None,
                    placeholder="…",
                )
                if st.button(tr("assign"), key="do_assign") and who:
                    _run(case_id, action, assignee=who)
            elif st.button(tr("do_action"), key=f"do_{action}"):
                _run(case_id, action)


def main() -> None:
    case_id = _pick_case()
    if case_id is None:
        return
    st.session_state["case_id"] = case_id
    detail = ui.fetch(ui.client().case, case_id)
    cfg = ui.ui_config()
    case = detail["case"]
    _header(case)
    flash = st.session_state.pop("case_flash", None)
    if flash:
        st.success(flash, icon="✅")

    left, right = st.columns([3, 2])
    with left:
        _mention(detail)
        if ui.may("cases:work"):
            _composer(case_id, case, cfg)
    with right:
        _scores(detail.get("mention") or {})
        _author(detail)
    _timeline(detail)


main()
