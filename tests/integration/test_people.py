"""Customer 360 and agent availability through the API: links with audit, suggestions, shifts."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from pipeline.api.app import create_app
from pipeline.service import Service
from pipeline.stages.triage import triage_pending
from pipeline.store import rows
from tests.conftest import seed_scored, sign_in


@pytest.fixture
def client(store, example_settings):
    seed_scored(store, native_id="1", text="Orbita sin fibra", author="ana_garcia", platform="x")
    seed_scored(store, native_id="r1", text="Orbita no funciona", author="ana_garcia",
                platform="reddit")  # fmt: skip
    seed_scored(store, native_id="2", text="Orbita me cobra mal", author="bob", platform="x")
    service = Service(example_settings, store, sources={})
    with TestClient(create_app(service), raise_server_exceptions=False) as test_client:
        test_client.headers.update(sign_in(store, "admin", name="lucia"))
        yield test_client, store, example_settings


def test_matching_handles_are_suggested_and_a_link_shows_history_on_every_channel(client):
    api, store, _ = client
    suggestions = api.get("/customers/suggestions").json()
    pair = {suggestions[0]["a"], suggestions[0]["b"]}
    assert pair == {"x:ana_garcia", "reddit:ana_garcia"}
    assert suggestions[0]["evidence"]
    linked = api.post("/customers/links", json={"a": "x:ana_garcia", "b": "reddit:ana_garcia"}).json()  # fmt: skip
    assert linked["customer_id"].startswith("P-")
    view = api.get("/customers/x:ana_garcia").json()
    assert {a["key"] for a in view["accounts"]} == {"x:ana_garcia", "reddit:ana_garcia"}
    assert {h["platform"] for h in view["history"]} == {"x", "reddit"}
    assert api.get("/customers/suggestions").json() == []  # decided pairs are not suggested again
    with store.read() as cur:
        (audit,) = rows(cur, "SELECT actor, decision FROM identity_links")
    assert audit == {"actor": "lucia", "decision": "linked"}
    assert api.post("/customers/links", json={"a": "x:nobody", "b": "x:bob"}).status_code == 404


def test_an_agent_off_shift_gets_no_new_cases(client):
    api, store, settings = client
    response = api.put("/agents/lucia/shift", json={"on_shift": False})
    assert response.status_code == 200 and response.json()["on_shift"] is False
    assert api.put("/agents/ghost/shift", json={"on_shift": True}).status_code == 404
    triage_pending(store, settings)
    with store.read() as cur:
        assignees = {r["assignee"] for r in rows(cur, "SELECT assignee FROM cases")}
    assert "lucia" not in assignees and assignees <= {"mateo"}
    agents = {a["name"]: a for a in api.get("/agents").json()}
    assert agents["mateo"]["open_cases"] == 3 and agents["lucia"]["open_cases"] == 0
