"""The dashboard's API client: parameters, the bearer token, error details and an unreachable
service."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from dashboard.client import ApiError, ApiUnavailable, Client, NotSignedIn
from tests.dashboard.conftest import PASSWORD, LiveApi, free_port


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
            422, json={"detail": [{"loc": ["body", "assignee"], "msg": "Field required"}]}
        )

    client = Client("http://api.test", transport=httpx.MockTransport(answer))
    with pytest.raises(ApiError) as refused:
        client.act("C-1", "resolve")
    assert (refused.value.status, refused.value.detail) == (
        409,
        "cannot resolve a case that is new",
    )
    assert not isinstance(refused.value, NotSignedIn)
    with pytest.raises(ApiError) as malformed:
        client.act("C-1", "assign")
    assert malformed.value.detail == "body.assignee: Field required"


def test_the_token_travels_as_a_bearer_header_and_never_in_the_url() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/auth/login":
            return httpx.Response(200, json={"token": "s3cret", "user": {"name": "ana"}})
        return httpx.Response(200, json={})

    client = Client("http://api.test", transport=httpx.MockTransport(answer))
    client.health()
    assert "authorization" not in seen[-1].headers
    client.login("ana", "a long password")
    assert client.token == "s3cret"
    client.me()
    assert seen[-1].headers["authorization"] == "Bearer s3cret"
    assert "s3cret" not in str(seen[-1].url)
    assert "s3cret" not in repr(client)
    client.logout()
    assert seen[-1].url.path == "/auth/logout"
    assert client.token is None
    client.token = "other"
    client.stats()
    assert seen[-1].headers["authorization"] == "Bearer other"
    assert Client("http://api.test", token="t0").token == "t0"


def test_actions_send_no_actor() -> None:
    bodies: list[bytes] = []

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(200, json={})

    client = Client("http://api.test", token="t", transport=httpx.MockTransport(answer))
    client.act("C-1", "resolve")
    client.act("C-1", "assign", assignee="lucia")
    client.bulk_assign(["C-1"], "lucia")
    client.correct("x:1", "sentiment", "neutral")
    client.set_shift("lucia", on_shift=False)
    assert all(b"actor" not in body for body in bodies)
    assert bodies[1] == b'{"assignee":"lucia"}'


def test_a_401_is_not_signed_in_and_a_403_says_why(live_api: LiveApi) -> None:
    anonymous = Client(live_api.url)
    with pytest.raises(NotSignedIn) as unsigned:
        anonymous.cases()
    assert unsigned.value.status == 401
    with pytest.raises(NotSignedIn) as wrong:
        anonymous.login("victor", "not the password")
    assert "wrong user name or password" in wrong.value.detail

    viewer = Client(live_api.url)
    viewer.login("victor", PASSWORD)
    assert viewer.me()["role"] == "viewer"
    with pytest.raises(ApiError) as refused:
        viewer.cases()
    assert refused.value.status == 403
    assert "viewer" in refused.value.detail
    ended = viewer.token
    viewer.logout()
    with pytest.raises(NotSignedIn):  # a session that was ended is refused from then on
        Client(live_api.url, token=ended).me()


def test_an_unreachable_service_is_its_own_error() -> None:
    client = Client(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(ApiUnavailable) as down:
        client.health()
    assert down.value.base_url.startswith("http://127.0.0.1:")
