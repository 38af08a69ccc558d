"""Care metrics: response and resolution times, deflection, public closing, SLA compliance, CSAT."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st  # noqa: TID253 - the dashboard is the one place streamlit belongs

from dashboard import ui
from dashboard.ui import tr


def _sla_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    records = []
    for row in rows:
        who = " / ".join(p for p in (row.get("team"), row.get("level")) if p) or "—"
        for target, label in (
            ("first_response", tr("sla_first")),
            ("resolution", tr("sla_resolution")),
        ):
            records.append(
                {
                    tr("team"): who,
                    "target": label,
                    "compliance": row.get(f"{target}_compliance"),
                    "met": row.get(f"{target}_met"),
                    "missed": row.get(f"{target}_missed"),
                    "pending": row.get(f"{target}_pending"),
                }
            )
    return pd.DataFrame(records)


def main() -> None:
    st.title(tr("care_title"))
    cfg = ui.ui_config()
    filters = ui.listening_filters("care")
    cols = st.columns(2)
    with cols[0]:
        team = ui.choose("team", ui.team_names(cfg), key="care_team")
    with cols[1]:
        level = ui.choose("level", list(cfg.get("levels", [])), key="care_level")
    data = ui.fetch(ui.client().care, team=team, level=level, **filters)

    st.caption(tr("cases_n", n=data["cases"], d=data["dismissed"]))
    row = st.columns(3)
    row[0].metric(tr("frt"), ui.minutes(data["first_response"].get("median_minutes")))
    row[1].metric(tr("ttd"), ui.minutes(data["time_to_deflect"].get("median_minutes")))
    row[2].metric(tr("resolution"), ui.minutes(data["resolution"].get("median_minutes")))
    row = st.columns(3)
    row[0].metric(tr("deflected_share"), ui.percent(data.get("deflected_share")))
    row[1].metric(tr("closed_public_share"), ui.percent(data.get("closed_public_share")))
    csat = data.get("csat", {})
    row[2].metric(
        tr("csat"),
        "—" if csat.get("mean") is None else f"{csat['mean']:.1f} / 5",
        help=f"n = {csat.get('responses', 0)}" if csat.get("responses") else tr("csat_none"),
    )

    st.subheader(tr("sla_title"))
    sla = _sla_frame(data.get("sla", []))
    if sla.empty:
        st.caption(tr("none_yet"))
    else:
        st.altair_chart(
            alt.Chart(sla.dropna(subset=["compliance"]))
            .mark_bar()
            .encode(
                x=alt.X("compliance:Q", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
                y=alt.Y(f"{tr('team')}:N"),
                yOffset="target:N",
                color=alt.Color("target:N", title=""),
                tooltip=[f"{tr('team')}:N", "target:N", alt.Tooltip("compliance:Q", format=".0%"),
                         "met:Q", "missed:Q", "pending:Q"],
            ),
            width="stretch",
        )  # fmt: skip
        st.dataframe(
            sla,
            hide_index=True,
            width="stretch",
            column_config={
                "compliance": st.column_config.ProgressColumn(
                    min_value=0, max_value=1, format="percent"
                )
            },
        )

    by_status = pd.DataFrame(data.get("by_status", []))
    if not by_status.empty:
        st.subheader(tr("by_status"))
        st.bar_chart(by_status, x="status", y="cases", horizontal=True)

    if ui.may("agents:read"):
        _agents()
    _alerts()


def _agents() -> None:
    """Who takes new cases: workload against capacity, and the on/off shift switch."""
    st.subheader(tr("agents_title"))
    anyone = ui.may("agents:shift")  # without it, a person switches only their own shift
    me = ui.user().get("name")
    for agent in ui.fetch(ui.client().agents):
        cols = st.columns([3, 3, 2])
        cols[0].text(f"{agent['name']} · {agent['team']} / {agent['level']}")
        cols[1].progress(
            min(1.0, agent["open_cases"] / max(1, agent["capacity"])),
            text=tr("load", n=agent["open_cases"], c=agent["capacity"]),
        )
        on = cols[2].toggle(
            tr("on_shift"),
            value=agent["on_shift"],
            key=f"shift_{agent['name']}",
            disabled=not (anyone or agent["name"] == me),
        )
        if on != agent["on_shift"] and ui.attempt(ui.client().set_shift, agent["name"], on):
            st.rerun()


def _alerts() -> None:
    st.subheader(tr("alerts_title"))
    items = ui.fetch(ui.client().alerts)["items"]
    if not items:
        st.caption(tr("none_yet"))
        return
    frame = pd.DataFrame(items)[["created_at", "kind", "severity", "title", "status"]]
    st.dataframe(frame, hide_index=True, width="stretch")


main()
