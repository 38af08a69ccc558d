"""Overview: volume, sentiment, spikes, negative terms, share of voice, platform and language."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st  # noqa: TID253 - the dashboard is the one place streamlit belongs

from dashboard import ui
from dashboard.ui import tr


def _frame(items: list[dict[str, Any]], time_column: str | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(items)
    if time_column and not frame.empty:
        frame[time_column] = pd.to_datetime(frame[time_column], utc=True, format="ISO8601")
    return frame


def _volume_chart(volume: pd.DataFrame, spikes: pd.DataFrame) -> Any:
    by_platform = volume.groupby(["bucket", "platform"], as_index=False)["mentions"].sum()
    bars = (
        alt.Chart(by_platform)
        .mark_bar()
        .encode(
            x=alt.X("bucket:T", title=tr("when")),
            y=alt.Y("mentions:Q", title=tr("count"), stack=True),
            color=alt.Color("platform:N", title=tr("platform")),
            tooltip=["bucket:T", "platform:N", "mentions:Q"],
        )
    )
    if spikes.empty:
        return bars
    markers = (
        alt.Chart(spikes)
        .mark_rule(color="#d62728", strokeWidth=2, strokeDash=[4, 3])
        .encode(x="start:T", tooltip=["start:T", "mentions:Q", "baseline:Q", "reason:N"])
    )
    return alt.layer(bars, markers)


def _sentiment_charts(sentiment: pd.DataFrame) -> tuple[alt.Chart, alt.Chart]:
    names = {name: tr(name) for name in ("negative", "neutral", "positive")}
    share = sentiment.melt(
        id_vars=["bucket"],
        value_vars=["share_negative", "share_neutral", "share_positive"],
        var_name="sentiment",
        value_name="share",
    )
    share["sentiment"] = share["sentiment"].str.removeprefix("share_").map(names)
    stacked = (
        alt.Chart(share)
        .mark_area()
        .encode(
            x=alt.X("bucket:T", title=tr("when")),
            y=alt.Y("share:Q", title=tr("share"), axis=alt.Axis(format="%"), stack="normalize"),
            color=alt.Color(
                "sentiment:N",
                title=tr("sentiment"),
                scale=alt.Scale(
                    domain=list(names.values()), range=["#d62728", "#b0b0b0", "#2ca02c"]
                ),
            ),
            tooltip=["bucket:T", "sentiment:N", alt.Tooltip("share:Q", format=".0%")],
        )
    )
    net = (
        alt.Chart(sentiment.dropna(subset=["net"]))
        .mark_line(point=True)
        .encode(
            x=alt.X("bucket:T", title=tr("when")),
            y=alt.Y("net:Q", title=tr("m_net"), scale=alt.Scale(domain=[-1, 1])),
            tooltip=["bucket:T", alt.Tooltip("net:Q", format=".2f")],
        )
    )
    return stacked, net


def _bar(frame: pd.DataFrame, category: str, title: str, value: str = "mentions") -> Any:
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(f"{value}:Q", title=tr("count")),
            y=alt.Y(f"{category}:N", title=title, sort="-x"),
            tooltip=[f"{category}:N", f"{value}:Q"]
            + ([alt.Tooltip("share:Q", format=".0%")] if "share" in frame else []),
        )
    )


def main() -> None:
    st.title(tr("overview_title"))
    filters = ui.listening_filters("ov")
    long_range = filters["since"] is None or (filters["until"] - filters["since"]).days > 2
    bucket = "day" if long_range else "hour"
    data = ui.fetch(ui.client().overview, bucket=bucket, **filters)
    stats = ui.fetch(ui.client().stats)

    open_cases = sum(
        n for status, n in stats.get("cases", {}).items() if status not in ("closed", "dismissed")
    )
    cols = st.columns(4)
    cols[0].metric(tr("m_mentions"), f"{data['total']:,}")
    net = data.get("net_sentiment")
    cols[1].metric(tr("m_net"), "—" if net is None else f"{net:+.2f}", help=tr("m_net_help"))
    cols[2].metric(tr("m_spikes"), len(data["spikes"]))
    cols[3].metric(tr("m_open_cases"), open_cases)

    volume = _frame(data["volume"], "bucket")
    if volume.empty:
        st.info(tr("none_yet"))
        return
    spikes = _frame(data["spikes"], "start")

    left, right = st.columns([3, 2])
    with left:
        st.subheader(tr("volume_title"))
        st.altair_chart(_volume_chart(volume, spikes), width="stretch")
    with right:
        st.subheader(tr("spikes_title"))
        if spikes.empty:
            st.caption(tr("spikes_none"))
        for i, spike in enumerate(data["spikes"][-8:]):
            start = ui.parse_time(spike["start"])
            label = tr(
                "spike_open", n=spike["mentions"], start=f"{start:%Y-%m-%d %H:%M}" if start else ""
            )
            if st.button(label, key=f"spike_{i}", help=spike["reason"], icon="🔺"):
                st.switch_page(
                    "views/mentions.py",
                    query_params={"since": spike["start"], "until": spike["end"]},
                )

    brands = volume[volume["brand"] != ""]
    if not brands.empty:
        st.subheader(tr("volume_brand_title"))
        by_brand = brands.groupby(["bucket", "brand"], as_index=False)["mentions"].sum()
        st.altair_chart(
            alt.Chart(by_brand)
            .mark_line(point=True)
            .encode(
                x=alt.X("bucket:T", title=tr("when")),
                y=alt.Y("mentions:Q", title=tr("count")),
                color=alt.Color("brand:N", title=tr("brand")),
                tooltip=["bucket:T", "brand:N", "mentions:Q"],
            ),
            width="stretch",
        )

    sentiment = _frame(data["sentiment"], "bucket")
    if not sentiment.empty:
        stacked, net_line = _sentiment_charts(sentiment)
        left, right = st.columns(2)
        with left:
            st.subheader(tr("sentiment_title"))
            st.altair_chart(stacked, width="stretch")
        with right:
            st.subheader(tr("net_title"))
            st.altair_chart(net_line, width="stretch")

    left, right = st.columns(2)
    with left:
        st.subheader(tr("terms_title"))
        terms = _frame(data["negative_terms"])
        if terms.empty:
            st.caption(tr("none_yet"))
        else:
            st.altair_chart(_bar(terms, "term", tr("term")), width="stretch")
    with right:
        st.subheader(tr("sov_title"))
        sov = _frame(data["share_of_voice"])
        if sov.empty:
            st.caption(tr("none_yet"))
        else:
            st.altair_chart(
                alt.Chart(sov)
                .mark_arc(innerRadius=50)
                .encode(
                    theta="mentions:Q",
                    color=alt.Color("brand:N", title=tr("brand")),
                    tooltip=["brand:N", "mentions:Q", alt.Tooltip("share:Q", format=".0%")],
                ),
                width="stretch",
            )

    left, right = st.columns(2)
    with left:
        st.subheader(tr("platforms_title"))
        st.altair_chart(
            _bar(_frame(data["platforms"]), "platform", tr("platform")), width="stretch"
        )
    with right:
        st.subheader(tr("languages_title"))
        st.altair_chart(_bar(_frame(data["languages"]), "lang", tr("lang")), width="stretch")


main()
