"""The dashboard's entry point: ``streamlit run dashboard/app.py`` (API at ``ESCUCHA_API_URL``).

Until someone signs in it shows only the sign-in form (with a single sign-on button when the
service has ``[auth.oidc]``); then the pages their role may use.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import PurePosixPath

import streamlit as st  # noqa: TID253 - the dashboard is the one place streamlit belongs

from dashboard import signin, ui
from dashboard.client import ApiError, NotSignedIn
from dashboard.i18n import LANGUAGES

# (script, title key, icon, the permission that shows it); the first is the default page.
PAGES: tuple[tuple[str, str, str, str], ...] = (
    ("views/overview.py", "nav_overview", ":material/monitoring:", "listening:read"),
    ("views/queue.py", "nav_queue", ":material/inbox:", "cases:read"),
    ("views/case.py", "nav_case", ":material/folder_open:", "cases:read"),
    ("views/mentions.py", "nav_mentions", ":material/search:", "listening:read"),
    ("views/crisis.py", "nav_crisis", ":material/crisis_alert:", "listening:read"),
    ("views/care.py", "nav_care", ":material/timer:", "care:metrics"),
    ("views/sources.py", "nav_sources", ":material/sensors:", "listening:read"),
    ("views/admin.py", "nav_admin", ":material/admin_panel_settings:", "users:admin"),
    ("views/account.py", "nav_account", ":material/account_circle:", "account"),
)


def _keep(widget_key: str, key: str) -> None:
    st.session_state[key] = st.session_state[widget_key]


def _language_switch() -> None:
    # Widgets' own state is dropped when the page changes; keep the choice in a plain key.
    st.session_state["_lang"] = ui.lang()
    st.segmented_control(
        ui.tr("language"),
        list(LANGUAGES),
        key="_lang",
        format_func=lambda code: {"es": "Español", "en": "English"}[code],
        required=True,
        on_change=_keep,
        args=("_lang", "lang"),
    )


def _who() -> None:
    """Who is signed in, and the way out."""
    person = ui.user()
    st.caption(ui.tr("signed_in_as"))
    name = ui.escape_markdown(str(person.get("display_name") or person.get("name") or ""))
    st.markdown(f"**{name}** · {ui.tr('role_' + str(person.get('role')))}")
    if st.button(ui.tr("sign_out"), key="sign_out", icon=":material/logout:"):
        # Already ended, or the API is away: forget the session here all the same.
        with contextlib.suppress(ApiError):
            ui.client().logout()
        ui.end_session("signed_out")
        st.rerun()


def _refresh_user() -> bool:
    """Ask the API who this session is (role changes and revocations apply at once)."""
    try:
        st.session_state[ui.USER] = ui.client().me()
    except NotSignedIn:
        ui.end_session("session_ended")
        return False
    except ApiError as exc:
        ui.show_error(exc)
        st.stop()
    return True


def main() -> None:
    st.set_page_config(page_title="escucha", page_icon=":material/hearing:", layout="wide")
    if "api_url" not in st.session_state:
        st.session_state["api_url"] = os.environ.get("ESCUCHA_API_URL", ui.DEFAULT_API_URL)
    signin.sso_return()

    if not (ui.signed_in() and _refresh_user()):
        # Every page's address answers with the sign-in form, so a link to /case?id=… asks the
        # visitor to sign in (instead of "page not found") and lands on the case afterwards.
        title = ui.tr("signin_title")
        forms = [st.Page(signin.form, title=title, icon=":material/login:", default=True)]
        forms += [
            st.Page(
                signin.form,
                title=title,
                icon=":material/login:",
                url_path=PurePosixPath(script).stem,
            )
            for script, *_ in PAGES[1:]
        ]
        page = st.navigation(forms, position="hidden")
        with st.sidebar:
            _language_switch()
        page.run()
        return

    if "lang" not in st.session_state:
        try:
            default = ui.client().ui_config().get("ui_language", "es")
        except ApiError:  # the pages show the error panel; the shell must still draw
            default = "es"
        st.session_state["lang"] = default if default in LANGUAGES else "es"

    first = True
    pages = []
    for script, title, icon, permission in PAGES:
        if ui.may(permission):
            pages.append(st.Page(script, title=ui.tr(title), icon=icon, default=first))
            first = False
    page = st.navigation(pages)
    with st.sidebar:
        _language_switch()
        _who()
    try:
        page.run()
    except NotSignedIn:
        ui.session_ended()
    except ApiError as exc:  # a call a page did not guard: a panel, not a traceback
        ui.show_error(exc)


main()
