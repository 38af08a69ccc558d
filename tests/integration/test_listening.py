"""The listening endpoints on a seeded store: themes with growth, authors, risk categories, spike
alerts, the crisis window with its cases and alerts, brand scoping and bad parameters."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from pipeline.api.app import create_app
from pipeline.service import Service
from pipeline.stages.triage import triage_pending
from pipeline.store import alerts as alert_store
from tests.conftest import seed_scored, sign_in

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
DAY = timedelta(days=1)


def _seed(store) -> int:
    n = 0

    def add(text: str, at: datetime, **kw) -> str:
        nonlocal n
        n += 1
        return seed_scored(store, native_id=str(n), text=text, created_at=at, **kw)

    # The day before: billing complaints and praise.
    for i in range(4):
        add(f"Orbita: factura duplicada otra vez, número {i}", NOW - DAY - timedelta(hours=3 + i),
            author=f"old{i}")  # fmt: skip
    for i in range(4):
        add("Gracias Orbita por la atención", NOW - DAY - timedelta(hours=5 + i),
            author=f"fan{i}", sentiment="positive", complaint=0.02, urgency_level=0)  # fmt: skip
    # The last day: the billing complaints go on, and a gas leak appears.
    for i in range(4):
        add(f"Orbita factura duplicada de nuevo {i}", NOW - timedelta(hours=3 + i),
            author=f"bill{i}")  # fmt: skip
    for i in range(6):
        add(f"¡Fuga de gas en la tienda de Orbita! Huele a gas, aviso {i}",
            NOW - timedelta(hours=2, minutes=i * 5), author="vecina" if i < 3 else f"vec{i}",
            urgency_level=3, reasons=("safety: gas leak", "reach: 120k followers"))  # fmt: skip
    add("Gracias Orbita, todo bien", NOW - timedelta(hours=10), author="fan9",
        sentiment="positive", complaint=0.02, urgency_level=0)  # fmt: skip
    for i in range(2):
        add(f"Celera va mejor que nunca {i}", NOW - timedelta(hours=4 + i), author=f"dora{i}",
            brand="Celera", sentiment="positive", complaint=0.02, urgency_level=0)  # fmt: skip
    with store.transaction() as cur:
        cur.execute(
            "UPDATE mentions SET author_followers = 120000, likes = 40 WHERE author = 'vecina'"
        )
        cur.execute("UPDATE mentions SET author_followers = 900 WHERE author = 'dora1'")
        payload = {"brand": "Orbita", "data": {
            "start": (NOW - timedelta(hours=3)).isoformat(), "end": (NOW - timedelta(hours=1)).isoformat()}}  # fmt: skip
        return alert_store.insert(
            cur, kind="volume_spike", dedupe_key="volume_spike:Orbita", severity="critical",
            title="Volume spike: Orbita", body="6 mentions", payload=json.dumps(payload),
            created_at=NOW - timedelta(minutes=30), status="sent", error=None,
        )  # fmt: skip


@pytest.fixture
def seeded(store, example_settings):
    alert_id = _seed(store)
    triage_pending(store, example_settings)
    service = Service(example_settings, store, sources={})
    with TestClient(create_app(service), raise_server_exceptions=False) as client:
        client.headers.update(sign_in(store, "admin", name="ada"))
        yield client, store, alert_id


def _day() -> dict[str, str]:
    return {"since": (NOW - DAY).isoformat(), "until": NOW.isoformat()}


def test_themes_put_what_grew_first_with_volume_sentiment_and_examples(seeded):
    client, _, _ = seeded
    answer = client.get("/listening/themes", params={**_day(), "brand": "Orbita"}).json()
    terms = {item["term"]: item for item in answer["items"]}
    assert "fuga de gas" in terms, list(terms)
    gas = terms["fuga de gas"]
    assert gas["mentions"] == 6 and gas["negative"] == 6 and gas["new"] and gas["growth"] is None
    assert 1 <= len(gas["examples"]) <= 3
    assert all("Fuga de gas" in e["text"] for e in gas["examples"])
    billing = terms["factura duplicada"]
    assert billing["growth"] is not None and billing["mentions"] == 4
    order = [item["term"] for item in answer["items"]]
    assert order.index("fuga de gas") < order.index("factura duplicada")
    # Brand names are not themes.
    assert "orbita" not in terms
    assert answer["sample"]["current_total"] == 11


def test_top_authors_by_reach_and_volume_with_sentiment(seeded):
    client, _, _ = seeded
    answer = client.get("/listening/authors", params=_day()).json()
    top = answer["reach"][0]
    assert top["author"] == "vecina" and top["followers"] == 120000 and top["mentions"] == 3
    assert top["negative"] == 3 and top["net"] == -1.0
    assert answer["volume"][0]["author"] == "vecina"
    assert len(client.get("/listening/authors", params={"limit": 2}).json()["volume"]) == 2


def test_risk_categories_per_bucket_have_stable_keys(seeded):
    client, _, _ = seeded
    answer = client.get("/listening/risks", params={**_day(), "bucket": "hour"}).json()
    keys = {c["key"]: c for c in answer["categories"]}
    assert keys["safety_gas_leak"]["mentions"] == 6 and keys["reach"]["mentions"] == 6
    assert keys["reach"]["label"] == "author reach"
    hours = {row["bucket"] for row in answer["series"] if row["category"] == "safety_gas_leak"}
    assert len(hours) == 2  # 2 h before now, and 2 h 05 to 2 h 25 before


def test_crisis_window_holds_timeline_mentions_categories_cases_and_alerts(seeded):
    client, _, alert_id = seeded
    window = {"brand": "Orbita", "start": (NOW - timedelta(hours=3)).isoformat(),
              "end": (NOW - timedelta(hours=1)).isoformat()}  # fmt: skip
    answer = client.get("/listening/crisis", params=window).json()
    assert answer["summary"]["mentions"] == 7  # 6 gas leak + 1 billing at -3 h
    assert answer["mentions"][0]["urgency_level"] == 3
    assert answer["mentions"][0]["author"] == "vecina"  # most urgent, then most engaged
    inside = [p for p in answer["timeline"] if p["in_window"]]
    assert len(inside) == 2 and sum(p["mentions"] for p in inside) == 7
    assert len(answer["timeline"]) > len(inside)  # context hours either side
    assert answer["baseline"]["hourly_mean"] > 0
    assert answer["categories"][0]["key"] in ("safety_gas_leak", "reach")
    assert any(t["term"] == "fuga de gas" for t in answer["themes"])
    assert answer["cases"] and answer["cases_total"] == len(answer["cases"])
    assert {c["status"] for c in answer["cases"]} <= {"new", "acknowledged", "in_private"}
    assert [a["id"] for a in answer["alerts"]] == [alert_id]
    by_alert = client.get("/listening/crisis", params={"alert": alert_id}).json()
    assert by_alert["brand"] == "Orbita" and by_alert["summary"]["mentions"] == 7
    listed = client.get("/listening/alerts").json()["items"]
    assert listed[0]["id"] == alert_id and listed[0]["brand"] == "Orbita"


def test_a_viewer_sees_case_counts_not_cases(seeded):
    client, store, alert_id = seeded
    viewer = sign_in(store, "viewer", name="victor")
    answer = client.get("/listening/crisis", params={"alert": alert_id}, headers=viewer).json()
    assert answer["cases"] is None and answer["cases_total"] >= 1


def test_a_brand_limited_user_reads_only_their_brand(seeded):
    client, store, alert_id = seeded
    celia = sign_in(store, "viewer", name="celia", brands=("Celera",))
    authors = client.get("/listening/authors", headers=celia).json()
    assert {a["author"] for a in authors["volume"]} == {"dora0", "dora1"}
    assert authors["reach"][0]["author"] == "dora1"
    assert (
        client.get("/listening/themes", params={"brand": "Orbita"}, headers=celia).status_code
        == 403
    )
    assert (
        client.get("/listening/crisis", params={"alert": alert_id}, headers=celia).status_code
        == 403
    )
    assert client.get("/listening/alerts", headers=celia).json()["items"] == []
    risks = client.get("/listening/risks", headers=celia).json()
    assert risks["categories"] == []


def test_a_period_of_thousands_of_years_has_no_previous_period_to_grow_from(seeded):
    client, _, _ = seeded
    answer = client.get(
        "/listening/themes",
        params={"since": "1970-01-01T00:00:00Z", "until": "8999-01-01T00:00:00Z"},
    )
    assert answer.status_code == 200, answer.text  # found by the API fuzz test: it was a 500


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/listening/themes", {"limit": 0}),
        ("/listening/themes", {"limit": 51}),
        ("/listening/themes", {"since": "yesterday"}),
        # year 1: the period before it would not exist (found by the API fuzz test)
        ("/listening/themes", {"since": "0001-01-01T00:00:00Z"}),
        ("/aggregates/overview", {"until": "9999-12-31T00:00:00Z"}),
        ("/listening/crisis", {"start": "0001-01-01T00:00:00Z", "end": "0001-01-02T00:00:00Z"}),
        ("/listening/authors", {"brand": "<script>"}),
        ("/listening/risks", {"bucket": "week"}),
        ("/listening/alerts", {"limit": 1000}),
        ("/listening/crisis", {}),
        ("/listening/crisis", {"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}),
        ("/listening/crisis", {"start": "2026-01-01T00:00:00Z", "end": "2026-03-01T00:00:00Z"}),
        ("/listening/crisis", {"alert": 0}),
        ("/listening/crisis", {"alert": 1, "start": "2026-01-01T00:00:00Z"}),
        (
            "/listening/crisis",
            {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z", "extra": "x"},
        ),
    ],
)
def test_bad_parameters_are_refused_with_a_message(seeded, path, params):
    client, _, _ = seeded
    answer = client.get(path, params=params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"]


def test_unknown_brand_and_unknown_alert(seeded):
    client, _, _ = seeded
    unknown = client.get("/listening/themes", params={"brand": "Nadie"})
    assert unknown.status_code == 400 and "unknown brand" in unknown.json()["detail"]
    missing = client.get("/listening/crisis", params={"alert": 999})
    assert missing.status_code == 404 and "no alert" in missing.json()["detail"]
