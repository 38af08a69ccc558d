"""The customer panel of a case: their accounts across platforms and their reach, suggested links
to confirm or reject, undo for a confirmed link, and their previous cases with how each ended."""

from __future__ import annotations

import re
from typing import Any

import streamlit as st  # noqa: TID253 - the dashboard is the one place streamlit belongs

from dashboard import ui
from dashboard.client import ApiError, NotSignedIn
from dashboard.ui import tr

FLASH = "customer_flash"


def widget_key(account: str) -> str:
    """An account key as a widget key a browser can select (``x:ana`` -> ``x_ana``)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", account)


def count(n: Any) -> str:
    """A whole number with the reader's thousands separator."""
    text = f"{int(n):,}"
    return text.replace(",", ".") if ui.lang() == "es" else text


def panel(detail: dict[str, Any]) -> None:
    """Everything about the person behind the case, on the case page."""
    case = detail["case"]
    key = str(case.get("author_key") or "")
    with st.container(key="case_customer"):
        st.subheader(tr("customer"), anchor=False)
        flash = st.session_state.pop(FLASH, None)
        if flash:
            st.success(flash, icon=":material/check_circle:")
        view = _view(key, detail)
        _accounts(key, view)
        if ui.may("customers:link"):
            _suggestions(key, view)
        _cases(str(case["id"]), view.get("cases") or [])
        shown = {
            str(m.get("key")) for m in [detail.get("mention"), *detail.get("mentions", [])] if m
        }
        _mentions([h for h in detail.get("history") or [] if str(h.get("ref")) not in shown])


def _view(key: str, detail: dict[str, Any]) -> dict[str, Any]:
    try:
        return ui.client().customer(key)
    except NotSignedIn:
        ui.session_ended()
    except ApiError as exc:
        st.caption(tr("customer_unavailable", detail=ui.escape_markdown(str(exc.detail))))
    author = detail.get("author")
    return {"accounts": [author] if author else [], "links": [], "cases": []}


def _act(call: Any, *args: Any, message: str, **kwargs: Any) -> None:
    if ui.attempt(call, *args, **kwargs) is not None:
        st.session_state[FLASH] = message
        st.rerun()


def _accounts(key: str, view: dict[str, Any]) -> None:
    accounts = sorted(view.get("accounts") or [], key=lambda a: (a.get("key") != key, a["key"]))
    links = view.get("links") or []
    st.markdown(f"**{tr('customer_accounts')}** ({len(accounts)})")
    known = [int(a["followers"]) for a in accounts if a.get("followers") is not None]
    for account in accounts:
        account_key = str(account["key"])
        handle = ui.escape_markdown(str(account.get("handle") or account_key))
        line = f":material/account_circle: **{handle}** · {ui.escape_markdown(account['platform'])}"
        name = account.get("name")
        if name and name != account.get("handle"):
            line += f" · {ui.escape_markdown(str(name))}"
        notes = [
            tr("followers_n", n=count(account["followers"]))
            if account.get("followers") is not None
            else tr("followers_unknown")
        ]
        if account_key == key:
            notes.append(tr("this_account"))
        link = next((lk for lk in links if account_key in (lk["a_key"], lk["b_key"])), None)
        if link is not None:
            actor = ui.escape_markdown(str(link.get("actor")))
            notes.append(tr("linked_by", actor=actor, when=ui.moment(link.get("created_at"))))
        text, action = st.columns([4, 1], vertical_alignment="center")
        text.markdown(line)
        text.caption(" · ".join(notes))
        undoable = account_key != key and link is not None and ui.may("customers:link")
        if undoable and action.button(
            tr("undo_link"), key=f"cust_undo_{widget_key(account_key)}", icon=":material/undo:"
        ):
            message = tr("link_undone", account=ui.escape_markdown(account_key))
            _act(ui.client().undo_link, key, account_key, message=message)
    if known:
        st.caption(":material/groups: " + tr("reach_total", n=count(sum(known))))
    else:
        st.caption(":material/groups: " + tr("reach_unknown"))


def _suggestions(key: str, view: dict[str, Any]) -> None:
    mine = {str(a["key"]) for a in view.get("accounts") or []} | {key}
    try:
        found = ui.client().customer_suggestions(key)
    except NotSignedIn:
        ui.session_ended()
    except ApiError as exc:
        st.caption(tr("customer_unavailable", detail=ui.escape_markdown(str(exc.detail))))
        return
    st.markdown(f"**{tr('suggested_links')}** ({len(found)})")
    if not found:
        st.caption(tr("no_suggestions"))
    for suggestion in found:
        ours = suggestion["a"] if suggestion["a"] in mine else suggestion["b"]
        other = suggestion["b"] if ours == suggestion["a"] else suggestion["a"]
        confidence = ui.percent(suggestion.get("confidence"))
        with st.container(border=True, key=f"cust_suggestion_{widget_key(other)}"):
            st.markdown(
                f":material/person_search: **{ui.escape_markdown(other)}** · "
                + tr("confidence", p=confidence)
            )
            signals = suggestion.get("signals") or []
            evidence = [str(e) for e in suggestion.get("evidence") or []]
            said = [tr(f"signal_{s}") for s in signals] or evidence
            st.caption(
                f"{tr('evidence_label')}: " + "; ".join(ui.escape_markdown(s) for s in said),
                help="\n\n".join(evidence) or None,
            )
            yes, no = st.columns(2)
            if yes.button(
                tr("link_confirm"), key=f"cust_link_{widget_key(other)}", icon=":material/link:"
            ):
                _act(
                    ui.client().decide_link, ours, other, "linked",
                    confidence=suggestion.get("confidence"),
                    message=tr("link_confirmed", account=ui.escape_markdown(other)),
                )  # fmt: skip
            if no.button(
                tr("link_reject"),
                key=f"cust_reject_{widget_key(other)}",
                icon=":material/link_off:",
            ):
                _act(
                    ui.client().decide_link, ours, other, "rejected",
                    confidence=suggestion.get("confidence"),
                    message=tr("link_rejected", account=ui.escape_markdown(other)),
                )  # fmt: skip


def _cases(case_id: str, cases: list[dict[str, Any]]) -> None:
    previous = [c for c in cases if c.get("id") != case_id]
    st.markdown(f"**{tr('previous_cases')}** ({len(previous)})")
    if not previous:
        st.caption(tr("no_previous_cases"))
    for found in previous:
        st.markdown(
            f":material/folder_open: **{ui.escape_markdown(str(found['id']))}** · "
            f"{ui.escape_markdown(str(found.get('platform')))} · "
            f"{ui.escape_markdown(ui.status_label(found.get('status')))}"
        )
        notes = [tr("case_opened", when=ui.moment(found.get("opened_at")))]
        if found.get("closed_at"):
            notes.append(tr("case_closed_on", when=ui.moment(found["closed_at"])))
        elif found.get("resolved_at"):
            notes.append(tr("case_resolved_on", when=ui.moment(found["resolved_at"])))
        score = found.get("csat_score")
        notes.append(tr("csat_score", score=score) if score is not None else tr("no_csat"))
        st.caption(" · ".join(notes))


def _mentions(history: list[dict[str, Any]]) -> None:
    mentions = [h for h in history if h.get("type") == "mention"]
    if not mentions:
        return
    with st.expander(f"{tr('other_mentions')} ({len(mentions)})", icon=":material/forum:"):
        for item in mentions:
            st.caption(
                f"{ui.escape_markdown(str(item.get('platform')))} · "
                f"{ui.moment(item.get('happened_at'))}"
            )
            st.markdown(ui.escape_markdown(str(item.get("detail") or "")))
