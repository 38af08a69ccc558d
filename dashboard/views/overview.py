"""Overview: volume, sentiment (per brand too), spikes with their crisis view, negative terms,
share of voice over time, themes and their growth, top authors, risk categories, platform and
language."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st  # noqa: TID253 - the dashboard is the one place streamlit belongs

from dashboard import ui
from dashboard.i18n import STRINGS
from dashboard.ui import tr


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


def _brand_net_chart(frame: pd.DataFrame) -> Any:
    return (
        alt.Chart(frame.dropna(subset=["net"]))
        .mark_line(point=True)
        .encode(
            x=alt.X("bucket:T", title=tr("when")),
            y=alt.Y("net:Q", title=tr("m_net"), scale=alt.Scale(domain=[-1, 1])),
            color=alt.Color("brand:N", title=tr("brand")),
            tooltip=["bucket:T", "brand:N", alt.Tooltip("net:Q", format=".2f"), "mentions:Q"],
        )
    )


def _sov_time_chart(frame: pd.DataFrame) -> Any:
    return (
        alt.Chart(frame)
        .mark_area()
        .encode(
            x=alt.X("bucket:T", title=tr("when")),
            y=alt.Y("share:Q", title=tr("share"), axis=alt.Axis(format="%"), stack="normalize"),
            color=alt.Color("brand:N", title=tr("brand")),
            tooltip=["bucket:T", "brand:N", "mentions:Q", alt.Tooltip("share:Q", format=".0%")],
        )
    )


def growth_label(row: dict[str, Any]) -> str:
    """A theme's growth as people read it: "+150 %", "−20 %", "new" or "—"."""
    if row.get("new"):
        return tr("growth_new")
    growth = row.get("growth")
    if growth is None:
        return "—"
    return f"{growth * 100:+.0f} %".replace("-", "−")


def _themes(filters: dict[str, Any]) -> None:
    st.subheader(tr("themes_title"))
    data = ui.fetch(ui.client().themes, **filters)
    items = data["items"]
    if not items:
        st.caption(tr("themes_none"))
        return
    sample = data["sample"]
    if filters["since"] is None:
        st.caption(tr("themes_no_growth"))
    else:
        st.caption(tr("themes_caption"))
    if sample["current"] < sample["current_total"]:
        st.caption(tr("themes_sampled", n=sample["current"], total=sample["current_total"]))
    table = pd.DataFrame(
        {
            tr("term"): [row["term"] for row in items],
            tr("count"): [row["mentions"] for row in items],
            tr("growth"): [growth_label(row) for row in items],
            tr("negative"): [row["negative"] for row in items],
            tr("neutral"): [row["neutral"] for row in items],
            tr("positive"): [row["positive"] for row in items],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch", key="themes_table")
    st.caption(tr("themes_examples"))
    for row in items[:6]:
        title = f"{row['term']} · {row['mentions']} · {growth_label(row)}"
        with st.expander(ui.escape_markdown(title), icon=":material/format_quote:"):
            for example in row["examples"]:
                ui.public_text(example["text"], caption=tr(example["sentiment"] or "unscored"))


def _authors(filters: dict[str, Any]) -> None:
    st.subheader(tr("authors_title"))
    data = ui.fetch(ui.client().authors, **filters)
    if not data["volume"]:
        st.caption(tr("authors_none"))
        return

    def table(rows: list[dict[str, Any]]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                tr("author"): [r["author"] for r in rows],
                tr("platform"): [r["platform"] for r in rows],
                tr("followers"): [r["followers"] for r in rows],
                tr("engagement"): [r["engagement"] for r in rows],
                tr("count"): [r["mentions"] for r in rows],
                tr("m_net"): [r["net"] for r in rows],
            }
        )

    left, right = st.columns(2)
    with left:
        st.caption(tr("authors_reach"))
        st.dataframe(table(data["reach"]), hide_index=True, width="stretch", key="authors_reach")
    with right:
        st.caption(tr("authors_volume"))
        st.dataframe(table(data["volume"]), hide_index=True, width="stretch", key="authors_volume")


def risk_label(category: dict[str, Any]) -> str:
    """A risk category in the reader's language where its key is known, else its label."""
    key = f"risk_{category['key']}"
    return tr(key) if key in STRINGS else str(category.get("label") or category["key"])


def _risks(filters: dict[str, Any], bucket: str) -> None:
    st.subheader(tr("risks_title"))
    data = ui.fetch(ui.client().risks, bucket=bucket, **filters)
    if not data["categories"]:
        st.caption(tr("risks_none"))
        return
    names = {c["key"]: risk_label(c) for c in data["categories"]}
    series = ui.frame(data["series"], "bucket")
    series["category"] = series["category"].map(names)
    st.altair_chart(
        alt.Chart(series)
        .mark_bar()
        .encode(
            x=alt.X("bucket:T", title=tr("when")),
            y=alt.Y("mentions:Q", title=tr("count"), stack=True),
            color=alt.Color("category:N", title=tr("risk_category")),
            tooltip=["bucket:T", "category:N", "mentions:Q"],
        ),
        width="stretch",
    )


def _spike_alerts() -> None:
    """The latest spike and sentiment-drop alerts, each opening its crisis view."""
    items = ui.fetch(ui.client().spike_alerts, limit=5)["items"]
    if not items:
        return
    st.caption(tr("spike_alerts_title"))
    for alert in items:
        created = ui.parse_time(alert["created_at"])
        label = tr(
            "alert_crisis_open",
            title=alert["title"],
            when=ui.when(created) if created else "",
        )
        key = f"alert_crisis_{alert['id']}"
        if st.button(ui.escape_markdown(label), key=key, icon=":material/notifications:"):
            st.switch_page("views/crisis.py", query_params={"alert": str(alert["id"])})


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

    volume = ui.frame(data["volume"], "bucket")
    if volume.empty:
        st.info(tr("none_yet"))
        return
    spikes = ui.frame(data["spikes"], "start")

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
            label = tr("spike_open", n=spike["mentions"], start=ui.when(start) if start else "")
            mentions_col, crisis_col = st.columns([3, 2])
            if mentions_col.button(
                label, key=f"spike_{i}", help=spike["reason"], icon=":material/trending_up:"
            ):
                st.switch_page(
                    "views/mentions.py",
                    query_params={"since": spike["start"], "until": spike["end"]},
                )
            if crisis_col.button(
                tr("crisis_open"), key=f"crisis_{i}", icon=":material/crisis_alert:"
            ):
                window = {"start": spike["start"], "end": spike["end"]}
                if filters["brand"]:
                    window["brand"] = filters["brand"]
                st.switch_page("views/crisis.py", query_params=window)
        _spike_alerts()

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

    sentiment = ui.frame(data["sentiment"], "bucket")
    if not sentiment.empty:
        stacked, net_line = _sentiment_charts(sentiment)
        left, right = st.columns(2)
        with left:
            st.subheader(tr("sentiment_title"))
            st.altair_chart(stacked, width="stretch")
        with right:
            st.subheader(tr("net_title"))
            st.altair_chart(net_line, width="stretch")

    brand_sentiment = ui.frame(data.get("brand_sentiment", []), "bucket")
    sov_time = ui.frame(data.get("share_of_voice_over_time", []), "bucket")
    if not brand_sentiment.empty:
        left, right = st.columns(2)
        with left:
            st.subheader(tr("brand_net_title"))
            st.altair_chart(_brand_net_chart(brand_sentiment), width="stretch")
        with right:
            st.subheader(tr("sov_time_title"))
            st.altair_chart(_sov_time_chart(sov_time), width="stretch")

    left, right = st.columns(2)
    with left:
        st.subheader(tr("terms_title"))
        terms = ui.frame(data["negative_terms"])
        if terms.empty:
            st.caption(tr("none_yet"))
        else:
            st.altair_chart(_bar(terms, "term", tr("term")), width="stretch")
    with right:
        st.subheader(tr("sov_title"))
        sov = ui.frame(data["share_of_voice"])
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
            _bar(ui.frame(data["platforms"]), "platform", tr("platform")), width="stretch"
        )
    with right:
        st.subheader(tr("languages_title"))
        st.altair_chart(_bar(ui.frame(data["languages"]), "lang", tr("lang")), width="stretch")

    _themes(filters)
    _authors(filters)
    _risks(filters, bucket)


main()
