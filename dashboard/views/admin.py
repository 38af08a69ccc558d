"""Admin: the people who sign in and their roles, the audit log, and privacy requests."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import pandas as pd
import streamlit as st  # noqa: TID253 - the dashboard is the one place streamlit belongs

from dashboard import ui
from dashboard.ui import tr

AUDIT_PAGE = 200


def generated_password(name: str) -> str:
    """A random password of 20 characters that does not contain the user name (the API's rule)."""
    while True:
        candidate = secrets.token_urlsafe(15)
        if name.lower() not in candidate.lower():
            return candidate


def _show_once() -> None:
    """A password just set by this admin, shown on this one run and then forgotten."""
    once = st.session_state.pop("adm_once", None)
    if not once:
        return
    message, name, password = once
    st.success(message, icon=":material/check_circle:")
    if password:
        st.warning(tr("password_once", name=ui.escape_markdown(name)), icon=":material/key:")
        st.code(password, language=None)


def _state(person: dict[str, Any]) -> str:
    if person.get("disabled"):
        state = tr("state_disabled")
    elif (ui.parse_time(person.get("locked_until")) or ui.now()) > ui.now():
        state = tr("state_locked")
    else:
        state = tr("state_active")
    return state if person.get("has_password", True) else f"{state} · {tr('state_sso')}"


def _people_table(people: list[dict[str, Any]]) -> None:
    st.caption(tr("people_total", n=len(people)))
    rows = [
        {
            tr("col_name"): p["name"],
            tr("col_display_name"): p.get("display_name") or "",
            tr("col_role"): tr(f"role_{p.get('role')}"),
            tr("col_teams"): ", ".join(p.get("teams") or []),
            tr("col_brands"): ", ".join(p.get("brands") or []),
            tr("col_state"): _state(p),
            tr("col_email"): p.get("email") or "",
            tr("col_last_login"): ui.parse_time(p.get("last_login_at")),
        }
        for p in people
    ]
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        width="stretch",
        column_config={tr("col_last_login"): ui.datetime_column()},
    )


def _add_person(teams: list[str], brands: list[str]) -> None:
    modes = ["password_generate", "password_type", "password_sso"]
    with st.form("adm_add", clear_on_submit=True, border=True):
        st.markdown(f"**{tr('person_add')}**")
        cols = st.columns(3)
        name = cols[0].text_input(tr("col_name"), key="adm_new_name", placeholder="ana.garcia")
        display = cols[1].text_input(tr("display_name"), key="adm_new_display")
        email = cols[2].text_input(tr("email"), key="adm_new_email")
        cols = st.columns(3)
        role = cols[0].selectbox(
            tr("role"), ui.ROLES, index=ui.ROLES.index("agent"), key="adm_new_role",
            format_func=ui.role_label(),
        )  # fmt: skip
        picked_teams = cols[1].multiselect(
            tr("teams"), teams, key="adm_new_teams", help=tr("teams_help"), placeholder="…"
        )
        picked_brands = cols[2].multiselect(
            tr("brands"), brands, key="adm_new_brands", help=tr("brands_help"), placeholder="…"
        )
        halves = st.columns(2)
        mode = halves[0].radio(
            tr("password_mode"), modes, key="adm_new_mode", format_func=ui.translator(),
            horizontal=True,
        )  # fmt: skip
        typed = halves[1].text_input(
            tr("new_password"), type="password", key="adm_new_password",
            help=tr("password_rules"), autocomplete="new-password",
        )  # fmt: skip
        submitted = st.form_submit_button(
            tr("person_add"), key="adm_add_go", icon=":material/person_add:"
        )
    if not submitted:
        return
    name = name.strip()
    if not name:
        st.warning(tr("name_required"))
        return
    if mode == "password_type" and not typed:
        st.warning(tr("password_required"))
        return
    password = {"password_generate": generated_password(name), "password_type": typed}.get(
        mode or ""
    )
    created = ui.attempt(
        ui.client().add_user, name, role or "viewer", password=password,
        display_name=display.strip() or None, email=email.strip() or None,
        teams=picked_teams, brands=picked_brands,
    )  # fmt: skip
    if created is not None:
        who = ui.escape_markdown(created["name"])
        message = tr("person_added", name=who, role=tr(f"role_{role}"))
        # A password the admin typed is theirs already; only a generated one needs showing.
        shown = password if mode == "password_generate" else None
        st.session_state["adm_once"] = (message, created["name"], shown)
        st.rerun()


def _change_person(people: list[dict[str, Any]], teams: list[str], brands: list[str]) -> None:
    by_name = {p["name"]: p for p in people}
    with st.container(border=True):
        st.markdown(f"**{tr('person_change')}**")
        name = st.selectbox(tr("person_pick"), list(by_name), index=None, key="adm_pick")
        if not name:
            return
        person = by_name[name]
        current_teams = list(person.get("teams") or [])
        current_brands = list(person.get("brands") or [])
        with st.form(f"adm_edit_{name}", border=False):
            cols = st.columns(4)
            role = cols[0].selectbox(
                tr("role"), ui.ROLES, index=ui.ROLES.index(person["role"]),
                key=f"adm_role_{name}", format_func=ui.role_label(),
            )  # fmt: skip
            new_teams = cols[1].multiselect(
                tr("teams"), sorted({*teams, *current_teams}), default=current_teams,
                key=f"adm_teams_{name}", placeholder="…",
            )  # fmt: skip
            new_brands = cols[2].multiselect(
                tr("brands"), sorted({*brands, *current_brands}), default=current_brands,
                key=f"adm_brands_{name}", help=tr("brands_help"), placeholder="…",
            )  # fmt: skip
            disabled = cols[3].toggle(
                tr("person_disabled"), value=bool(person.get("disabled")),
                key=f"adm_disabled_{name}", help=tr("person_disabled_help"),
            )  # fmt: skip
            saved = st.form_submit_button(tr("save"), key="adm_save", icon=":material/save:")
        if saved:
            wanted = {"role": role, "teams": new_teams, "brands": new_brands, "disabled": disabled}
            was = {
                "role": person["role"], "teams": current_teams, "brands": current_brands,
                "disabled": bool(person.get("disabled")),
            }  # fmt: skip
            changes = {k: v for k, v in wanted.items() if v != was[k]}
            if changes and ui.attempt(ui.client().update_user, name, **changes) is not None:
                message = tr("person_saved", name=ui.escape_markdown(name))
                st.session_state["adm_once"] = (message, name, None)
                st.rerun()
        if st.button(
            tr("password_reset"),
            key="adm_reset",
            icon=":material/lock_reset:",
            help=tr("password_reset_help"),
        ):
            password = generated_password(name)
            done = ui.attempt(ui.client().reset_password, name, password)
            if done is not None:
                message = tr("password_reset_done", n=done.get("credentials_ended", 0))
                st.session_state["adm_once"] = (message, name, password)
                st.rerun()


def _people() -> None:
    _show_once()
    people: list[dict[str, Any]] = ui.fetch(ui.client().users)
    cfg = ui.ui_config()
    teams = ui.team_names(cfg)
    brands = [b["name"] for b in cfg.get("brands", [])]
    _people_table(people)
    _add_person(teams, brands)
    _change_person(people, teams, brands)


def _audit_frame(items: list[dict[str, Any]]) -> pd.DataFrame:
    frame = ui.frame(items, "happened_at")
    if "detail" in frame:
        frame["detail"] = frame["detail"].map(
            lambda d: d if d is None or isinstance(d, str) else json.dumps(d, ensure_ascii=False)
        )
    return frame


def _audit() -> None:
    people = [p["name"] for p in ui.fetch(ui.client().users)]
    cols = st.columns([2, 2, 1])
    with cols[0]:
        actor = ui.choose("audit_person", [*people, "anonymous"], key="adm_audit_actor")
    action = cols[1].text_input(
        tr("audit_action"), key="adm_audit_action", help=tr("audit_action_help")
    )
    page = int(cols[2].number_input(tr("page"), min_value=1, step=1, key="adm_audit_page"))
    found = ui.fetch(
        ui.client().audit, actor=actor, action=action.strip() or None, limit=AUDIT_PAGE,
        offset=(page - 1) * AUDIT_PAGE,
    )  # fmt: skip
    if found.get("tampered_at") is not None:
        st.error(tr("audit_tampered", id=found["tampered_at"]), icon=":material/gpp_bad:")
    else:
        st.caption(":material/verified: " + tr("audit_intact"))
    st.caption(tr("audit_total", n=f"{found['total']:,}"))
    if found["items"]:
        st.dataframe(
            _audit_frame(found["items"]),
            hide_index=True,
            width="stretch",
            column_config={"happened_at": ui.datetime_column(seconds=True)},
        )
    else:
        st.info(tr("none_yet"))
    if st.button(tr("audit_export_prepare"), key="adm_audit_csv_go", icon=":material/download:"):
        data = ui.attempt(ui.client().audit_export)
        if data is not None:
            st.session_state["adm_audit_csv"] = data
    if "adm_audit_csv" in st.session_state:
        st.download_button(
            tr("audit_export_download"), st.session_state["adm_audit_csv"],
            file_name=f"audit-{ui.now():%Y%m%d-%H%M}.csv", mime="text/csv",
            key="adm_audit_csv_dl", icon=":material/save:",
        )  # fmt: skip


def _file_name(author: str) -> str:
    return "privacy-" + (re.sub(r"[^A-Za-z0-9._-]+", "_", author).strip("_") or "person") + ".json"


def _privacy() -> None:
    st.caption(tr("privacy_caption"))
    author = st.text_input(tr("privacy_author"), key="adm_author", placeholder="x:handle").strip()
    left, right = st.columns(2)
    with left, st.container(border=True):
        st.markdown(f"**{tr('privacy_export')}**")
        if st.button(tr("privacy_export"), key="adm_export_go", icon=":material/inventory_2:"):
            if not author:
                st.warning(tr("author_required"))
            else:
                document = ui.attempt(ui.client().privacy_export, author)
                if document is not None:
                    data = json.dumps(document, ensure_ascii=False, indent=2).encode()
                    st.session_state["adm_export"] = (author, data, document.get("summary"))
        held = st.session_state.get("adm_export")
        if held and held[0] == author:
            st.caption(tr("privacy_exported"))
            st.json(held[2] or {}, expanded=True)  # counts only: no one's text on screen
            st.download_button(
                tr("privacy_export_download"), held[1], file_name=_file_name(author),
                mime="application/json", key="adm_export_dl", icon=":material/save:",
            )  # fmt: skip
    with right, st.container(border=True):
        st.markdown(f"**{tr('privacy_erase')}**")
        sure = st.checkbox(tr("privacy_erase_confirm"), key="adm_erase_ok")
        if st.button(
            tr("privacy_erase"),
            key="adm_erase_go",
            icon=":material/delete_forever:",
            type="primary",
            disabled=not sure,
        ):
            if not author:
                st.warning(tr("author_required"))
            else:
                report = ui.attempt(ui.client().privacy_erase, author)
                if report is not None:
                    st.success(tr("privacy_erased"), icon=":material/check_circle:")
                    st.json(report, expanded=True)


def main() -> None:
    st.title(tr("admin_title"))
    people, audit, privacy = st.tabs([tr("tab_people"), tr("tab_audit"), tr("tab_privacy")])
    with people:
        _people()
    with audit:
        _audit()
    with privacy:
        _privacy()


main()
