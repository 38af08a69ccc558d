"""Single sign-on from the dashboard's side: the button, and the one-time code it comes back with,
against the real API and a loopback OpenID provider."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from pipeline.access import users
from pipeline.records import utcnow
from pipeline.settings import AuthSettings, OidcSettings, load_settings
from pipeline.store import Store
from tests.conftest import EXAMPLE
from tests.dashboard.conftest import LiveApi, dashboard, offered, serving
from tests.fakes.oidc import CLIENT_ID, CLIENT_SECRET, FakeOidcProvider


@pytest.fixture(scope="module")
def sso_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    folder = tmp_path_factory.mktemp("sso")
    with FakeOidcProvider() as provider:
        settings = load_settings(EXAMPLE).model_copy(
            update={
                "database": folder / "escucha.duckdb",
                "auth": AuthSettings(oidc=OidcSettings(issuer=provider.url, client_id=CLIENT_ID)),
                "secrets": {"ESCUCHA_OIDC_CLIENT_SECRET": SecretStr(CLIENT_SECRET)},
            }
        )
        store = Store.open(settings.database)
        users.add(store, "lucia", role="agent", password=None, email="Lucia@Example.com",
                  display_name="Lucía", teams=["atencion-es"], now=utcnow())  # fmt: skip
        with serving(settings, store) as live:
            yield live
        store.close()


def follow_the_button(url: str) -> dict[str, str]:
    """What a browser does after the click: API, provider, API's callback, back to the
    dashboard; the query the dashboard is opened with."""
    with httpx.Client(trust_env=False, follow_redirects=False) as browser:
        location = url
        for _ in range(3):
            answer = browser.get(location)
            assert answer.status_code == 302, answer.text
            location = answer.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_single_sign_on_from_the_button_to_a_session(sso_api: LiveApi) -> None:
    at = dashboard(sso_api)
    at.query_params["id"] = "C-000009"  # a link to a case, opened before signing in
    at.run()
    button = at.link_button[0]
    assert button.label == "Single sign-on"
    query = follow_the_button(button.proto.url)
    assert "signin_error" not in query
    assert query["id"] == "C-000009"  # back to the page the visitor was on

    at = dashboard(sso_api)  # the browser comes back to a new page load
    at.query_params["signin"] = query["signin"]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "signin" not in at.query_params  # the code leaves the address bar at once
    assert at.title[0].value == "Listening overview"
    assert "queue" in offered(at)
    assert "Lucía" in "\n".join(m.value for m in at.sidebar.markdown)

    again = dashboard(sso_api)  # the code works once
    again.query_params["signin"] = query["signin"]
    again.run()
    assert again.title[0].value == "Sign in"
    assert "Single sign-on did not work" in again.error[0].value
