"""Each person's saved preferences through the API: their own only, capped, closed to strangers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pipeline.access.roles import ROLES
from pipeline.api.app import create_app
from pipeline.api.policy import POLICY
from pipeline.api.preferences import MAX_BYTES
from pipeline.service import Service
from pipeline.settings import Settings
from pipeline.store import Store
from tests.conftest import sign_in

FILTERS = {"status": ["new"], "team": "atencion-es", "lang": "es", "min_urgency": 2, "live": False}


@pytest.fixture
def client(store: Store, example_settings: Settings) -> Iterator[TestClient]:
    service = Service(example_settings, store, sources={})
    with TestClient(create_app(service), raise_server_exceptions=False) as client:
        yield client


def test_a_person_saves_their_filters_and_reads_them_back_in_a_new_session(
    client: TestClient, store: Store
) -> None:
    mateo = sign_in(store, "agent", name="mateo")
    assert client.get("/me/preferences/queue", headers=mateo).json()["value"] == {}
    saved = client.put("/me/preferences/queue", json=FILTERS, headers=mateo)
    assert saved.status_code == 200, saved.text
    again = sign_in(store, "agent", name="mateo")  # another browser: a new session
    found = client.get("/me/preferences/queue", headers=again).json()
    assert found["value"] == FILTERS and found["updated_at"]
    client.put("/me/preferences/queue", json={"live": True}, headers=again)
    assert client.get("/me/preferences/queue", headers=mateo).json()["value"] == {"live": True}


def test_nobody_reads_or_overwrites_someone_elses_preferences(
    client: TestClient, store: Store
) -> None:
    mateo = sign_in(store, "agent", name="mateo")
    lucia = sign_in(store, "agent", name="lucia")
    admin = sign_in(store, "admin", name="ada")
    client.put("/me/preferences/queue", json=FILTERS, headers=mateo)
    client.put("/me/preferences/queue", json={"lang": "en"}, headers=lucia)
    assert client.get("/me/preferences/queue", headers=lucia).json()["value"] == {"lang": "en"}
    assert client.get("/me/preferences/queue", headers=admin).json()["value"] == {}
    assert client.get("/me/preferences/queue", headers=mateo).json()["value"] == FILTERS


@pytest.mark.parametrize("role", ROLES)
def test_every_role_keeps_preferences(client: TestClient, store: Store, role: str) -> None:
    headers = sign_in(store, role)
    assert client.put("/me/preferences/queue", json={"live": True}, headers=headers).is_success
    assert client.get("/me/preferences/queue", headers=headers).json()["value"] == {"live": True}


def test_an_anonymous_caller_is_told_to_sign_in(client: TestClient) -> None:
    assert client.get("/me/preferences/queue").status_code == 401
    refused = client.put("/me/preferences/queue", json=FILTERS)
    assert refused.status_code == 401 and "sign in" in refused.json()["detail"]


def test_an_oversized_preference_is_refused_and_the_old_one_kept(
    client: TestClient, store: Store
) -> None:
    mateo = sign_in(store, "agent", name="mateo")
    client.put("/me/preferences/queue", json=FILTERS, headers=mateo)
    huge = {"note": "x" * MAX_BYTES}
    refused = client.put("/me/preferences/queue", json=huge, headers=mateo)
    assert refused.status_code == 413
    assert "at most 16,384" in refused.json()["detail"]
    assert client.get("/me/preferences/queue", headers=mateo).json()["value"] == FILTERS


@pytest.mark.parametrize("body", [["a", "list"], "text", 3])
def test_a_preference_is_a_json_object(client: TestClient, store: Store, body: Any) -> None:
    refused = client.put("/me/preferences/queue", json=body, headers=sign_in(store, "viewer"))
    assert refused.status_code == 422


@pytest.mark.parametrize("name", ["Queue", "../users", "x" * 41, "a b", "1queue"])
def test_a_preference_name_is_short_lower_case_words(
    client: TestClient, store: Store, name: str
) -> None:
    answer = client.get(f"/me/preferences/{name}", headers=sign_in(store, "viewer"))
    assert answer.status_code in (404, 422), (name, answer.status_code)
    assert answer.status_code != 200


def test_a_person_keeps_a_bounded_number_of_preferences(
    client: TestClient, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pipeline.api.preferences.MAX_NAMES", 2)
    viewer = sign_in(store, "viewer")
    assert client.put("/me/preferences/one", json={}, headers=viewer).is_success
    assert client.put("/me/preferences/two", json={}, headers=viewer).is_success
    assert client.put("/me/preferences/two", json={"again": 1}, headers=viewer).is_success
    third = client.put("/me/preferences/three", json={}, headers=viewer)
    assert third.status_code == 409 and "one too many" in third.json()["detail"]


def test_the_routes_are_open_to_every_signed_in_role_and_documented() -> None:
    from pathlib import Path

    for method in ("GET", "PUT"):
        assert POLICY[(method, "/me/preferences/{name}")] == "account"
    docs = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    assert "| `PUT /me/preferences/{name}` | account |" in docs
