"""Signing in and out, what each role is offered, sessions that end, and one's own account."""

from __future__ import annotations

import httpx
import pytest
from streamlit.testing.v1 import AppTest  # noqa: TID253 - testing the dashboard

from tests.dashboard.conftest import (
    PASSWORD,
    LiveApi,
    dashboard,
    offered,
    open_page,
    sign_in,
    texts,
)

EVERY_PAGE = {
    "overview", "crisis", "queue", "case", "mentions", "care", "sources", "admin", "account",
}  # fmt: skip


def sidebar_text(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in (*at.sidebar.markdown, *at.sidebar.caption))


def test_an_anonymous_visitor_sees_only_the_sign_in_form(live_api: LiveApi) -> None:
    at = dashboard(live_api).run()
    assert not at.exception
    assert at.title[0].value == "Sign in"
    assert offered(at) == {"Sign in"}  # the one page: no navigation to anything else
    assert [w.key for w in at.text_input] == ["signin_name", "signin_password"]
    assert not at.dataframe
    assert not at.metric
    assert not at.sidebar.button  # no sign-out, no name box: only the language switch
    with pytest.raises(ValueError, match="navigation page"):
        at.switch_page("views/queue.py")


def test_the_sign_in_form_speaks_spanish_first(live_api: LiveApi) -> None:
    at = dashboard(live_api, lang=None).run()
    assert at.title[0].value == "Iniciar sesión"
    assert at.text_input(key="signin_password").label == "Contraseña"


def test_a_wrong_password_shows_the_services_message(live_api: LiveApi) -> None:
    at = sign_in(dashboard(live_api).run(), "mateo", "not the password at all")
    assert "wrong user name or password" in at.error[0].value
    assert at.title[0].value == "Sign in"
    assert "auth_token" not in at.session_state
    assert offered(at) == {"Sign in"}


def test_an_agent_signs_in_and_sees_the_queue_but_not_admin(live_api: LiveApi) -> None:
    at = sign_in(dashboard(live_api).run(), "mateo")
    assert at.title[0].value == "Listening overview"
    assert offered(at) == EVERY_PAGE - {"admin"}
    shown = sidebar_text(at)
    assert "Mateo Agente" in shown
    assert "agent" in shown
    assert not any(w.key == "_actor" for w in at.text_input)  # no free-text name any more
    at.switch_page("views/queue.py").run()
    assert at.title[0].value == "Universal queue"
    # An agent sees their team's cases only (the API scopes them).
    assert len(at.dataframe[0].value) >= 1
    assert "mateo" not in (at.query_params.get("signin") or "")
    assert all(at.session_state["auth_token"] not in str(v) for v in at.query_params.values())


def test_a_viewer_has_no_queue_case_or_care_pages(live_api: LiveApi) -> None:
    at = dashboard(live_api, "victor").run()
    assert offered(at) == {"overview", "crisis", "mentions", "sources", "account"}
    at = open_page(at, "mentions")
    # Reading only: no label correction, no export, no link into cases.
    assert not [b for b in at.button if b.key in ("m_correct_go", "m_export_csv_go")]


def test_an_analyst_has_care_metrics_but_no_cases(live_api: LiveApi) -> None:
    at = dashboard(live_api, "ana.lista").run()
    assert offered(at) == {"overview", "crisis", "mentions", "care", "sources", "account"}
    at = open_page(at, "care")
    assert at.title[0].value == "Care metrics"
    assert "Agents and workload" not in [s.value for s in at.subheader]


def test_an_admin_is_offered_every_page(live_api: LiveApi) -> None:
    at = dashboard(live_api, "ada").run()
    assert offered(at) == EVERY_PAGE


def test_a_403_shows_the_services_reason_in_a_panel(live_api: LiveApi) -> None:
    at = open_page(dashboard(live_api, "celia"), "overview")  # sees the brand Celera only
    at.selectbox(key="ov_brand_en").set_value("Orbita").run()
    assert not at.exception
    assert "Your role does not allow this" in at.error[0].value
    assert "you do not see the brand" in at.error[0].value


def test_a_revoked_session_goes_back_to_the_sign_in_form(live_api: LiveApi) -> None:
    at = sign_in(dashboard(live_api).run(), "caduca")
    at = open_page(at, "queue")
    token = at.session_state["auth_token"]
    # The session ends elsewhere (expired, signed out in another tab, revoked by an admin).
    httpx.post(f"{live_api.url}/auth/logout", headers={"Authorization": f"Bearer {token}"})
    at.run()
    assert not at.exception
    assert at.title[0].value == "Sign in"
    assert "Your session has ended" in texts(at)
    assert "auth_token" not in at.session_state
    sign_in(at, "caduca")
    assert at.title[0].value != "Sign in"


def test_a_session_ending_mid_page_goes_back_to_the_sign_in_form(live_api: LiveApi) -> None:
    at = sign_in(dashboard(live_api).run(), "caduca")
    at = open_page(at, "overview")
    # The page's own API calls get the 401 (the shell's check already passed on this run).
    at.session_state["auth_token"] = "an-expired-session"
    at.session_state["auth_user"] = {"name": "caduca", "permissions": ["listening:read"]}
    at.selectbox(key="ov_platform_en").set_value("reddit").run()
    assert not at.exception
    assert at.title[0].value == "Sign in"
    assert "Your session has ended" in texts(at)


def test_signing_out(live_api: LiveApi) -> None:
    at = sign_in(dashboard(live_api).run(), "saliente")
    token = at.session_state["auth_token"]
    at.button(key="sign_out").click().run()
    assert at.title[0].value == "Sign in"
    assert "You have signed out." in texts(at)
    assert "auth_token" not in at.session_state
    ended = httpx.get(f"{live_api.url}/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert ended.status_code == 401


def test_single_sign_on_failures_come_back_as_text(live_api: LiveApi) -> None:
    at = dashboard(live_api)
    at.query_params["signin_error"] = "no **way** [x](javascript:alert(1))"
    at.run()
    assert "signin_error" not in at.query_params
    shown = at.error[0].value
    assert "Single sign-on did not work" in shown
    assert "\\*\\*way\\*\\*" in shown  # literal text, not Markdown
    assert "\\[x\\]\\(javascript\\:alert\\(1\\)\\)" in shown


def test_a_spent_or_unknown_sign_in_code_is_dropped(live_api: LiveApi) -> None:
    at = dashboard(live_api)
    at.query_params["signin"] = "not-a-real-code"
    at.run()
    assert not at.exception
    assert "signin" not in at.query_params  # the code never stays in the address bar
    assert "auth_token" not in at.session_state
    assert "Single sign-on did not work" in at.error[0].value
    assert at.title[0].value == "Sign in"


def test_no_single_sign_on_button_without_a_provider(live_api: LiveApi) -> None:
    at = dashboard(live_api)
    at.run()
    assert not at.link_button  # test_sso.py shows it with a provider configured


def test_my_account_creates_lists_and_revokes_a_token(live_api: LiveApi) -> None:
    at = open_page(dashboard(live_api, "mateo"), "account")
    assert at.title[0].value == "My account"
    assert at.selectbox(key="acct_token_role").options == ["agent", "analyst", "viewer"]
    at.text_input(key="acct_token_label").input("informe semanal")
    at.selectbox(key="acct_token_role").set_value("viewer")
    at.button(key="acct_token_go").click().run()
    assert not at.exception
    assert "Copy it now" in texts(at)
    secret = at.code[0].value
    me = httpx.get(f"{live_api.url}/auth/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json()["role"] == "viewer"
    listed = at.dataframe[0].value
    assert "informe semanal" in set(listed["label"])
    assert secret not in listed.to_string()

    at.run()  # shown once: gone on the next run
    assert not at.code
    token_id = next(row["id"] for _, row in listed.iterrows() if row["label"] == "informe semanal")
    at.selectbox(key="acct_revoke_pick").set_value(token_id)
    at.button(key="acct_revoke_go").click().run()
    assert f"Token {token_id} revoked." in texts(at)
    after = httpx.get(f"{live_api.url}/auth/me", headers={"Authorization": f"Bearer {secret}"})
    assert after.status_code == 401


def test_changing_my_password_signs_me_out(live_api: LiveApi) -> None:
    at = sign_in(dashboard(live_api).run(), "cambia")
    at = open_page(at, "account")
    at.text_input(key="acct_pw_current").input("not my password")
    at.text_input(key="acct_pw_new").input("una clave nueva 2026")
    at.text_input(key="acct_pw_again").input("una clave nueva 2026")
    at.button(key="acct_pw_go").click().run()
    assert "the current password is not right" in at.error[0].value
    assert at.title[0].value == "My account"  # a wrong current password is not a lost session

    at.text_input(key="acct_pw_current").input(PASSWORD)
    at.text_input(key="acct_pw_new").input("una clave nueva 2026")
    at.text_input(key="acct_pw_again").input("una clave nueva 2026")
    at.button(key="acct_pw_go").click().run()
    assert at.title[0].value == "Sign in"
    assert "Password changed" in texts(at)
    sign_in(at, "cambia", "una clave nueva 2026")
    assert at.title[0].value == "My account"  # back where they were
