"""Case: the mention in its thread, one conversation across every channel, the customer behind
it, scores, timeline and the composer."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st  # noqa: TID253 - the dashboard is the one place streamlit belongs

from dashboard import customer, inbox, ui
from dashboard.client import ApiError, NotSignedIn
from dashboard.i18n import STRINGS
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
# Each channel a message can travel on: its Material icon (emoji render as boxes in Debian's
# Chromium) and the i18n key of its name.
CHANNELS: dict[str, tuple[str, str]] = {
    "public_post": (":material/forum:", "conv_public_post"),
    "public_reply": (":material/public:", "conv_public_reply"),
    "public_close": (":material/task_alt:", "conv_public_close"),
    "private_reply": (":material/reply:", "conv_private_reply"),
    "dm": (":material/chat:", "conv_dm"),
    "messenger": (":material/chat:", "channel_messenger"),
    "instagram_dm": (":material/chat:", "channel_instagram_dm"),
    "whatsapp": (":material/smartphone:", "channel_whatsapp"),
    "email": (":material/mail:", "channel_email"),
    "web_form": (":material/web:", "channel_web_form"),
    "manual": (":material/edit_note:", "conv_manual"),
    "survey": (":material/reviews:", "conv_survey"),
}
DELIVERY_ICONS = {
    "queued": ":material/schedule:",
    "retrying": ":material/schedule:",
    "sent": ":material/done:",
    "delivered": ":material/done_all:",
    "read": ":material/visibility:",
    "failed": ":material/error:",
    "received": ":material/call_received:",
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


def _label(prefix: str, value: Any) -> str:
    """``value`` translated with the key ``prefix_value`` where there is one, else as it is."""
    translated = tr(f"{prefix}_{value}")
    return str(value or "") if translated == f"{prefix}_{value}" else translated


def _header(case: dict[str, Any]) -> None:
    st.title(tr("case_title", id=case["id"]))
    sla, _ = ui.sla_countdown(case)
    ui.fields(
        [
            (tr("status"), ui.status_label(case["status"])),
            (tr("col_sla"), sla),
            (tr("urgency"), ui.urgency_label(case.get("urgency_level"))),
            (tr("team"), " / ".join(p for p in (case.get("team"), case.get("level")) if p)),
            (tr("assignee"), case.get("assignee") or "—"),
            (tr("platform"), f"{case.get('platform')} · {case.get('lang') or '?'}"),
        ]
    )
    reasons = ui.reason_labels(case)
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
        st.caption(
            ":material/timer: " + tr("window_open", name=name, left=left, at=ui.when(closes))
        )
    else:
        code = f"window_reason_{window.get('code')}"
        reason = (
            tr(code) if code in STRINGS else ui.escape_markdown(str(window.get("reason") or ""))
        )
        key = "window_template_only" if window.get("template_only") else "window_closed"
        st.caption(":material/timer_off: " + tr(key, name=name, reason=reason))


# -- the mention in its thread ---------------------------------------------------------------------


def _post(item: dict[str, Any], *, note: str | None = None) -> None:
    """One public post of the thread: who, where, what kind, when, and its text as text."""
    parts = [
        f"**{ui.escape_markdown(str(item.get('author') or '?'))}**",
        ui.escape_markdown(str(item.get("platform") or "")),
        _label("kind", item.get("kind")),
        ui.moment(item.get("created_at")),
    ]
    if note:
        parts.insert(0, note)
    st.caption(" · ".join(p for p in parts if p))
    if item.get("title"):
        st.markdown(f"**{ui.escape_markdown(str(item['title']))}**")
    st.markdown(ui.escape_markdown(str(item.get("text") or "")))


def _mention(detail: dict[str, Any]) -> None:
    """The mention highlighted in its thread: what came before it above, replies below."""
    mention = detail.get("mention") or {"text": detail["case"].get("text")}
    st.subheader(tr("thread_context"), anchor=False)
    thread = sorted(
        (m for m in detail.get("thread", []) if m.get("key") != mention.get("key")),
        key=lambda m: str(m.get("created_at") or ""),
    )
    at = str(mention.get("created_at") or "")
    before = [m for m in thread if str(m.get("created_at") or "") <= at]
    after = [m for m in thread if str(m.get("created_at") or "") > at]
    parent = mention.get("parent_key")
    with st.container(key="case_thread"):
        for item in before:
            with st.container(border=True):
                note = None
                if item.get("key") == parent:
                    note = ":material/subdirectory_arrow_right: " + tr("in_reply_to")
                _post(item, note=note)
        with st.container(border=True, key="case_mention"):
            st.markdown(f":material/flag: **{tr('this_mention')}**")
            _post(mention)
            url = ui.safe_url(mention.get("url"))
            if url:
                st.link_button(tr("open_original"), url, icon=":material/open_in_new:")
        if after:
            st.caption(f":material/forum: {tr('replies_below')} ({len(after)})")
        for item in after:
            with st.container(border=True):
                note = None
                if item.get("parent_key") == mention.get("key"):
                    note = ":material/subdirectory_arrow_right: " + tr("in_reply_to")
                _post(item, note=note)
        if not thread:
            st.caption(tr("no_thread"))


# -- one conversation on every channel -------------------------------------------------------------


def _channel(msg: dict[str, Any], sent: dict[str, Any] | None, manual: bool) -> str:
    """Which channel a message travelled on, as a key of ``CHANNELS``."""
    if msg.get("direction") == "inbound":
        if manual:
            return "manual"
        if msg.get("visibility") == "public":
            return "public_post"
        return str(msg.get("platform")) if msg.get("platform") in CHANNELS else "dm"
    if sent is not None:
        if sent.get("kind") in ("public_reply", "public_close"):
            return str(sent["kind"])
        if str(sent.get("idempotency_key") or "").split(":")[1:2] == ["csat"]:
            return "survey"
        route = sent.get("private_channel")
        if route in CHANNELS:
            return str(route)
    if msg.get("visibility") == "public":
        return "public_reply"
    return str(msg.get("platform")) if msg.get("platform") in CHANNELS else "dm"


def _delivery(msg: dict[str, Any], sent: dict[str, Any] | None) -> tuple[str, str]:
    """The message's delivery state (a key of ``DELIVERY_ICONS``) and how to say it."""
    if msg.get("direction") == "inbound":
        return "received", tr("delivery_received")
    reported = msg.get("delivery_status")
    error = ui.escape_markdown(
        str(msg.get("delivery_error") or (sent or {}).get("last_error") or tr("delivery_unknown"))
    )
    if reported in ("sent", "delivered", "read"):
        return str(reported), tr(f"delivery_{reported}")
    if reported == "failed" or (sent or {}).get("status") == "failed":
        return "failed", tr("delivery_failed", error=error)
    if (sent or {}).get("status") == "sent":
        return "sent", tr("delivery_sent")
    if (sent or {}).get("last_error"):
        return "retrying", tr("delivery_retrying", error=error)
    return "queued", tr("delivery_queued")


def conversation_items(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """Every message of the case, public and private, both ways, on every channel, oldest
    first: the customer's public posts, then what each side said."""
    case = detail["case"]
    outbox = {o["id"]: o for o in detail.get("outbox", [])}
    events = detail.get("events", [])
    senders = {e["outbox_id"]: e["actor"] for e in events if e.get("outbox_id") is not None}
    # A customer reply an agent typed in: the event's actor is the agent, not "customer:...".
    typed = {
        str((e.get("detail") or {}).get("text")): e["actor"]
        for e in events
        if e.get("action") == "customer_reply" and not str(e.get("actor")).startswith("customer:")
    }
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for post in [detail.get("mention"), *detail.get("mentions", [])]:
        if not post or post.get("key") in seen:
            continue
        seen.add(str(post.get("key")))
        items.append(
            {
                "at": ui.parse_time(post.get("created_at")), "order": 0,
                "direction": "inbound", "channel": "public_post",
                "platform": post.get("platform"), "who": post.get("author"),
                "text": post.get("text"), "state": ("received", tr("delivery_received")),
            }
        )  # fmt: skip
    for msg in detail.get("messages", []):
        sent = outbox.get(msg.get("outbox_id"))
        manual = (
            msg.get("direction") == "inbound"
            and not msg.get("native_id")
            and str(msg.get("text")) in typed
        )
        who = str(msg.get("author") or "")
        if manual:
            who = tr("recorded_by", who=who, actor=typed[str(msg.get("text"))])
        elif msg.get("direction") != "inbound" and msg.get("outbox_id") in senders:
            who = tr("sent_by", brand=who, actor=senders[msg["outbox_id"]])
        items.append(
            {
                "at": ui.parse_time(msg.get("created_at")), "order": int(msg.get("id") or 0),
                "direction": msg.get("direction"), "channel": _channel(msg, sent, manual),
                "platform": msg.get("platform") or case.get("platform"), "who": who,
                "text": msg.get("text"), "state": _delivery(msg, sent),
            }
        )  # fmt: skip
    items.sort(key=lambda i: (i["at"] is None, i["at"] or ui.now(), i["order"]))
    return items


def _conversation(detail: dict[str, Any]) -> None:
    items = conversation_items(detail)
    st.subheader(tr("conversation"), anchor=False)
    with st.container(key="case_conversation"):
        if not items:
            st.caption(tr("conversation_empty"))
        for item in items:
            customer_side = item["direction"] == "inbound"
            icon, name = CHANNELS.get(item["channel"], CHANNELS["dm"])
            state, said = item["state"]
            with st.chat_message(
                "user" if customer_side else "assistant",
                avatar=":material/person:" if customer_side else ":material/support_agent:",
            ):
                st.caption(
                    " · ".join(
                        (
                            f"**{tr('from_customer' if customer_side else 'from_agent')}**",
                            f"{icon} {tr(name)}",
                            ui.escape_markdown(str(item.get("platform") or "")),
                            ui.escape_markdown(str(item["who"])),
                            ui.moment(item["at"]),
                        )
                    )
                )
                st.markdown(ui.escape_markdown(str(item.get("text") or "")))
                st.caption(f"{DELIVERY_ICONS[state]} {said}")


# -- scores and timeline ---------------------------------------------------------------------------


def _scores(mention: dict[str, Any]) -> None:
    st.subheader(tr("scores"), anchor=False)
    if mention.get("sentiment") is None:
        st.caption(tr("none_yet"))
        return
    ui.fields(
        [
            (tr("sentiment"), tr(str(mention["sentiment"]))),
            (tr("intent"), _label("intent", mention.get("intent")) or "—"),
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
    for reason in ui.reason_labels(mention):
        st.caption("• " + ui.escape_markdown(reason))


def event_label(action: Any) -> str:
    """A case event's action in the reader's language."""
    named = _label("action", action)
    return _label("event", action) if named == str(action or "") else named


def _detail(extra: Any) -> str:
    """An event's detail as a person reads it: the message when there is one, else its values
    ("complaint · atencion-es · country · lucia")."""
    if not extra:
        return ""
    if not isinstance(extra, dict):
        return str(extra)
    if extra.get("text"):
        return str(extra["text"])
    values = []
    for value in extra.values():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = json.dumps(value, ensure_ascii=False)
        values.append(str(value))
    return " · ".join(values)


def _timeline(detail: dict[str, Any]) -> None:
    events = detail.get("events", [])
    st.subheader(tr("timeline"), anchor=False)
    if not events:
        return
    rows = []
    for event in events:
        change = " → ".join(
            ui.status_label(s) for s in (event.get("from_status"), event.get("to_status")) if s
        )
        extra = event.get("detail")
        rows.append(
            {
                tr("col_when"): ui.moment(event.get("created_at")),
                tr("col_who"): event.get("actor"),
                tr("col_action"): event_label(event.get("action")),
                tr("col_change"): change,
                tr("col_detail"): _detail(extra),
            }
        )  # fmt: skip
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="case_timeline")


# -- the composer ----------------------------------------------------------------------------------


def _run(case_id: str, action: str, **body: Any) -> None:
    result = ui.attempt(ui.client().act, case_id, action, **body)
    if result is not None:
        status = (result.get("case") or {}).get("status", "")
        st.session_state["case_flash"] = tr(
            "done", action=tr(f"action_{action}"), status=ui.status_label(status)
        )
        st.rerun()


def _where(preview: dict[str, Any], case: dict[str, Any], channel: str | None) -> str:
    """Where the preview's message goes, said in the reader's language."""
    who = ui.escape_markdown(str(preview.get("recipient") or case.get("author") or "—"))
    mention = ui.escape_markdown(str(case.get("mention_key") or case.get("id")))
    if preview.get("visibility") != "private":
        kind = "where_public_close" if preview.get("kind") == "public_close" else None
        return tr(kind or "where_public_reply", mention=mention)
    route = preview.get("route")
    if route == "private_reply":
        return tr("where_private_reply", who=who)
    if route in ("messenger", "instagram_dm"):
        return tr("where_channel", channel=tr(f"channel_{route}"), who=who)
    offered = case.get("channels") or ["dm"]
    on = channel or case.get("private_channel") or offered[0]
    if on in ("dm", "email", "whatsapp"):
        return tr(f"where_{on}", who=who, case=case["id"])
    return tr("where_channel", channel=_label("channel", on), who=who)


def _posting(case_id: str, action: str, case: dict[str, Any]) -> None:
    channel = None
    offered = case.get("channels") or []
    if action in ("acknowledge", "private_message") and len(offered) > 1:
        reach = case.get("reachable") or {}
        # Where the customer can be reached now comes first when the case has no channel yet.
        current = case.get("private_channel") or reach.get("channel") or offered[0]
        labels = [tr(f"channel_{c}") for c in offered]  # plain labels: AppTest and reruns agree
        chosen = st.selectbox(
            tr("private_channel"),
            labels,
            index=offered.index(current) if current in offered else 0,
            key=ui.wkey(f"channel_{case_id}_{action}_{current}"),  # afresh when it moves
        )
        channel = offered[labels.index(chosen)] if chosen in labels else None
        if reach and not case.get("private_channel"):
            st.caption(
                tr(
                    "reachable_now",
                    channel=tr(f"channel_{reach['channel']}"),
                    address=ui.escape_markdown(str(reach["address"])),
                )
                + (" " + tr("reachable_template_only") if reach.get("template_only") else "")
            )
    try:
        preview = ui.client().preview(case_id, action, channel=channel)
    except NotSignedIn:
        ui.session_ended()
    except ApiError as exc:
        st.info(tr("preview_unavailable", detail=ui.escape_markdown(str(exc.detail))))
        return
    st.markdown(
        tr(
            "will_post" if preview.get("recipient") else "will_post_public",
            visibility=tr(f"visibility_{preview.get('visibility', 'public')}"),
            platform=ui.escape_markdown(str(preview.get("platform"))),
            where=_where(preview, case, channel),
            recipient=ui.escape_markdown(str(preview.get("recipient") or "—")),
        )
    )
    key = f"text_{case_id}_{action}"
    default = case.get("private_channel") or (case.get("reachable") or {}).get("channel")
    if channel is not None and channel != (default or offered[0]):
        key += f"_{channel}"  # another channel, another invitation: a fresh text box
    text = st.text_area(tr("message_text"), value=preview.get("text", ""), key=key, height=110)
    if st.button(tr("do_post"), key=f"do_{action}", type="primary", icon=":material/send:"):
        edited = text if text != preview.get("text") else None
        _run(case_id, action, text=edited, channel=channel)


def _composer(case_id: str, case: dict[str, Any], cfg: dict[str, Any]) -> None:
    st.subheader(tr("composer"), anchor=False)
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
    inbox.case_navigation(case_id)
    _header(case)
    flash = st.session_state.pop("case_flash", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")

    left, right = st.columns([3, 2])
    with left:
        _mention(detail)
        _conversation(detail)
        if ui.may("cases:work"):
            _composer(case_id, case, cfg)
    with right:
        customer.panel(detail)
        _scores(detail.get("mention") or {})
    _timeline(detail)


main()
