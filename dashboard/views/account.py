"""My account: who I am signed in as, my API tokens, and my password."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st  # noqa: TID253 - the dashboard is the one place streamlit belongs

from dashboard import ui
from dashboard.client import ApiError
from dashboard.ui import tr


def _who() -> None:
    person = ui.user()
    ui.fields(
        [
            (tr("col_name"), person.get("name") or ""),
            (tr("col_display_name"), person.get("display_name") or ""),
            (tr("col_role"), tr(f"role_{person.get('role')}")),
            (tr("col_teams"), ", ".join(person.get("teams") or []) or "—"),
            (tr("col_brands"), ", ".join(person.get("brands") or []) or "—"),
            (tr("account_via"), person.get("via") or ""),
        ]
    )


def _tokens() -> None:
    st.subheader(tr("tokens_title"))
    st.caption(tr("tokens_caption"))
    once = st.session_state.pop("acct_token_once", None)
    if once:
        label, secret = once
        st.warning(tr("token_once", label=ui.escape_markdown(label)), icon=":material/key:")
        st.code(secret, language=None)
    flash = st.session_state.pop("acct_flash", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")

    held: list[dict[str, Any]] = ui.fetch(ui.client().tokens)
    if held:
        frame = pd.DataFrame(held)
        keep = [
            c
            for c in ("id", "label", "role", "created_at", "expires_at", "last_used_at",
                      "revoked_at")
            if c in frame
        ]  # fmt: skip
        st.dataframe(frame[keep], hide_index=True, width="stretch")
    else:
        st.caption(tr("none_yet"))

    # A token's role is never above one's own: offer one's role and those below it.
    mine = str(ui.user().get("role") or "viewer")
    roles = ui.ROLES[ui.ROLES.index(mine) :] if mine in ui.ROLES else [mine]
    with st.form("acct_token", clear_on_submit=True, border=True):
        st.markdown(f"**{tr('token_create')}**")
        cols = st.columns([3, 2, 1])
        label = cols[0].text_input(tr("token_label"), key="acct_token_label", max_chars=100)
        role = cols[1].selectbox(
            tr("token_role"), roles, key="acct_token_role", format_func=ui.role_label()
        )
        days = cols[2].number_input(
            tr("token_days"), min_value=1, max_value=3650, value=90, step=1, key="acct_token_days"
        )
        create = st.form_submit_button(
            tr("token_create"), key="acct_token_go", icon=":material/add:"
        )
    if create:
        if not label.strip():
            st.warning(tr("label_required"))
        else:
            made = ui.attempt(ui.client().create_token, label.strip(), int(days), role)
            if made is not None:
                st.session_state["acct_token_once"] = (label.strip(), made["token"])
                st.rerun()

    active = [t for t in held if not t.get("revoked_at")]
    if active:
        cols = st.columns([3, 1], vertical_alignment="bottom")
        labels = {t["id"]: f"{t.get('label') or ''} · {t['id']}" for t in active}
        picked = cols[0].selectbox(
            tr("token_pick"), list(labels), key="acct_revoke_pick", format_func=labels.__getitem__
        )
        revoke = cols[1].button(tr("token_revoke"), key="acct_revoke_go", icon=":material/delete:")
        if revoke and picked and ui.attempt(ui.client().revoke_token, picked) is not None:
            st.session_state["acct_flash"] = tr("token_revoked", id=picked)
            st.rerun()


def _password() -> None:
    st.subheader(tr("password_title"))
    with st.form("acct_password", clear_on_submit=True, border=True):
        current = st.text_input(
            tr("password_current"), type="password", key="acct_pw_current",
            autocomplete="current-password",
        )  # fmt: skip
        new = st.text_input(
            tr("password_new"), type="password", key="acct_pw_new", help=tr("password_rules"),
            autocomplete="new-password",
        )  # fmt: skip
        again = st.text_input(
            tr("password_repeat"), type="password", key="acct_pw_again",
            autocomplete="new-password",
        )  # fmt: skip
        change = st.form_submit_button(
            tr("password_change"), key="acct_pw_go", icon=":material/lock:"
        )
    if not change:
        return
    if not current or not new:
        st.warning(tr("password_required"))
    elif new != again:
        st.warning(tr("password_mismatch"))
    else:
        try:
            ui.client().change_password(current, new)
        except ApiError as exc:  # a wrong current password is a 403; a dead session a 401
            ui.show_error(exc)
        else:
            # Every session of the account ended, this one too: sign in again with the new one.
            ui.end_session("password_changed_signin")
            st.rerun()


def main() -> None:
    st.title(tr("account_title"))
    _who()
    _tokens()
    _password()


main()
