"""Malformed requests get a 4xx with a JSON body that says what was wrong, never a 500."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from pipeline.api.app import create_app
from pipeline.api.policy import POLICY
from pipeline.service import Service
from pipeline.stages.triage import triage_pending
from tests.conftest import seed_scored, sign_in


@pytest.fixture
def client(store, example_settings):
    seed_scored(store, native_id="1", text="Órbita lleva 3 días sin fibra", author="ana")
    triage_pending(store, example_settings)
    service = Service(example_settings, store, sources={})
    with TestClient(create_app(service), raise_server_exceptions=False) as test_client:
        test_client.headers.update(sign_in(store))
        yield test_client


def _case_id(client: TestClient) -> str:
    return str(client.get("/cases").json()["items"][0]["id"])


@pytest.mark.parametrize("body", [b"1e999999", b'{"actor": 1e999999}', b"-1e999999"])
def test_an_infinite_number_in_a_body_is_a_422_with_a_json_message(client, body):
    response = client.post(
        f"/cases/{_case_id(client)}/actions/acknowledge",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail and isinstance(detail, list)
    assert all("msg" in error for error in detail)


def test_a_lone_surrogate_in_a_body_is_a_422_and_the_case_is_untouched(client):
    case_id = _case_id(client)
    for body in (b'{"text": "\\ud800"}', b'{"reason": "a", "text": "hola \\udfff"}'):
        response = client.post(
            f"/cases/{case_id}/actions/acknowledge",
            content=body,
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 422
        assert "surrogate" in response.json()["detail"][0]["msg"]
    assert client.get(f"/cases/{case_id}").json()["case"]["status"] == "new"


def test_a_paired_surrogate_escape_is_an_ordinary_character(client):
    case_id = _case_id(client)
    response = client.post(
        f"/cases/{case_id}/actions/acknowledge",
        content=b'{"text": "luc\\u00eda \\ud83d\\ude00"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200
    assert response.json()["case"]["status"] == "acknowledged"


def test_a_body_that_is_not_utf8_is_a_4xx_with_a_json_message(client):
    case_id = _case_id(client)
    for headers in ({}, {"content-type": "application/json"}):
        response = client.post(
            f"/cases/{case_id}/actions/acknowledge", content=b'{"text": "\xff"}', headers=headers
        )
        assert response.status_code == 422
        assert response.json()["detail"]


@pytest.mark.parametrize("path", ["/mentions", "/cases", "/alerts"])
def test_a_huge_offset_is_a_422_not_a_database_overflow(client, path):
    response = client.get(path, params={"offset": "99999999999999999999"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "offset"]
    assert client.get(path, params={"offset": 10**9}).status_code == 200


def test_an_internal_error_answers_json_and_logs_no_request_content(
    store, example_settings, caplog, monkeypatch
):
    app = create_app(Service(example_settings, store, sources={}))
    monkeypatch.setitem(POLICY, ("POST", "/echo/{name}"), "account")

    @app.post("/echo/{name}")
    def echo(name: str, body: dict[str, str]) -> None:
        raise RuntimeError(f"cannot store {body['text']!r} for {name}")  # a bug quoting its input

    caplog.set_level(logging.INFO)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers.update(sign_in(store))
        response = client.post("/echo/@ana_handle", json={"text": "mi DNI es 12345678Z"})
    assert response.status_code == 500
    assert "internal error" in response.json()["detail"]
    logged = "\n".join(  # the server side: not the test client's own httpx lines
        record.getMessage() + (str(record.exc_info[1]) if record.exc_info else "")
        for record in caplog.records
        if not record.name.startswith("httpx")
    )
    assert "RuntimeError" in logged and "/echo/{name}" in logged
    assert "12345678Z" not in logged and "ana_handle" not in logged


def test_an_oversized_body_is_refused_before_it_is_read_whole(client):
    huge = '{"actor": "' + "a" * 2_000_000 + '"}'
    response = client.post(
        "/cases/C-000001/actions/acknowledge",
        content=huge,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert "bytes" in response.json()["detail"]


def test_answers_carry_security_headers_and_no_cors(client):
    for response in (
        client.get("/health"),
        client.get("/cases/C-404"),
        client.get("/mentions", headers={"Origin": "https://evil.example"}),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
        assert "access-control-allow-origin" not in response.headers
