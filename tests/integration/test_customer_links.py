"""Linking a customer's accounts from a case: suggestions for one account, confirming, undoing a
link (who, when, audited), and agents kept to the customers of their teams' cases."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from pipeline.api.app import create_app
from pipeline.service import Service
from pipeline.stages.triage import triage_pending
from pipeline.store import rows
from tests.conftest import seed_scored, sign_in

TEAM = "atencion-es"


@pytest.fixture
def world(store, example_settings):
    # ana_garcia writes in Spanish on X and on Reddit (one person); bob and bobby in English.
    seed_scored(store, native_id="1", text="Orbita sin fibra", author="ana_garcia", platform="x")
    seed_scored(store, native_id="r1", text="Orbita no funciona", author="ana_garcia",
                platform="reddit")  # fmt: skip
    seed_scored(store, native_id="2", text="Orbita charged me twice", author="bob_smith",
                platform="x", lang="en")  # fmt: skip
    seed_scored(store, native_id="r2", text="Orbita billing is broken", author="bob_smith",
                platform="reddit", lang="en")  # fmt: skip
    triage_pending(store, example_settings)
    service = Service(example_settings, store, sources={})
    with TestClient(create_app(service), raise_server_exceptions=False) as client:
        yield client, store


def audit_actions(store) -> list[tuple[str, str]]:
    with store.read() as cur:
        found = rows(cur, "SELECT actor, action FROM audit_log ORDER BY id")
    return [(r["actor"], r["action"]) for r in found if r["action"].startswith("customer.")]


def test_suggestions_for_one_account_leave_out_other_customers(world) -> None:
    api, store = world
    admin = sign_in(store, "admin", name="ada")
    everyone = api.get("/customers/suggestions", headers=admin).json()
    assert {frozenset((s["a"], s["b"])) for s in everyone} >= {
        frozenset(("x:ana_garcia", "reddit:ana_garcia")),
        frozenset(("x:bob_smith", "reddit:bob_smith")),
    }
    mine = api.get("/customers/x:ana_garcia/suggestions", headers=admin).json()
    assert [frozenset((s["a"], s["b"])) for s in mine] == [
        frozenset(("x:ana_garcia", "reddit:ana_garcia"))
    ]
    assert mine[0]["evidence"] and 0 < mine[0]["confidence"] <= 1


def test_a_confirmed_link_is_undone_recorded_and_audited(world) -> None:
    api, store = world
    lucia = sign_in(store, "agent", name="lucia", teams=(TEAM,))
    linked = api.post(
        "/customers/links", json={"a": "x:ana_garcia", "b": "reddit:ana_garcia"}, headers=lucia
    ).json()
    view = api.get("/customers/x:ana_garcia", headers=lucia).json()
    assert {a["key"] for a in view["accounts"]} == {"x:ana_garcia", "reddit:ana_garcia"}
    assert [(lk["actor"], lk["decision"]) for lk in view["links"]] == [("lucia", "linked")]
    assert {c["platform"] for c in view["cases"]} == {"x", "reddit"}
    assert all("csat_score" in c and "closed_at" in c for c in view["cases"])
    assert api.get("/customers/x:ana_garcia/suggestions", headers=lucia).json() == []

    undone = api.delete(
        "/customers/links", params={"a": "x:ana_garcia", "b": "reddit:ana_garcia"}, headers=lucia
    )
    assert undone.status_code == 200, undone.text
    assert undone.json()["customer_id"] == linked["customer_id"]
    view = api.get("/customers/x:ana_garcia", headers=lucia).json()
    assert [a["key"] for a in view["accounts"]] == ["x:ana_garcia"]
    assert view["links"] == []
    assert {c["platform"] for c in view["cases"]} == {"x"}
    with store.read() as cur:
        decisions = rows(cur, "SELECT actor, decision, created_at FROM identity_links ORDER BY id")
        reddit = rows(cur, "SELECT customer_id FROM authors WHERE key = 'reddit:ana_garcia'")
    assert [(d["actor"], d["decision"]) for d in decisions] == [
        ("lucia", "linked"),
        ("lucia", "unlinked"),
    ]
    assert decisions[1]["created_at"] is not None
    assert reddit == [{"customer_id": None}]
    assert audit_actions(store) == [("lucia", "customer.linked"), ("lucia", "customer.unlinked")]
    # Undone is not decided: the pair is suggested again, to confirm or reject afresh.
    again = api.get("/customers/x:ana_garcia/suggestions", headers=lucia).json()
    assert [frozenset((s["a"], s["b"])) for s in again] == [
        frozenset(("x:ana_garcia", "reddit:ana_garcia"))
    ]
    # Undoing twice, or accounts never linked, is a conflict saying so.
    twice = api.delete(
        "/customers/links", params={"a": "x:ana_garcia", "b": "reddit:ana_garcia"}, headers=lucia
    )
    assert twice.status_code == 409
    assert "not linked" in twice.json()["detail"]


def test_unlinking_one_account_keeps_the_others_together(world) -> None:
    api, store = world
    admin = sign_in(store, "admin", name="ada")
    for a, b in (("x:ana_garcia", "reddit:ana_garcia"), ("x:ana_garcia", "x:bob_smith")):
        assert api.post("/customers/links", json={"a": a, "b": b}, headers=admin).status_code == 201
    api.delete("/customers/links", params={"a": "x:ana_garcia", "b": "x:bob_smith"},
               headers=admin).raise_for_status()  # fmt: skip
    view = api.get("/customers/reddit:ana_garcia", headers=admin).json()
    assert {a["key"] for a in view["accounts"]} == {"x:ana_garcia", "reddit:ana_garcia"}
    assert [(lk["a_key"], lk["b_key"]) for lk in view["links"]] == [
        ("x:ana_garcia", "reddit:ana_garcia")
    ]


def test_an_agent_reaches_only_customers_with_a_case_in_their_teams(world) -> None:
    api, store = world
    with store.read() as cur:
        teams = {
            r["author_key"]: r["team"] for r in rows(cur, "SELECT author_key, team FROM cases")
        }
    assert teams["x:ana_garcia"] == TEAM and teams["x:bob_smith"] != TEAM
    mateo = sign_in(store, "agent", name="mateo", teams=(TEAM,))
    assert api.get("/customers/x:ana_garcia/suggestions", headers=mateo).status_code == 200
    assert api.get("/customers/x:bob_smith/suggestions", headers=mateo).status_code == 403
    admin = sign_in(store, "admin", name="ada")
    api.post("/customers/links", json={"a": "x:bob_smith", "b": "reddit:bob_smith"},
             headers=admin).raise_for_status()  # fmt: skip
    refused = api.delete(
        "/customers/links", params={"a": "x:bob_smith", "b": "reddit:bob_smith"}, headers=mateo
    )
    assert refused.status_code == 403
    with store.read() as cur:
        still = rows(cur, "SELECT count(*) AS n FROM authors WHERE customer_id IS NOT NULL")
    assert still == [{"n": 2}]
    viewer = sign_in(store, "viewer", name="victor")
    assert api.get("/customers/x:ana_garcia/suggestions", headers=viewer).status_code == 403
    assert (
        api.delete(
            "/customers/links", params={"a": "x:ana_garcia", "b": "reddit:ana_garcia"},
            headers=viewer,
        ).status_code
        == 403
    )  # fmt: skip
