"""Signing in: the form an anonymous visitor sees, and the way back from single sign-on."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import streamlit as st  # noqa: TID253 - the dashboard is the one place streamlit belongs

from dashboard import ui
from dashboard.client import ApiError, ApiUnavailable
from dashboard.ui import tr

SSO_ERROR = "signin_error"  # session-state key: why single sign-on failed, to show on the form


def sso_return() -> None:
    """Handle ``?signin=<one-time code>`` or ``?signin_error=…`` from single sign-on, and drop
    them from the address bar (the code is spent either way)."""
    code = st.query_params.get("signin")
    error = st.query_params.get("signin_error")
    if code is None and error is None:
        return
    for name in ("signin", "signin_error"):
        if name in st.query_params:
            del st.query_params[name]
    if error:
        st.session_state[SSO_ERROR] = str(error)[:300]
    if not code:
        return
    try:
        answer = ui.client().oidc_exchange(str(code))
    except ApiError as exc:
        st.session_state[SSO_ERROR] = exc.detail
    else:
        ui.start_session(answer)


def _sso_url() -> str:
    """``/auth/oidc/login`` with ``return_to`` = this dashboard page and its query (as a path:
    the API knows the dashboard's own address, ``service.dashboard_url``, and refuses anything
    outside it)."""
    try:
        path = urlsplit(str(st.context.url or "")).path or "/"  # the URL holds no query
    except Exception:  # no browser context (tests, bare mode)
        path = "/"
    query = urlencode([(k, v) for k, v in st.query_params.items() if not k.startswith("signin")])
    target = path + (f"?{query}" if query else "")
    return f"{ui.client().base_url}/auth/oidc/login?return_to={quote(target, safe='/')}"


def _sso_enabled(health: dict[str, Any]) -> bool:
    return bool(health.get("sso"))


def form() -> None:
    """The sign-in page: user name and password, and single sign-on when it is set up."""
    st.title(tr("signin_title"))
    st.caption(tr("signin_caption"))
    flash = st.session_state.pop(ui.SIGNIN_FLASH, None)
    if flash:
        st.info(tr(str(flash)), icon=":material/lock:")
    sso_error = st.session_state.pop(SSO_ERROR, None)
    if sso_error:
        st.error(
            tr("signin_sso_failed", detail=ui.escape_markdown(str(sso_error))),
            icon=":material/error:",
        )
    health: dict[str, Any] = {}
    try:
        health = ui.client().health()
    except ApiError as exc:  # the form still draws: the panel says what is wrong
        ui.show_error(exc)

    with st.form("signin", border=True):
        name = st.text_input(tr("signin_name"), key="signin_name", autocomplete="username")
        password = st.text_input(
            tr("signin_password"),
            type="password",
            key="signin_password",
            autocomplete="current-password",
        )
        submitted = st.form_submit_button(
            tr("signin_submit"), key="signin_submit", type="primary", icon=":material/login:"
        )
    if submitted:
        if not name.strip() or not password:
            st.warning(tr("signin_missing"))
        else:
            try:
                with st.spinner(tr("loading")):
                    answer = ui.client().login(name.strip(), password)
            except ApiUnavailable as exc:
                ui.show_error(exc)
            except ApiError as exc:
                st.error(
                    tr("signin_failed", detail=ui.escape_markdown(exc.detail)),
                    icon=":material/block:",
                )
            else:
                ui.start_session(answer)
                st.rerun()
    if _sso_enabled(health):
        st.link_button(tr("signin_sso"), _sso_url(), icon=":material/key:")
