"""The inbox's memory: the cases the queue last showed, in order, so a case page steps to the
next one, and the queue's filters, which the service keeps per person between sign-ins."""

from __future__ import annotations

from typing import Any

import streamlit as st  # noqa: TID253 - the dashboard is the one place streamlit belongs

from dashboard import ui
from dashboard.client import ApiError, NotSignedIn
from dashboard.ui import tr

CASE_PAGE = "views/case.py"
QUEUE_IDS = "inbox_ids"  # session key: the case ids the queue showed, in its order
SAVED = "inbox_saved_filters"  # session key: (user name, the filters the service holds for them)
PREFERENCE = "queue_filters"  # the preference's name at the service
DEFAULT_FILTERS: dict[str, Any] = {
    "status": [],
    "team": None,
    "level": None,
    "assignee": None,
    "platform": None,
    "lang": None,
    "brand": None,
    "min_urgency": 0,
    "live": True,
}


# -- the list to step through ----------------------------------------------------------------------


def remember(case_ids: list[str]) -> None:
    """Keep the queue's cases, in the order shown, for the case page's previous / next."""
    st.session_state[QUEUE_IDS] = list(case_ids)


def listed() -> list[str]:
    """The remembered list; for a case opened from a link, the open queue in its default order."""
    known = st.session_state.get(QUEUE_IDS)
    if known is None:
        found = ui.fetch(ui.client().cases, open=True, limit=200)
        known = [str(case["id"]) for case in found["items"]]
        remember(known)
    return list(known)


def open_case(case_id: str) -> None:
    """Go to the case page for ``case_id`` (ends this run)."""
    st.session_state["case_id"] = case_id
    st.switch_page(CASE_PAGE, query_params={"id": case_id})


def case_navigation(case_id: str) -> None:
    """Buttons to the previous and next case of the list the queue showed, and "n of N"."""
    case_ids = listed()
    if case_id not in case_ids:
        if case_ids:
            st.caption(tr("inbox_not_listed"))
        return
    at = case_ids.index(case_id)
    before = case_ids[at - 1] if at > 0 else None
    after = case_ids[at + 1] if at + 1 < len(case_ids) else None
    with st.container(horizontal=True, vertical_alignment="center", key="case_nav"):
        if st.button(
            tr("inbox_prev"), key="case_prev", icon=":material/arrow_back:", disabled=not before
        ):
            open_case(str(before))
        st.caption(tr("inbox_position", n=at + 1, total=len(case_ids)))
        if st.button(
            tr("inbox_next"), key="case_next", icon=":material/arrow_forward:", disabled=not after
        ):
            open_case(str(after))


# -- filters kept by the service -------------------------------------------------------------------


def saved_filters() -> dict[str, Any]:
    """The signed-in person's queue filters, read from the service once per session and person."""
    who = str(ui.user().get("name") or "")
    held = st.session_state.get(SAVED)
    if not (isinstance(held, tuple) and held[0] == who):
        answer = ui.fetch(ui.client().preference, PREFERENCE)
        value = answer.get("value")
        held = (who, {**DEFAULT_FILTERS, **value} if isinstance(value, dict) else DEFAULT_FILTERS)
        st.session_state[SAVED] = held
    return dict(held[1])


def keep_filters(filters: dict[str, Any]) -> None:
    """Save ``filters`` for this person when they changed; a refusal is shown, not fatal."""
    if filters == saved_filters():
        return
    try:
        ui.client().save_preference(PREFERENCE, filters)
    except NotSignedIn:
        ui.session_ended()
    except ApiError as exc:
        st.caption(tr("inbox_filters_not_saved", detail=ui.escape_markdown(str(exc.detail))))
        return
    st.session_state[SAVED] = (str(ui.user().get("name") or ""), dict(filters))
