"""Crisis view: one brand and window (a spike or an alert) with its timeline against the baseline,
the mentions behind it, its risk categories and themes, the cases opened and the alerts sent."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st  # noqa: TID253 - the dashboard is the one place streamlit belongs

from dashboard import inbox, ui
from dashboard.i18n import STRINGS
from dashboard.ui import tr

_WINDOW = ("brand", "start", "end", "alert")


def _timeline(points: pd.DataFrame) -> tuple[Any, Any]:
    """Hourly volume (the window's hours darker) over the baseline's mean, and the negative share
    over the baseline's share."""
    points = points.assign(
        part=points["in_window"].map({True: tr("crisis_window"), False: tr("crisis_context")})
    )
    bars = (
        alt.Chart(points)
        .mark_bar()
        .encode(
            x=alt.X("hour:T", title=tr("when")),
            y=alt.Y("mentions:Q", title=tr("count")),
            color=alt.Color(
                "part:N",
                title="",
                scale=alt.Scale(
                    domain=[tr("crisis_window"), tr("crisis_context")],
                    range=["#d62728", "#b0b0b0"],
                ),
            ),
            tooltip=["hour:T", "mentions:Q", "baseline_mentions:Q", "ratio:Q"],
        )
    )
    usual = (
        alt.Chart(points)
        .mark_line(color="#1f77b4", strokeDash=[4, 3])
        .encode(x="hour:T", y="baseline_mentions:Q")
    )
    share = points.dropna(subset=["negative_share"])
    negative = (
        alt.Chart(share)
        .mark_line(point=True, color="#d62728")
        .encode(
            x=alt.X("hour:T", title=tr("when")),
            y=alt.Y(
                "negative_share:Q",
                title=tr("crisis_negative_share"),
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            tooltip=["hour:T", alt.Tooltip("negative_share:Q", format=".0%"), "negative:Q"],
        )
    )
    layers: list[Any] = [negative]
    if points["baseline_negative_share"].notna().any():
        layers.append(
            alt.Chart(points)
            .mark_line(color="#1f77b4", strokeDash=[4, 3])
            .encode(x="hour:T", y="baseline_negative_share:Q")
        )
    return alt.layer(bars, usual), alt.layer(*layers)


def _risk_label(category: dict[str, Any]) -> str:
    key = f"risk_{category['key']}"
    return tr(key) if key in STRINGS else str(category.get("label") or category["key"])


def _empty() -> None:
    st.info(tr("crisis_empty"), icon=":material/info:")
    if st.button(tr("crisis_back"), key="crisis_back", icon=":material/arrow_back:"):
        st.switch_page("views/overview.py")


def _mentions(items: list[dict[str, Any]]) -> None:
    st.subheader(tr("crisis_mentions_title"))
    if not items:
        st.caption(tr("crisis_no_mentions"))
        return
    table = pd.DataFrame(
        {
            tr("when"): pd.to_datetime([m["created_at"] for m in items], utc=True),
            tr("col_urgency"): [ui.urgency_label(m.get("urgency_level")) for m in items],
            tr("sentiment"): [tr(m["sentiment"]) if m.get("sentiment") else "" for m in items],
            tr("engagement"): [m["engagement"] for m in items],
            tr("platform"): [m["platform"] for m in items],
            tr("author"): [m["author"] for m in items],
            tr("col_text"): [m["text"] for m in items],
            tr("col_case"): [m.get("case_id") or "" for m in items],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key="crisis_mentions",
        column_config={tr("when"): ui.datetime_column()},
    )
    for mention in items[:3]:
        caption = f"{mention['platform']} · {mention['author']} · {mention['engagement']}"
        ui.public_text(mention["text"], caption=caption)


def _cases(data: dict[str, Any]) -> None:
    st.subheader(tr("crisis_cases_title"))
    cases = data.get("cases")
    if cases is None:
        st.caption(tr("crisis_cases_hidden", n=data["cases_total"]))
        return
    if not cases:
        st.caption(tr("crisis_no_cases"))
        return
    table = pd.DataFrame(
        {
            tr("col_case"): [c["id"] for c in cases],
            tr("status"): [ui.status_label(c["status"]) for c in cases],
            tr("col_urgency"): [ui.urgency_label(c["urgency_level"]) for c in cases],
            tr("col_opened"): pd.to_datetime([c["opened_at"] for c in cases], utc=True),
            tr("team"): [c.get("team") or "" for c in cases],
            tr("assignee"): [c.get("assignee") or "" for c in cases],
        }
    )
    # A click on a row opens the case, as in the queue.
    event = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key="crisis_cases",
        column_config={tr("col_opened"): ui.datetime_column()},
        on_select="rerun",
        selection_mode="single-row",
    )
    st.caption(tr("inbox_click_hint"))
    rows = event.selection.rows if event is not None else []
    if rows and rows[0] < len(cases):
        inbox.open_case(str(cases[rows[0]]["id"]))


def _alerts(items: list[dict[str, Any]]) -> None:
    st.subheader(tr("crisis_alerts_title"))
    if not items:
        st.caption(tr("crisis_no_alerts"))
        return
    table = pd.DataFrame(
        {
            tr("when"): pd.to_datetime([a["created_at"] for a in items], utc=True),
            tr("crisis_alert_kind"): [a["kind"] for a in items],
            tr("crisis_alert_severity"): [a["severity"] for a in items],
            tr("crisis_alert_title"): [a["title"] for a in items],
            tr("status"): [a["status"] for a in items],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key="crisis_alerts",
        column_config={tr("when"): ui.datetime_column()},
    )


def main() -> None:
    st.title(tr("crisis_title"))
    window = {k: st.query_params.get(k) for k in _WINDOW if st.query_params.get(k)}
    if "alert" not in window and not ("start" in window and "end" in window):
        _empty()
        return
    data = ui.fetch(ui.client().crisis, **window)
    start, end = ui.parse_time(data["start"]), ui.parse_time(data["end"])
    st.caption(
        ui.escape_markdown(
            tr(
                "crisis_caption",
                brand=data.get("brand") or tr("any"),
                start=ui.when(start) if start else "",
                end=ui.when(end) if end else "",
            )
        )
    )
    summary, usual = data["summary"], data["baseline"]
    cols = st.columns(4)
    cols[0].metric(tr("m_mentions"), f"{summary['mentions']:,}")
    ratio = summary.get("ratio")
    cols[1].metric(
        tr("crisis_vs_baseline"),
        "—" if ratio is None else f"×{ratio:.1f}",
        help=tr("crisis_vs_baseline_help", mean=f"{usual['hourly_mean']:.1f}"),
    )
    share, usual_share = summary.get("negative_share"), usual.get("negative_share")
    delta = None
    if share is not None and usual_share is not None:
        delta = f"{(share - usual_share) * 100:+.0f} pp"
    cols[2].metric(
        tr("crisis_negative_share"),
        ui.percent(share),
        delta=delta,
        delta_color="inverse",
        help=tr("crisis_negative_help", share=ui.percent(usual_share)),
    )
    cols[3].metric(tr("crisis_cases_title"), data["cases_total"])

    points = ui.frame(data["timeline"], "hour")
    if points.empty or summary["mentions"] == 0:
        st.info(tr("crisis_quiet"), icon=":material/info:")
    else:
        volume, negative = _timeline(points)
        left, right = st.columns(2)
        with left:
            st.subheader(tr("crisis_timeline_title"))
            st.altair_chart(volume, width="stretch")
        with right:
            st.subheader(tr("crisis_negative_title"))
            st.altair_chart(negative, width="stretch")

    _mentions(data["mentions"])

    left, right = st.columns(2)
    with left:
        st.subheader(tr("risks_title"))
        categories = data["categories"]
        if not categories:
            st.caption(tr("risks_none"))
        else:
            frame = pd.DataFrame(
                {"category": [_risk_label(c) for c in categories],
                 "mentions": [c["mentions"] for c in categories]}
            )  # fmt: skip
            st.altair_chart(
                alt.Chart(frame)
                .mark_bar()
                .encode(
                    x=alt.X("mentions:Q", title=tr("count")),
                    y=alt.Y("category:N", title=tr("risk_category"), sort="-x"),
                    tooltip=["category:N", "mentions:Q"],
                ),
                width="stretch",
            )
    with right:
        st.subheader(tr("themes_title"))
        themes = data["themes"]
        if not themes:
            st.caption(tr("themes_none"))
        else:
            st.dataframe(
                pd.DataFrame(
                    {
                        tr("term"): [t["term"] for t in themes],
                        tr("count"): [t["mentions"] for t in themes],
                        tr("negative"): [t["negative"] for t in themes],
                    }
                ),
                hide_index=True,
                width="stretch",
                key="crisis_themes",
            )

    _cases(data)
    _alerts(data["alerts"])


main()
