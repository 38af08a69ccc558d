"""The Admin page: people and their roles, the audit log, and privacy requests."""

from __future__ import annotations

import json

import httpx
from streamlit.testing.v1 import AppTest  # noqa: TID253 - testing the dashboard

from tests.dashboard.conftest import LiveApi, dashboard, open_page, sign_in, texts


def admin_page(live_api: LiveApi) -> AppTest:
    at = open_page(dashboard(live_api, "ada"), "admin")
    assert at.title[0].value == "Administration"
    return at


def people(at: AppTest) -> dict[str, dict]:
    table = at.dataframe[0].value
    return {row["User name"]: dict(row) for _, row in table.iterrows()}


def can_sign_in(live_api: LiveApi, name: str, password: str) -> bool:
    answer = httpx.post(f"{live_api.url}/auth/login", json={"name": name, "password": password})
    return answer.status_code == 200


def test_an_admin_adds_a_person_with_a_generated_password(live_api: LiveApi) -> None:
    at = admin_page(live_api)
    assert {"ada", "mateo", "victor"} <= set(people(at))
    at.text_input(key="adm_new_name").input("nuria")
    at.text_input(key="adm_new_display").input("Nuria <b>Nueva</b>")
    at.selectbox(key="adm_new_role").set_value("agent")
    at.multiselect(key="adm_new_teams").set_value(["care-en"])
    at.button(key="adm_add_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "nuria added with the role agent." in texts(at)
    assert "Copy it now: it will not be shown again." in texts(at)
    password = at.code[0].value
    assert len(password) >= 16

    listed = people(at)["nuria"]
    assert listed["Role"] == "agent"
    assert listed["Teams"] == "care-en"
    assert listed["State"] == "active"
    assert listed["Name"] == "Nuria <b>Nueva</b>"  # a table cell: text, never HTML

    at.run()
    assert not at.code  # shown once
    # The new person signs in through the form with the password they were given.
    newcomer = sign_in(dashboard(live_api).run(), "nuria", password)
    assert newcomer.title[0].value == "Listening overview"
    assert "Nuria \\<b\\>Nueva\\</b\\>" in "\n".join(m.value for m in newcomer.sidebar.markdown)


def test_a_typed_password_that_breaks_the_rules_shows_why(live_api: LiveApi) -> None:
    at = admin_page(live_api)
    at.text_input(key="adm_new_name").input("pablo")
    at.radio(key="adm_new_mode").set_value("password_type")
    at.text_input(key="adm_new_password").input("corta")
    at.button(key="adm_add_go").click().run()
    assert "at least 10 characters" in at.error[0].value
    assert "pablo" not in people(at)


def test_an_admin_changes_a_role_disables_and_resets_a_password(live_api: LiveApi) -> None:
    live_api.send(
        "POST", "/users", {"name": "rosa", "role": "viewer", "password": "tiene-una-clave-1"}
    )
    at = admin_page(live_api)
    at.selectbox(key="adm_pick").set_value("rosa").run()
    at.selectbox(key="adm_role_rosa").set_value("analyst")
    at.button(key="adm_save").click().run()
    assert "Changes saved for rosa." in texts(at)
    assert people(at)["rosa"]["Role"] == "analyst"

    at.button(key="adm_reset").click().run()
    assert "Password reset" in texts(at)
    password = at.code[0].value
    assert can_sign_in(live_api, "rosa", password)
    assert not can_sign_in(live_api, "rosa", "tiene-una-clave-1")

    at.selectbox(key="adm_pick").set_value("rosa").run()
    at.toggle(key="adm_disabled_rosa").set_value(True)
    at.button(key="adm_save").click().run()
    assert people(at)["rosa"]["State"] == "disabled"
    assert not can_sign_in(live_api, "rosa", password)


def test_the_audit_log_filters_and_exports(live_api: LiveApi) -> None:
    live_api.send("POST", "/users", {"name": "auditada", "role": "viewer"})
    at = admin_page(live_api)
    assert "The log's chain is intact." in texts(at)
    at.text_input(key="adm_audit_action").input("user.").run()
    log = at.dataframe[1].value
    assert len(log) >= 1
    assert all(action.startswith("user.") for action in log["action"])
    assert "auditada" in set(log["target"])
    at.selectbox(key="adm_audit_actor_en").set_value("ada").run()
    assert set(at.dataframe[1].value["actor"]) == {"ada"}

    at.button(key="adm_audit_csv_go").click().run()
    csv = at.session_state["adm_audit_csv"].decode()
    assert csv.splitlines()[0].startswith("id,")
    assert "auditada" in csv


def test_a_tampered_audit_log_is_shown_as_such(live_api: LiveApi) -> None:
    with live_api.store.transaction() as cur:
        first, target = cur.execute(
            "SELECT id, target FROM audit_log ORDER BY id DESC LIMIT 1"
        ).fetchone()
        cur.execute("UPDATE audit_log SET target = 'someone else' WHERE id = ?", [first])
    try:
        at = admin_page(live_api)
        assert f"The audit log was changed outside the product from entry {first}" in texts(at)
        assert at.error
    finally:
        with live_api.store.transaction() as cur:
            cur.execute("UPDATE audit_log SET target = ? WHERE id = ?", [target, first])


def test_a_privacy_export_and_an_erasure(live_api: LiveApi) -> None:
    at = admin_page(live_api)
    at.text_input(key="adm_author").input("x:fan7")
    at.button(key="adm_export_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    document = json.loads(at.session_state["adm_export"][1])
    assert document["summary"]["mentions"] == 1
    assert "Gracias Orbita" in json.dumps(document, ensure_ascii=False)
    assert "Gracias Orbita" not in texts(at)  # downloaded, not put on the screen

    assert at.button(key="adm_erase_go").disabled  # not without the confirmation
    at.checkbox(key="adm_erase_ok").check().run()
    at.button(key="adm_erase_go").click().run()
    assert "Data erased." in texts(at)
    assert "Gracias Orbita" not in texts(at)
    again = httpx.post(
        f"{live_api.url}/privacy/export",
        json={"author": "x:fan7"},
        headers={"Authorization": f"Bearer {live_api.token('ada')}"},
    )
    assert again.status_code == 404  # nothing is held about them any more


def test_only_admins_get_the_admin_page(live_api: LiveApi) -> None:
    at = dashboard(live_api, "marta").run()
    at.switch_page("views/overview.py").run()
    try:
        at.switch_page("views/admin.py")
    except ValueError:
        return
    raise AssertionError("a manager was offered the Admin page")
