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
        return "🔴 " + tr("health_failing")
    limit = row.get("rate_limit")
    if isinstance(limit, str):
        try:
            limit = json.loads(limit)
        except ValueError:
            limit = None
    if isinstance(limit, dict) and limit.get("remaining") == 0:
        return "🟠 " + tr("health_limited")
    if not row.get("last_run_at"):
        return "⚪ " + tr("health_never")
    return "🟢 " + tr("health_ok")


def main() -> None:
    st.title(tr("sources_title"))
    health = ui.fetch(ui.client().health)
    st.caption(
        tr(
            "service_line",
            status=health.get("status"),
            mentions=f"{health.get('mentions', 0):,}",
            model=health.get("model") or "—",
        )
    )
    if health.get("model_error"):
        st.warning(str(health["model_error"]))
    if st.button(tr("refresh"), key="src_refresh", icon="🔄"):
        st.rerun()
    sources = ui.fetch(ui.client().sources)
    if not sources:
        st.info(tr("none_yet"))
        return
    frame = pd.DataFrame(sources)
    frame.insert(0, "health", [_health(r) for r in sources])
    for column in ("last_run_at", "last_success_at", "last_error_at", "next_run_at"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    if "rate_limit" in frame:
        frame["rate_limit"] = frame["rate_limit"].map(
            lambda v: v if v is None or isinstance(v, str) else json.dumps(v)
        )
    time_format = st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")
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


main()
