"""The dashboard's aggregates over a small hand-made database (the store's rows, judged by
``pipeline.analytics``), and their HTTP router."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from pipeline.analytics.overview import (
    SPIKE_HISTORY,
    net_sentiment,
    sentiment_shares,
    volume_spikes,
    with_shares,
)
from pipeline.analytics.terms import terms
from pipeline.analytics.windows import fill_hours
from pipeline.api.app import create_app
from pipeline.service import Service
from pipeline.settings import Settings
from pipeline.store import Store, rollups, scores
from pipeline.store import aggregates as agg
from tests.conftest import sign_in

T0 = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)


def add_mention(
    store: Store,
    key: str,
    *,
    at: datetime,
    text: str = "hola",
    platform: str = "x",
    brand: str | None = "acme",
    lang: str | None = "es",
    sentiment: str | None = None,
) -> None:
    with store.transaction() as cur:
        cur.execute(
            """INSERT INTO mentions (key, platform, native_id, brand, text, lang, author_key,
                   author, created_at, fetched_at, updated_at, content_hash)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [key, platform, key, brand, text, lang, f"{platform}:ana", "ana", at, at, at, key],
        )
        # a write outside write_page must recount its hour, as the store's writers do
        rollups.recount(cur, [at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)])
    if sentiment is not None:
        score(store, key, sentiment, at=at, brand=brand, lang=lang)


def score(
    store: Store,
    key: str,
    sentiment: str,
    *,
    at: datetime,
    version: str = "v1",
    brand: str | None = "acme",
    lang: str | None = "es",
) -> None:
    """Score a mention the way the score stage does (history and current score together)."""
    probs = {"negative": (0.8, 0.1, 0.1), "neutral": (0.1, 0.8, 0.1)}
    p_negative, p_neutral, p_positive = probs.get(sentiment, (0.1, 0.1, 0.8))
    row = {
        "mention_key": key, "model_version": version, "lang": lang, "sentiment": sentiment,
        "p_negative": p_negative, "p_neutral": p_neutral, "p_positive": p_positive,
        "complaint": 0.5, "intent": "other", "urgency_score": 0.1, "urgency_level": 0,
        "urgency_reasons": [], "scored_at": at, "mention_lang": lang, "brand": brand,
        "cluster_key": None,
    }  # fmt: skip
    with store.transaction() as cur:
        scores.write(cur, pa.Table.from_pylist([row], schema=scores.SCORE_SCHEMA))


def spikes(store: Store, f: agg.Filters, now: datetime | None = None) -> list[dict[str, Any]]:
    """The Overview's spikes: the store's hourly counts judged by the analytics."""
    with store.read() as cur:
        found = agg.overview_rows(cur, f, history=SPIKE_HISTORY)
    return volume_spikes(found.hourly, since=f.since, until=f.until, now=now)


def add_case(store: Store, case_id: str, **values: Any) -> None:
    row: dict[str, Any] = {
        "id": case_id,
        "status": "new",
        "platform": "x",
        "author_key": "x:ana",
        "author": "ana",
        "mention_key": f"x:{case_id}",
        "opened_at": T0,
        "updated_at": T0,
        "team": "care",
        "level": "head_office",
        **values,
    }
    names = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    with store.transaction() as cur:
        cur.execute(f"INSERT INTO cases ({names}) VALUES ({marks})", list(row.values()))


@pytest.fixture
def store() -> Iterator[Store]:
    with Store.open(":memory:") as s:
        yield s


def test_volume_and_sentiment_by_day(store: Store) -> None:
    add_mention(store, "x:1", at=T0, sentiment="negative")
    add_mention(store, "x:2", at=T0 + timedelta(hours=1), sentiment="positive")
    add_mention(store, "x:3", at=T0 + timedelta(hours=2), sentiment="positive", platform="reddit")
    add_mention(store, "x:4", at=T0 + timedelta(days=1), sentiment="neutral")
    with store.read() as cur:
        vol = agg.volume(cur, agg.Filters(), "day")
        counts = agg.sentiment(cur, agg.Filters(), "day")
    sent = sentiment_shares(counts)
    net = net_sentiment(counts)
    assert [(r["platform"], r["mentions"]) for r in vol] == [("reddit", 1), ("x", 2), ("x", 1)]
    assert sent[0]["negative"] == 1
    assert sent[0]["positive"] == 2
    assert sent[0]["net"] == pytest.approx(1 / 3)
    assert sent[1]["net"] is None  # only neutral that day: no polar mentions, no net figure
    assert net == pytest.approx(1 / 3)


def test_latest_score_wins(store: Store) -> None:
    add_mention(store, "x:1", at=T0, sentiment="negative")
    score(store, "x:1", "positive", at=T0 + timedelta(hours=1), version="v2")
    with store.read() as cur:
        sent = agg.sentiment(cur, agg.Filters(), "day")
    assert (sent[0]["negative"], sent[0]["positive"]) == (0, 1)


def test_filters_narrow_the_selection(store: Store) -> None:
    add_mention(store, "x:1", at=T0, lang="en", platform="x")
    add_mention(store, "x:2", at=T0, lang="es", platform="reddit")
    add_mention(store, "x:3", at=T0 + timedelta(days=2), lang="es", platform="x")
    with store.read() as cur:
        only_en = agg.volume(cur, agg.Filters(lang="en"))
        in_range = agg.volume(cur, agg.Filters(since=T0, until=T0 + timedelta(days=1)))
        reddit = agg.split(cur, agg.Filters(platform="reddit"), "lang")
    assert sum(r["mentions"] for r in only_en) == 1
    assert sum(r["mentions"] for r in in_range) == 2
    assert with_shares(reddit) == [{"lang": "es", "mentions": 1, "share": 1.0}]


def test_a_burst_over_the_trailing_baseline_is_a_spike(store: Store) -> None:
    n = 0
    for hour in range(30):
        for _ in range(12 if hour == 26 else 1):
            n += 1
            add_mention(store, f"x:{n}", at=T0 + timedelta(hours=hour, minutes=n % 60))
    found = spikes(store, agg.Filters())
    assert len(found) == 1
    spike = found[0]
    assert spike["start"] == T0 + timedelta(hours=26)
    assert spike["mentions"] == 12
    assert spike["baseline"] == 1.0
    assert "12 mentions" in spike["reason"]


def test_quiet_hours_count_as_zero_in_the_baseline(store: Store) -> None:
    for i in range(3):
        add_mention(store, f"x:a{i}", at=T0 + timedelta(hours=i))
    for i in range(6):
        add_mention(store, f"x:b{i}", at=T0 + timedelta(hours=10, minutes=i))
    with store.read() as cur:
        series = agg.hourly_counts(cur, agg.Filters())
    found = spikes(store, agg.Filters())
    assert len(series) == 4  # the store gives the hours that have mentions...
    assert len(fill_hours(series)) == 11  # ...and the quiet ones in between count as zero
    assert [s["mentions"] for s in found] == [6]


def test_negative_terms_fold_accents_and_drop_stopwords(store: Store) -> None:
    add_mention(store, "x:1", at=T0, text="La FACTURACIÓN está mal, otra vez", sentiment="negative")
    add_mention(
        store, "x:2", at=T0, text="facturacion duplicada @acme https://t.co/x", sentiment="negative"
    )
    add_mention(
        store, "x:3", at=T0, text="The billing is wrong and Acme ignores me", sentiment="negative"
    )
    add_mention(store, "x:4", at=T0, text="facturación perfecta", sentiment="positive")
    with store.read() as cur:
        found = terms(agg.negative_texts(cur, agg.Filters()), exclude=["Acme"])
    by_term = {t["term"]: t["mentions"] for t in found}
    assert by_term["facturacion"] == 2
    assert "billing" in by_term
    for gone in ("la", "esta", "the", "and", "acme", "https", "perfecta"):
        assert gone not in by_term


def test_share_of_voice_compares_brand_and_competitors(store: Store) -> None:
    for i in range(3):
        add_mention(store, f"x:a{i}", at=T0, brand="acme")
    add_mention(store, "x:b", at=T0, brand="rival")
    add_mention(store, "x:c", at=T0, brand="other")
    with store.read() as cur:
        compared = with_shares(
            agg.share_of_voice(cur, agg.Filters(brand="acme"), ["acme", "rival"])
        )
        everyone = agg.share_of_voice(cur, agg.Filters(), [])
    assert [(r["brand"], r["share"]) for r in compared] == [("acme", 0.75), ("rival", 0.25)]
    assert {r["brand"] for r in everyone} == {"acme", "rival", "other"}


def test_care_metrics(store: Store) -> None:
    h = timedelta(hours=1)
    add_case(
        store,
        "C-1",
        status="closed_public",
        first_response_due=T0 + h,
        first_response_at=T0 + timedelta(minutes=30),
        deflected_at=T0 + timedelta(minutes=30),
        resolution_due=T0 + 24 * h,
        resolved_at=T0 + 2 * h,
        closed_public_at=T0 + 3 * h,
        csat_score=5,
    )
    add_case(
        store,
        "C-2",
        status="resolved",
        first_response_due=T0 + h,
        first_response_at=T0 + 2 * h,
        resolution_due=T0 + 24 * h,
        resolved_at=T0 + 4 * h,
        csat_score=2,
    )
    add_case(store, "C-3", status="new", first_response_due=T0 + h, team="stores", level="store")
    add_case(store, "C-4", status="dismissed", dismiss_reason="spam")
    with store.read() as cur:
        metrics = agg.care(cur, agg.Filters(), now=T0 + 10 * h)
    assert metrics["cases"] == 4
    assert metrics["dismissed"] == 1
    assert metrics["first_response"]["n"] == 2
    assert metrics["first_response"]["median_minutes"] == pytest.approx(75.0)
    assert metrics["time_to_deflect"]["mean_minutes"] == pytest.approx(30.0)
    assert metrics["resolution"]["mean_minutes"] == pytest.approx(180.0)
    assert metrics["deflected_share"] == pytest.approx(1 / 3)
    assert metrics["closed_public_share"] == pytest.approx(0.5)
    assert metrics["csat"] == {"responses": 2, "mean": 3.5, "satisfied_share": 0.5}
    sla = {(r["team"], r["level"]): r for r in metrics["sla"]}
    care_team = sla[("care", "head_office")]
    assert (care_team["first_response_met"], care_team["first_response_missed"]) == (1, 1)
    assert care_team["first_response_compliance"] == pytest.approx(0.5)
    assert care_team["resolution_compliance"] == pytest.approx(1.0)
    stores = sla[("stores", "store")]
    assert stores["first_response_missed"] == 1  # due passed without an answer
    assert stores["resolution_pending"] == 1


def test_care_on_an_empty_database(store: Store) -> None:
    with store.read() as cur:
        metrics = agg.care(cur, agg.Filters())
    assert metrics["cases"] == 0
    assert metrics["deflected_share"] is None
    assert metrics["first_response"]["n"] == 0
    assert metrics["sla"] == []


# -- the router ------------------------------------------------------------------------------------


@pytest.fixture
def client(store: Store, example_settings: Settings) -> Iterator[TestClient]:
    app = create_app(Service(example_settings, store, sources={}))
    with TestClient(app) as c:
        c.headers.update(sign_in(store, "analyst"))
        yield c


def test_overview_endpoint(store: Store, client: TestClient) -> None:
    add_mention(store, "x:1", at=T0, sentiment="negative", text="servicio pésimo")
    answer = client.get("/aggregates/overview", params={"bucket": "hour", "lang": "es"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["total"] == 1
    assert body["volume"][0]["bucket"].startswith("2025-03-03T00:00:00")
    assert body["negative_terms"][0]["term"] in {"servicio", "pesimo"}
    assert set(body) >= {"sentiment", "spikes", "share_of_voice", "platforms", "languages"}


@pytest.mark.parametrize(
    "params",
    [
        {"bucket": "week"},
        {"since": "not a date"},
        {"since": "2025-03-02T00:00:00Z", "until": "2025-03-01T00:00:00Z"},
        {"lang": "'; DROP TABLE mentions; --"},
        {"surprise": "1"},
    ],
)
def test_overview_rejects_bad_input(client: TestClient, params: dict[str, str]) -> None:
    answer = client.get("/aggregates/overview", params=params)
    assert 400 <= answer.status_code < 500
    assert "detail" in answer.json()


def test_unknown_brand_is_a_400_when_brands_are_configured(client: TestClient) -> None:
    assert client.get("/aggregates/overview", params={"brand": "nope"}).status_code == 400
    assert client.get("/aggregates/overview", params={"brand": "Celera"}).status_code == 200


def test_a_person_limited_to_one_brand_reads_it_and_its_competitors_only(
    store: Store, client: TestClient
) -> None:
    add_mention(store, "x:1", at=T0, sentiment="negative", text="Orbita sin fibra")
    limited = sign_in(store, "analyst", name="orbita-team", brands=("Orbita",))
    mine = client.get("/aggregates/overview", headers=limited)
    assert mine.status_code == 200
    assert (
        client.get("/aggregates/overview", params={"brand": "Celera"}, headers=limited).status_code
        == 200
    )
    other = sign_in(store, "analyst", name="celera-team", brands=("Celera",))
    refused = client.get("/aggregates/overview", params={"brand": "Orbita"}, headers=other)
    assert refused.status_code == 403 and "Orbita" in refused.json()["detail"]


def test_care_endpoint(store: Store, client: TestClient) -> None:
    add_case(store, "C-1", status="new", first_response_due=T0 + timedelta(hours=1))
    answer = client.get("/aggregates/care", params={"team": "care"})
    assert answer.status_code == 200
    assert answer.json()["cases"] == 1
    assert client.get("/aggregates/care", params={"until": "yesterday"}).status_code == 422


def test_with_weeks_of_history_the_seasonal_detector_judges_the_hours(store: Store) -> None:
    end = T0 + timedelta(weeks=3)
    with store.transaction() as cur:
        # Three weeks of 5 mentions an hour, then 60 in one hour of the last day.
        cur.execute(
            """INSERT INTO mentions (key, platform, native_id, text, author_key, author,
                   created_at, fetched_at, updated_at, content_hash)
               SELECT 'x:' || i, 'x', i::VARCHAR, 'hola', 'x:a', 'a',
                   ? + (i // 5) * INTERVAL 1 HOUR, ?, ?, i::VARCHAR
               FROM range(?) t(i)""",
            [T0, T0, T0, 5 * 24 * 21],
        )
        burst = end - timedelta(hours=5)
        cur.execute(
            """INSERT INTO mentions (key, platform, native_id, text, author_key, author,
                   created_at, fetched_at, updated_at, content_hash)
               SELECT 'x:b' || i, 'x', 'b' || i, 'hola', 'x:a', 'a', ? + i * INTERVAL 30 SECOND,
                   ?, ?, 'b' || i FROM range(55) t(i)""",
            [burst, T0, T0],
        )
        rollups.recount_all(cur)
    found = spikes(store, agg.Filters(since=end - timedelta(days=1), until=end))
    assert [s["method"] for s in found] == ["seasonal"]
    assert found[0]["start"] == burst
    assert found[0]["mentions"] >= 60
    assert "expected" in found[0]["reason"]


def test_consecutive_spike_hours_are_one_spike(store: Store) -> None:
    n = 0
    for hour in range(12):
        for _ in range(10 if hour in (8, 9) else 1):
            n += 1
            add_mention(store, f"x:{n}", at=T0 + timedelta(hours=hour, minutes=n % 60))
    found = spikes(store, agg.Filters())
    assert len(found) == 1
    assert (found[0]["start"], found[0]["end"]) == (
        T0 + timedelta(hours=8),
        T0 + timedelta(hours=10),
    )
    assert found[0]["mentions"] == 20
