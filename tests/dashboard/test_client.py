"""The dashboard's API client: parameters, error details and an unreachable service."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from dashboard.client import ApiError, ApiUnavailable, Client
from tests.dashboard.conftest import free_port


def test_empty_filters_are_dropped_and_lists_repeat() -> None:
    seen: list[httpx.URL] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"items": [], "total": 0})

    client = Client("http://api.test", transport=httpx.MockTransport(answer))
    client.cases(status=["new", "acknowledged"], team=None, brand="", open=True, min_urgency=0)
    client.mentions(since=datetime(2026, 1, 1, tzinfo=UTC))
    assert seen[0].params.get_list("status") == ["new", "acknowledged"]
    assert "team" not in seen[0].params
    assert "brand" not in seen[0].params
    assert seen[0].params["open"] == "true"
    assert seen[0].params["min_urgency"] == "0"
    assert seen[1].params["since"] == "2026-01-01T00:00:00+00:00"


def test_path_segments_are_quoted() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        return httpx.Response(200, json={})

    client = Client("http://api.test", transport=httpx.MockTransport(answer))
    client.mention("x:1/../../cases")
    assert seen == ["/mentions/x:1%2F..%2F..%2Fcases"]


def test_errors_carry_the_services_explanation() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/resolve"):
            return httpx.Response(409, json={"detail": "cannot resolve a case that is new"})
        return httpx.Response(
            422, json={"detail": [{"loc": ["body", "actor"], "msg": "Field required"}]}
        )

    client = Client("http://api.test", transport=httpx.MockTransport(answer))
    with pytest.raises(ApiError) as refused:
        client.act("C-1", "resolve", "ana")
    assert (refused.value.status, refused.value.detail) == (
        409,
        "cannot resolve a case that is new",
    )
    with pytest.raises(ApiError) as malformed:
        client.act("C-1", "assign", "ana")
    assert malformed.value.detail == "body.actor: Field required"


def test_an_unreachable_service_is_its_own_error() -> None:
    client = Client(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(ApiUnavailable) as down:
        client.health()
    assert down.value.base_url.startswith("http://127.0.0.1:")
