"""Single sign-on end to end: the real API app, Authlib and a loopback OpenID provider.

A browser's trip is played by hand: the API's login redirect is followed to the fake provider,
whose redirect is followed back to the API's callback, whose redirect carries the one-time code
(or the reason for refusing) to the dashboard, which exchanges the code for a session.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from pipeline.access import audit, oidc, tokens, users
from pipeline.api import sso
from pipeline.api.app import create_app
from pipeline.errors import MissingSecret, NotSignedIn
from pipeline.records import utcnow
from pipeline.service import Service
from pipeline.settings import AuthSettings, OidcSettings, Settings
from tests.fakes.oidc import CLIENT_ID, CLIENT_SECRET, FakeOidcProvider

DASHBOARD = "http://localhost:8501"


@pytest.fixture(scope="module")
def running_provider() -> Iterator[FakeOidcProvider]:
    with FakeOidcProvider() as fake:
        yield fake


@pytest.fixture
def provider(running_provider) -> FakeOidcProvider:
    running_provider.reset()
    return running_provider


def sso_settings(base: Settings, issuer: str, **oidc_options: object) -> Settings:
    auth = AuthSettings(oidc=OidcSettings(issuer=issuer, client_id=CLIENT_ID, **oidc_options))
    return base.model_copy(update={
        "auth": auth, "secrets": {"ESCUCHA_OIDC_CLIENT_SECRET": SecretStr(CLIENT_SECRET)},
    })  # fmt: skip


def api(settings: Settings, store) -> TestClient:
    app = create_app(Service(settings, store, sources={}))
    if not any(getattr(r, "path", "") == "/auth/oidc/callback" for r in app.routes):
        app.include_router(sso.router)  # until the lead adds it to ROUTERS
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


@pytest.fixture
def settings(example_settings, provider) -> Settings:
    return sso_settings(example_settings, provider.url)


@pytest.fixture
def client(settings, store) -> Iterator[TestClient]:
    users.add(store, "lucia", role="agent", password=None, email="Lucia@Example.com",
              display_name="Lucía", teams=["care"], now=utcnow())  # fmt: skip
    with api(settings, store) as test_client:
        yield test_client


def through_provider(client: TestClient, return_to: str | None = "/cases") -> str:
    """Login at the API, approval at the provider: the callback URL the browser is sent to."""
    params = {"return_to": return_to} if return_to else {}
    login = client.get("/auth/oidc/login", params=params)
    assert login.status_code == 302, login.text
    with httpx.Client(trust_env=False) as browser:
        at_provider = browser.get(login.headers["location"])
    assert at_provider.status_code == 302, at_provider.text
    callback = at_provider.headers["location"]
    assert callback.startswith("http://testserver/auth/oidc/callback?")
    return callback


def landing(client: TestClient, callback: str) -> tuple[str, dict[str, str]]:
    """Call the API's callback; where it sends the browser, and that URL's query."""
    answer = client.get(callback)
    assert answer.status_code == 302, answer.text
    target = answer.headers["location"]
    return target, {k: v[0] for k, v in parse_qs(urlsplit(target).query).items()}


def failed_logins(store) -> list[dict]:
    found, _ = audit.entries(store, action="auth.login")
    return [entry for entry in found if entry["outcome"] == "failed"]


# -- signing in ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_a_known_person_signs_in_and_gets_a_working_session(client, provider, store, method):
    provider.auth_methods = [method]
    target, query = landing(client, through_provider(client, "/cases?team=care"))
    assert target.startswith(f"{DASHBOARD}/cases?")
    assert query["team"] == "care" and "signin_error" not in query
    assert provider.client_auth_used == [method]

    session = client.post("/auth/oidc/exchange", json={"code": query["signin"]})
    assert session.status_code == 200, session.text
    body = session.json()
    assert body["user"]["name"] == "lucia" and body["user"]["role"] == "agent"
    assert body["user"]["display_name"] == "Lucía"
    principal = tokens.resolve(store, body["token"], now=utcnow())
    assert (principal.name, principal.role, principal.via) == ("lucia", "agent", "session")

    entries, _ = audit.entries(store, action="auth.login")
    assert [(e["actor"], e["via"], e["outcome"]) for e in entries] == [("lucia", "oidc", "ok")]
    assert users.get(store, "lucia")["last_login_at"] is not None


def test_the_one_time_code_works_once(client):
    _, query = landing(client, through_provider(client))
    assert client.post("/auth/oidc/exchange", json={"code": query["signin"]}).status_code == 200
    again = client.post("/auth/oidc/exchange", json={"code": query["signin"]})
    assert again.status_code == 401
    assert "already used" in again.json()["detail"]
    assert client.post("/auth/oidc/exchange", json={"code": "made-up"}).status_code == 401


def test_without_return_to_the_dashboard_home_is_the_landing(client):
    target, query = landing(client, through_provider(client, return_to=None))
    assert target.startswith(f"{DASHBOARD}?signin=")
    assert query["signin"]


def test_a_person_is_matched_by_user_name_through_another_claim(example_settings, store, provider):
    users.add(store, "lucia", role="viewer", password=None, email=None, now=utcnow())
    settings = sso_settings(example_settings, provider.url, username_claim="preferred_username")
    with api(settings, store) as client:
        _, query = landing(client, through_provider(client))
        body = client.post("/auth/oidc/exchange", json={"code": query["signin"]}).json()
    assert body["user"]["name"] == "lucia" and body["user"]["role"] == "viewer"


def test_claims_missing_from_the_id_token_are_read_from_userinfo(client, provider):
    provider.claims_in_id_token = False
    _, query = landing(client, through_provider(client))
    assert "signin" in query, query


# -- refusals --------------------------------------------------------------------------------------


def test_someone_without_an_escucha_user_is_refused_and_told_to_ask_an_admin(
    client, provider, store
):
    provider.person = {**provider.person, "sub": "u-2", "email": "stranger@example.com"}
    target, query = landing(client, through_provider(client))
    assert target.startswith(DASHBOARD) and "signin" not in query
    assert "no escucha account" in query["signin_error"]
    assert "an admin must add you first" in query["signin_error"]
    assert query["signin_error"].endswith("as 'email'")  # the whole sentence, not cut short
    assert "stranger@example.com" not in target  # the address stays out of URLs and logs
    assert [e["actor"] for e in failed_logins(store)] == ["anonymous"]
    assert failed_logins(store)[0]["detail"] == {"reason": "Forbidden"}


def test_a_disabled_user_is_refused(client, store):
    users.update(store, "lucia", {"disabled": True}, now=utcnow())
    _, query = landing(client, through_provider(client))
    assert "disabled" in query["signin_error"] and "signin" not in query


def test_an_unverified_email_is_refused(client, provider):
    provider.person = {**provider.person, "email_verified": False}
    _, query = landing(client, through_provider(client))
    assert "not verified" in query["signin_error"]


@pytest.mark.parametrize(
    ("knob", "value", "reason"),
    [
        ("bad_signature", True, "signature does not match"),
        ("wrong_audience", True, "another client (aud)"),
        ("wrong_nonce", True, "another sign-in (nonce)"),
        ("id_token_ttl", -600, "expired"),
    ],
)
def test_an_id_token_that_fails_validation_is_refused(client, provider, store, knob, value, reason):
    setattr(provider, knob, value)
    _, query = landing(client, through_provider(client))
    assert "signin" not in query
    assert "ID token was refused" in query["signin_error"]
    assert reason in query["signin_error"]
    assert failed_logins(store)[0]["detail"] == {"reason": "NotSignedIn"}


def test_a_replayed_callback_is_refused(client):
    callback = through_provider(client)
    _, first = landing(client, callback)
    assert "signin" in first
    _, second = landing(client, callback)
    assert "already used" in second["signin_error"]


def test_a_forged_state_is_refused(client):
    callback = through_provider(client)
    forged = callback.replace("state=", "state=x")
    _, query = landing(client, forged)
    assert "unknown or over" in query["signin_error"]


def test_the_person_refusing_at_the_provider_is_reported(client, provider):
    provider.deny = True
    _, query = landing(client, through_provider(client))
    assert "did not sign you in (access_denied)" in query["signin_error"]


def test_a_return_to_on_another_site_is_refused(client):
    for elsewhere in ("https://evil.example/cases", "//evil.example/x", "/\\evil.example"):
        answer = client.get("/auth/oidc/login", params={"return_to": elsewhere})
        assert answer.status_code == 400, elsewhere
        assert "not a page of the dashboard" in answer.json()["detail"]


# -- the provider failing --------------------------------------------------------------------------


def test_a_token_endpoint_error_is_reported_clearly(client, provider):
    provider.token_status = 500
    _, query = landing(client, through_provider(client))
    assert "HTTP 500 at its token endpoint" in query["signin_error"]


def test_an_unreachable_provider_is_a_502_naming_it(example_settings, store):
    with FakeOidcProvider() as gone:
        settings = sso_settings(example_settings, gone.url)
    with api(settings, store) as client:
        answer = client.get("/auth/oidc/login")
    assert answer.status_code == 502
    assert "cannot reach the identity provider" in answer.json()["detail"]


# -- configuration ---------------------------------------------------------------------------------


def test_without_oidc_settings_the_routes_say_it_is_not_configured(example_settings, store):
    with api(example_settings, store) as client:
        for answer in (
            client.get("/auth/oidc/login"),
            client.get("/auth/oidc/callback", params={"code": "c", "state": "s"}),
            client.post("/auth/oidc/exchange", json={"code": "c"}),
        ):
            assert answer.status_code == 404
            assert "single sign-on is not configured" in answer.json()["detail"]


def test_a_missing_client_secret_names_its_variable(example_settings, store, provider):
    settings = sso_settings(example_settings, provider.url).model_copy(update={"secrets": {}})
    with pytest.raises(MissingSecret, match="ESCUCHA_OIDC_CLIENT_SECRET"):
        oidc.begin(store, settings, redirect_uri="http://x/cb", return_to=None, now=utcnow())


# -- lifetimes -------------------------------------------------------------------------------------


def test_a_sign_in_left_at_the_provider_too_long_is_refused(settings, store, provider):
    users.add(store, "lucia", role="agent", password=None, email="lucia@example.com", now=utcnow())
    started = utcnow() - timedelta(minutes=11)
    url = oidc.begin(store, settings, redirect_uri="http://x/cb", return_to=None, now=started)
    state = parse_qs(urlsplit(url).query)["state"][0]
    with pytest.raises(NotSignedIn, match="more than 10 minutes"):
        oidc.finish(store, settings, code="c", state=state, redirect_uri="http://x/cb",
                    now=utcnow())  # fmt: skip


def test_a_one_time_code_expires_after_two_minutes(settings, store, provider):
    user = users.add(store, "lucia", role="agent", password=None, now=utcnow())
    issued = utcnow()
    url = oidc.begin(store, settings, redirect_uri="http://x/cb", return_to=None, now=issued)
    state = parse_qs(urlsplit(url).query)["state"][0]
    code = oidc.issue_code(store, state, user, issued)
    with pytest.raises(NotSignedIn, match="expired"):
        oidc.redeem(store, code, issued + timedelta(minutes=2, seconds=1))


def test_old_flows_are_purged_when_new_ones_start(settings, store, provider):
    old = utcnow() - timedelta(hours=2)
    oidc.begin(store, settings, redirect_uri="http://x/cb", return_to=None, now=old)
    oidc.begin(store, settings, redirect_uri="http://x/cb", return_to=None, now=utcnow())
    with store.read() as cur:
        assert cur.execute("SELECT count(*) FROM sign_in_flows").fetchone()[0] == 1
