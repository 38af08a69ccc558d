"""The dashboard's entry point: ``streamlit run dashboard/app.py`` (API at ``ESCUCHA_API_URL``)."""

from __future__ import annotations

import os

import streamlit as st  # noqa: TID253 - the dashboard is the one place streamlit belongs

from dashboard import ui
from dashboard.i18n import LANGUAGES


def _keep(widget_key: str, key: str) -> None:
    st.session_state[key] = st.session_state[widget_key]


def main() -> None:
    st.set_page_config(page_title="escucha", page_icon="👂", layout="wide")
    if "api_url" not in st.session_state:
        st.session_state["api_url"] = os.environ.get("ESCUCHA_API_URL", ui.DEFAULT_API_URL)
    if "lang" not in st.session_state:
        try:
            default = ui.client().ui_config().get("ui_language", "es")
        except Exception:  # the pages show the error panel; the shell must still draw
            default = "es"
        st.session_state["lang"] = default if default in LANGUAGES else "es"

    pages = [
        st.Page("views/overview.py", title=ui.tr("nav_overview"), icon="📈", default=True),
        st.Page("views/queue.py", title=ui.tr("nav_queue"), icon="📥"),
        st.Page("views/case.py", title=ui.tr("nav_case"), icon="🗂️"),
        st.Page("views/mentions.py", title=ui.tr("nav_mentions"), icon="🔎"),
        st.Page("views/care.py", title=ui.tr("nav_care"), icon="⏱️"),
        st.Page("views/sources.py", title=ui.tr("nav_sources"), icon="🛰️"),
    ]
    page = st.navigation(pages)
    # Widgets' own state is dropped when the page changes; keep the choices in plain keys.
    st.session_state["_lang"] = st.session_state["lang"]
    st.session_state["_actor"] = st.session_state.get("actor") or ""
    with st.sidebar:
        st.segmented_control(
            ui.tr("language"),
            list(LANGUAGES),
            key="_lang",
            format_func=lambda code: {"es": "Español", "en": "English"}[code],
            required=True,
            on_change=_keep,
            args=("_lang", "lang"),
        )
        st.text_input(
            ui.tr("actor"),
            key="_actor",
            help=ui.tr("actor_help"),
            placeholder="community-manager",
            on_change=_keep,
            args=("_actor", "actor"),
        )
    page.run()


main()
