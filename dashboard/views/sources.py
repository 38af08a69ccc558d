"""Sources: each source's health (last success, last error, items, rate limit or quota)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st  # noqa: TID253 - the dashboard is the one place streamlit belongs

from dashboard import ui
from dashboard.ui import tr


def _health(row: dict[str, Any]) -> str:
    if row.get("consecutive_failures"):
        return tr("health_failing")
    limit = row.get("rate_limit")
    if isinstance(limit, str):
        try:
            limit = json.loads(limit)
        except ValueError:
            limit = None
    if isinstance(limit, dict) and limit.get("remaining") == 0:
        return tr("health_limited")
    if not row.get("last_run_at"):
        return tr("health_never")
    return tr("health_ok")


def main() -> None:
    st.title(tr("sources_title"))
    health = ui.fetch(ui.client().health)
    stats = ui.fetch(ui.client().stats)
    st.caption(
        tr(
            "service_line",
            status=health.get("status"),
            mentions=f"{stats.get('mentions', 0):,}",
            model=ui.escape_markdown(str(health.get("model") or "—")),
        )
    )
    if health.get("model_error"):  # true/false only: the reason is in the service's log
        st.warning(tr("model_error"), icon=":material/psychology_alt:")
    if st.button(tr("refresh"), key="src_refresh", icon=":material/refresh:"):
        st.rerun()
    sources = ui.fetch(ui.client().sources)
    if not sources:
        st.info(tr("none_yet"))
        return
    frame = ui.frame(sources, "last_run_at", "last_success_at", "last_error_at", "next_run_at")
    frame.insert(0, "health", [_health(r) for r in sources])
    if "rate_limit" in frame:
        frame["rate_limit"] = frame["rate_limit"].map(
            lambda v: v if v is None or isinstance(v, str) else json.dumps(v)
        )
    time_format = ui.datetime_column(seconds=True)
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "last_run_at": time_format,
            "last_success_at": time_format,
            "last_error_at": time_format,
            "next_run_at": time_format,
            "last_error": st.column_config.TextColumn(width="large"),
        },
    )

    if ui.may("pipeline:repair"):
        _set_aside()


def _set_aside() -> None:
    """Mentions a stage set aside: the reason as text, and retry or discard for each."""
    st.subheader(tr("set_aside_title"))
    st.caption(tr("set_aside_caption"))
    held = ui.fetch(ui.client().set_aside)
    if not held["items"]:
        st.info(tr("set_aside_none"))
        return
    frame = pd.DataFrame(held["items"])
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={"reason": st.column_config.TextColumn(width="large")},
    )
    keys = [item["mention_key"] for item in held["items"]]
    key = st.selectbox(tr("set_aside_pick"), keys, key="src_set_aside_key")
    retry, discard = st.columns(2)
    if retry.button(tr("set_aside_retry"), key="src_set_aside_retry", icon=":material/replay:"):
        done = ui.attempt(ui.client().retry_set_aside, key)
        if done is not None:
            st.success(tr("set_aside_retried", mention=key, stage=done["back_to"]))
    discarded = discard.button(
        tr("set_aside_discard"), key="src_set_aside_discard", icon=":material/delete:"
    )
    if discarded and ui.attempt(ui.client().discard_set_aside, key) is not None:
        st.success(tr("set_aside_discarded", mention=key))


main()
