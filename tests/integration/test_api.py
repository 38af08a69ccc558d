"""The HTTP API: filters, search, exports, corrections, case actions, and 4xx (never 500) on bad input."""

from __future__ import annotations

import csv
import io

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from pipeline.api.app import create_app
from pipeline.service import Service
from pipeline.stages.triage import triage_pending
from tests.conftest import seed_scored, sign_in


@pytest.fixture
def client(store, example_settings):
    seed_scored(store, native_id="1", text="Órbita lleva 3 días sin fibra", author="ana")
    seed_scored(store, native_id="2", text='=HYPERLINK("http://evil") Orbita', author="eve")
    seed_scored(store, native_id="3", text="Gracias Orbita, todo perfecto", author="leo",
                sentiment="positive", complaint=0.02, urgency_level=0)  # fmt: skip
    triage_pending(store, example_settings)
    service = Service(example_settings, store, sources={})
    with TestClient(create_app(service), raise_server_exceptions=False) as test_client:
        test_client.headers.update(sign_in(store, "admin", name="lucia"))
        yield test_client


def test_search_is_accent_and_case_insensitive_and_filters_combine(client):
    found = client.get("/mentions", params={"q": "ORBITA fibra"}).json()
    assert [m["key"] for m in found["items"]] == ["x:1"]
    positive = client.get("/mentions", params={"sentiment": "positive"}).json()
    assert positive["total"] == 1 and positive["items"][0]["author"] == "leo"
    assert client.get("/mentions", params={"q": "100%_"}).json()["total"] == 0


def test_bad_requests_get_a_4xx_with_a_message(client):
    assert client.get("/mentions", params={"limit": 0}).status_code == 422
    assert client.get("/mentions", params={"sentiment": "angry"}).status_code == 422
    response = client.get(
        "/mentions", params={"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}
    )
    assert response.status_code == 400 and "since" in response.json()["detail"]
    assert client.get("/mentions/x:404").status_code == 404
    assert client.get("/cases/C-999999").status_code == 404
    assert client.get("/cases", params={"status": "lost"}).status_code == 400
    bad_action = client.post("/cases/C-000001/actions/teleport", json={})
    assert bad_action.status_code == 409 and "unknown action" in bad_action.json()["detail"]
    # Who acts is the signed-in person: a typed actor is refused, not silently ignored.
    typed = client.post("/cases/C-000001/actions/acknowledge", json={"actor": "someone"})
    assert typed.status_code == 422 and "actor" in str(typed.json()["detail"])


def test_a_case_is_worked_through_the_api_and_illegal_steps_are_refused(client):
    queue = client.get("/cases", params={"open": True}).json()
    case_id = queue["items"][0]["id"]
    preview = client.get(f"/cases/{case_id}/preview/acknowledge").json()
    assert preview["visibility"] == "public" and preview["lang"] == "es"
    refused = client.post(f"/cases/{case_id}/actions/close_public", json={})
    assert refused.status_code == 409
    assert "cannot close_public a case that is new" in refused.json()["detail"]
    done = client.post(f"/cases/{case_id}/actions/acknowledge", json={}).json()
    assert done["case"]["status"] == "acknowledged"
    assert done["outbox"][0]["text"] == preview["text"]
    bulk = client.post(
        "/cases/bulk-assign",
        json={"case_ids": [case_id, "C-404"], "assignee": "mateo"},
    ).json()
    assert bulk["assigned"] == [case_id] and "C-404" in bulk["failed"]


def test_csv_export_neutralises_spreadsheet_formulas(client):
    response = client.get("/mentions/export", params={"format": "csv"})
    assert response.status_code == 200
    table = list(csv.DictReader(io.StringIO(response.text)))
    texts = {row["key"]: row["text"] for row in table}
    assert texts["x:2"].startswith("'=HYPERLINK")
    parquet = client.get("/mentions/export", params={"format": "parquet"})
    frame = pq.read_table(io.BytesIO(parquet.content)).to_pylist()
    assert {row["key"] for row in frame} == {"x:1", "x:2", "x:3"}


def test_corrections_are_stored_and_exported_for_retraining(client):
    bad = client.post("/mentions/x:3/corrections", json={"field": "sentiment", "value": "meh"})
    assert bad.status_code == 400
    ok = client.post("/mentions/x:3/corrections", json={"field": "sentiment", "value": "neutral"})
    assert ok.status_code == 201 and ok.json()["old_value"] == "positive"
    client.post("/mentions/x:3/corrections", json={"field": "urgency_level", "value": 1})
    exported = client.get("/corrections/export").text.strip().splitlines()
    assert len(exported) == 1
    assert '"sentiment": "neutral"' in exported[0] and '"urgency_level": 1' in exported[0]


def test_health_stats_and_openapi(client):
    assert client.get("/health", headers={"Authorization": ""}).json()["status"] == "ok"
    stats = client.get("/stats").json()
    assert stats["mentions"] == 3
    assert stats["cases"] == {"new": 2} and stats["outbox"] == {
        "pending": 0,
        "sent": 0,
        "failed": 0,
    }
    assert "/cases/{case_id}/actions/{action}" in client.get("/openapi.json").json()["paths"]


def test_the_status_comes_from_the_kind_of_error_not_its_wording(client):
    case_id = client.get("/cases", params={"open": True}).json()["items"][0]["id"]
    up = {"reason": "needs a manager", "direction": "up"}
    for _ in range(3):  # climb until there is no level left above
        response = client.post(f"/cases/{case_id}/actions/escalate", json=up)
        if response.status_code != 200:
            break
    # "no team up from 'head_office' fits this case" is a refused step (409), not a missing case.
    assert response.status_code == 409
    assert response.json()["detail"].startswith("no team up from")
    missing = client.post("/cases/C-999999/actions/acknowledge", json={})
    assert missing.status_code == 404 and "C-999999" in missing.json()["detail"]


def test_every_error_answers_with_its_message_in_detail(client):
    response = client.post(
        "/mentions/x:404/corrections", json={"field": "sentiment", "value": "neutral"}
    )
    assert response.status_code == 404 and response.json() == {"detail": "no mention 'x:404'"
        " - use keys like 'x:123' from /mentions"}  # fmt: skip
    preview = client.get("/cases/C-000001/preview/assign")
    assert preview.status_code == 400 and "posts nothing" in preview.json()["detail"]


def test_alerts_and_the_dashboard_configuration(client):
    assert client.get("/alerts", params={"limit": 5}).json() == {"items": [], "total": 0}
    ui = client.get("/config/ui").json()
    assert ui["platforms"] == ["x"] and "new" in ui["statuses"]
    detail = client.get("/mentions/x:1").json()
    assert detail["sentiment"] == "negative"  # the current score
    assert [m["key"] for m in detail["thread"]] == ["x:1"]
    assert detail["corrections"] == []


def test_the_queue_warns_by_the_teams_warn_before_in_business_time(store, example_settings):
    """The crisis team answers in 15 minutes and warns 10 minutes before: 12 minutes left is
    fine, 9 is a warning, and past due is breached."""
    from datetime import UTC, datetime, timedelta

    opened = datetime.now(UTC)
    now = [opened]
    seed_scored(store, native_id="9", text="Orbita: el router echa humo", urgency_level=3,
                reasons=("safety: smoke",), created_at=opened - timedelta(minutes=1))  # fmt: skip
    service = Service(example_settings, store, sources={}, clock=lambda: now[0])
    triage_pending(store, example_settings, cases=service.cases, clock=service.clock)
    with TestClient(create_app(service)) as api:
        api.headers.update(sign_in(store))
        states = []
        for minutes in (3, 6, 16):
            now[0] = opened + timedelta(minutes=minutes)
            (case,) = api.get("/cases").json()["items"]
            states.append(case["sla"])
    assert case["team"] == "crisis"
    assert [s["state"] for s in states] == ["ok", "warning", "breached"]
    assert {s["clock"] for s in states} == {"first_response"}


def test_pages_follow_each_other_by_cursor_as_by_offset(client):
    by_offset = [client.get("/mentions", params={"limit": 1, "offset": i}).json() for i in range(3)]
    keys, after = [], None
    while True:
        params = {"limit": 1, **({"after": after} if after else {})}
        found = client.get("/mentions", params=params).json()
        keys += [m["key"] for m in found["items"]]
        after = found["next"]
        if not found["items"] or after is None:
            break
    assert keys == [page["items"][0]["key"] for page in by_offset]
    assert by_offset[0]["total"] == 3 and len(set(keys)) == 3
    refused = client.get("/mentions", params={"after": "yesterday|x:1"})
    assert refused.status_code == 400 and "cursor" in refused.json()["detail"]
