"""What every page shares: the API client and who is signed in, the language, error panels,
filters and safe text."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import pandas as pd
import streamlit as st  # noqa: TID253 - the dashboard is the one place streamlit belongs
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, format_timedelta, get_datetime_format

from dashboard.client import ApiError, ApiUnavailable, Client, NotSignedIn
from dashboard.i18n import STRINGS, t

T = TypeVar("T")

DEFAULT_API_URL = "http://127.0.0.1:8000"
PERIODS: dict[str, timedelta | None] = {
    "period_24h": timedelta(hours=24),
    "period_7d": timedelta(days=7),
    "period_30d": timedelta(days=30),
    "period_90d": timedelta(days=90),
    "period_all": None,
}


# -- client, session, language ---------------------------------------------------------------------

# The session's bearer token lives here, in this person's session state only: never in the URL,
# never in a cache shared between sessions, never in a log line.
TOKEN = "auth_token"  # noqa: S105 - the session-state key, not a secret
USER = "auth_user"  # /auth/me: name, display_name, role, teams, brands, via, permissions
SIGNIN_FLASH = "signin_flash"  # a message key for the sign-in form (signed out, session ended)
# The roles, most trusted first, as the API ranks them (it checks every choice made with these).
ROLES: list[str] = ["admin", "manager", "agent", "analyst", "viewer"]


@st.cache_resource(show_spinner=False)
def _transport() -> httpx.HTTPTransport:
    """One connection pool for every session; each session's client carries its own token."""
    return httpx.HTTPTransport()


def client() -> Client:
    """This session's API client for the URL the entry point chose (``ESCUCHA_API_URL``)."""
    url = str(st.session_state.get("api_url", DEFAULT_API_URL)).rstrip("/")
    held = st.session_state.get("_client")
    if not isinstance(held, Client) or held.base_url != url:
        held = Client(url, transport=_transport())
        st.session_state["_client"] = held
    held.token = st.session_state.get(TOKEN)
    return held


def signed_in() -> bool:
    return bool(st.session_state.get(TOKEN))


def start_session(answer: dict[str, Any]) -> None:
    """Keep the session ``/auth/login`` (or the single sign-on exchange) answered."""
    st.session_state[TOKEN] = answer["token"]
    st.session_state[USER] = answer["user"]
    st.session_state.pop(SIGNIN_FLASH, None)


def end_session(message_key: str | None = None) -> None:
    """Forget the session here (the API is told by ``Client.logout``); the sign-in form shows
    ``message_key`` next."""
    for key in (TOKEN, USER):
        st.session_state.pop(key, None)
    if message_key:
        st.session_state[SIGNIN_FLASH] = message_key


def session_ended() -> NoReturn:
    """The API said 401 (expired, revoked, signed out elsewhere): back to the sign-in form."""
    end_session("session_ended")
    st.rerun()


def user() -> dict[str, Any]:
    found: dict[str, Any] = st.session_state.get(USER) or {}
    return found


def may(permission: str) -> bool:
    """Whether the signed-in person's role grants ``permission`` (the API checks it again)."""
    return permission in (user().get("permissions") or ())


def lang() -> str:
    return str(st.session_state.get("lang", "es"))


def tr(key: str, **values: Any) -> str:
    """The UI string ``key`` in the user's language."""
    return t(key, lang(), **values)


def wkey(key: str) -> str:
    """A widget key per language: a widget whose option labels are translated starts afresh
    when the language changes, instead of holding a label that no longer exists."""
    return f"{key}_{lang()}"


def translator() -> Callable[[str], str]:
    """``tr`` bound to the current language, for widgets' ``format_func`` (which may run later)."""
    language = lang()
    return lambda key: t(key, language)


def role_label() -> Callable[[str], str]:
    """A role's name in the current language, for widgets' ``format_func``."""
    language = lang()
    return lambda role: t(f"role_{role}", language)


def show_error(exc: ApiError) -> None:
    """An error panel for what the API refused (the detail may echo what someone typed)."""
    detail = escape_markdown(str(exc.detail))
    if isinstance(exc, ApiUnavailable):
        st.error(tr("api_down", url=exc.base_url, detail=detail), icon=":material/cloud_off:")
    elif exc.status == 403:
        st.error(tr("forbidden", detail=detail), icon=":material/block:")
    else:
        st.error(tr("api_error", status=exc.status, detail=detail), icon=":material/error:")


def fetch(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call the API with a spinner; when it fails, show why and stop the page (a 401 goes back to
    the sign-in form)."""
    try:
        with st.spinner(tr("loading")):
            return call(*args, **kwargs)
    except NotSignedIn:
        session_ended()
    except ApiError as exc:
        show_error(exc)
        st.stop()
    raise AssertionError("unreachable")  # pragma: no cover - st.stop() raises


def attempt(call: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Like ``fetch`` for user actions: a refusal is shown and the page goes on."""
    try:
        with st.spinner(tr("loading")):
            return call(*args, **kwargs)
    except NotSignedIn:
        session_ended()
    except ApiError as exc:
        show_error(exc)
    return None


@st.cache_data(ttl=30, show_spinner=False)
def _ui_config(_api: Client, base_url: str, token: str | None) -> dict[str, Any]:
    # Keyed by URL and session: what the API answers may depend on who asks.
    return _api.ui_config()


def ui_config() -> dict[str, Any]:
    """``/config/ui`` (brands, platforms, languages, teams...), cached for half a minute."""
    api = client()
    return fetch(_ui_config, api, api.base_url, api.token)


# -- text written by the public --------------------------------------------------------------------

# Every character Markdown, Streamlit's directives (:red[...], :emoji:) or KaTeX ($) could act on.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:=^&\"'])")


def escape_markdown(text: str) -> str:
    """``text`` with every Markdown/HTML control character escaped, so it renders literally."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    # Keep the author's line breaks: a Markdown hard break is two spaces before the newline.
    return escaped.replace("\r\n", "\n").replace("\n", "  \n")


def public_text(text: str | None, *, caption: str | None = None) -> None:
    """Show text written by the public as text: no HTML, no Markdown, no links, no directives."""
    with st.container(border=True):
        if caption:
            st.caption(escape_markdown(caption))
        st.markdown(escape_markdown(text or ""))


def safe_url(url: str | None) -> str | None:
    """Only http(s) links from the public become links (never ``javascript:`` or ``data:``)."""
    if url and re.match(r"^https?://[^\s]+$", url, re.IGNORECASE):
        return url
    return None


def fields(pairs: list[tuple[str, Any]]) -> None:
    """A compact row of labelled values (metrics truncate long values; these wrap)."""
    for col, (label, value) in zip(st.columns(len(pairs)), pairs, strict=True):
        col.caption(escape_markdown(label))
        col.markdown(f"**{escape_markdown(str(value))}**")


# -- time ------------------------------------------------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def now() -> datetime:
    return datetime.now(UTC)


def frame(items: list[dict[str, Any]], *times: str) -> pd.DataFrame:
    """The API's rows as a table, the columns ``times`` (those present) read as UTC moments."""
    table = pd.DataFrame(items)
    for column in times:
        if column in table and not table.empty:
            table[column] = pd.to_datetime(table[column], utc=True, format="ISO8601")
    return table


# The locale used when the browser's own is in another language than the one the reader chose.
DEFAULT_LOCALES = {"es": "es_ES", "en": "en_US"}


def reader_timezone() -> str:
    """The reader's time zone as their browser reports it (IANA name), else UTC."""
    name = getattr(st.context, "timezone", None)
    if name:
        try:
            ZoneInfo(str(name))
        except (ZoneInfoNotFoundError, ValueError):
            return "UTC"
        return str(name)
    return "UTC"


def reader_locale() -> str:
    """The browser's locale when it speaks the language the reader chose ("es-MX" -> "es_MX"),
    otherwise that language's default."""
    language = lang()
    browser = str(getattr(st.context, "locale", None) or "").replace("-", "_")
    if browser.split("_")[0].lower() == language:
        try:
            return str(Locale.parse(browser))
        except (ValueError, UnknownLocaleError):
            pass
    return DEFAULT_LOCALES.get(language, "en_US")


def when(value: Any, *, with_date: bool = True) -> str:
    """A moment in the reader's time zone and locale ("2 dic 2026, 9:05" / "Dec 2, 2026, 9:05 AM");
    "—" when there is none."""
    moment = parse_time(value)
    if moment is None:
        return "—"
    local, locale = moment.astimezone(ZoneInfo(reader_timezone())), reader_locale()
    clock = format_time(local, "short", locale=locale)
    if not with_date:
        return clock
    # The locale's own way of joining a date and a time ("{1}, {0}"), without seconds.
    joined = get_datetime_format("medium", locale=locale)
    return (
        str(joined)
        .replace("{1}", format_date(local, "medium", locale=locale))
        .replace("{0}", clock)
    )


def ago(value: Any, at: datetime | None = None) -> str:
    """How long ago (or how far ahead) a moment is, in the reader's words ("hace 5 minutos")."""
    moment = parse_time(value)
    if moment is None:
        return "—"
    return format_timedelta(
        moment - (at or now()), add_direction=True, threshold=1.1, locale=reader_locale()
    )


def datetime_column(label: str | None = None, *, seconds: bool = False) -> Any:
    """A table column of moments shown in the reader's time zone and the browser's locale."""
    return st.column_config.DatetimeColumn(
        label,
        format="YYYY-MM-DD HH:mm:ss" if seconds else "localized",
        timezone=reader_timezone(),
    )


def span(seconds: float) -> str:
    """A short human duration: 45 s, 12 min, 3 h 05, 2 d 4 h."""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{int(seconds)} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d}"
    return f"{int(seconds // 86400)} d {int(seconds % 86400 // 3600)} h"


def moment(value: Any) -> str:
    """A time as people read it: relative, then absolute in the reader's time zone and locale
    ("hace 3 h 05 · 1 mar 2026, 11:00")."""
    at = parse_time(value)
    if at is None:
        return "—"
    left = (at - now()).total_seconds()
    rel = tr("in_time", d=span(left)) if left > 0 else tr("ago", d=span(left))
    return tr("when_at", rel=rel, at=when(at))


def minutes(value: Any) -> str:
    return "—" if value is None else span(float(value) * 60)


def percent(value: Any) -> str:
    return "—" if value is None else f"{float(value) * 100:.0f} %"


def sla_countdown(case: dict[str, Any], at: datetime | None = None) -> tuple[str, float]:
    """The SLA clock that matters now, as a label and seconds left (negative when overdue)."""
    at = at or now()
    if case.get("sla_paused_at"):
        return tr("sla_paused"), float("inf")
    if case.get("first_response_at") is None:
        due = parse_time(case.get("first_response_due"))
    else:
        due = parse_time(case.get("resolution_due"))
    if due is None:
        return "—", float("inf")
    left = (due - at).total_seconds()
    if left < 0:
        return tr("sla_overdue", d=span(left)), left
    return tr("sla_due_in", d=span(left)), left


def sla_badge(case: dict[str, Any], at: datetime | None = None) -> str:
    """The SLA clock as a coloured Markdown badge: red overdue, orange in its warning time (the
    service judges it in the team's business hours, with its ``warn_before``), green otherwise."""
    label, left = sla_countdown(case, at)
    state = (case.get("sla") or {}).get("state")
    if left < 0:
        colour, icon = "red", "timer_off"
    elif case.get("sla_paused_at"):
        colour, icon = "gray", "pause_circle"
    elif state in ("warning", "breached"):
        colour, icon = "orange", "timer"
    else:
        colour, icon = "green", "timer"
    return f":{colour}-badge[:material/{icon}: {escape_markdown(label)}]"


_FIGURE = re.compile(r"\d+(?:[.,]\d+)?\s*[kKmM%]?")


def reason_labels(row: dict[str, Any], language: str | None = None) -> list[str]:
    """Each urgency reason named in the reader's language by its risk category, with the
    reason's figures ("model: complaint (0.81)" -> "Queja (modelo) 0.81"); a reason whose category
    has no name yet is shown as the service wrote it."""
    reasons = [str(r) for r in row.get("urgency_reasons") or []]
    keys = list(row.get("urgency_categories") or [])
    named = []
    for i, reason in enumerate(reasons):
        key = f"risk_{keys[i]}" if i < len(keys) else ""
        if key not in STRINGS:
            named.append(reason)
            continue
        figures = " ".join(_FIGURE.findall(reason.split(":", 1)[-1]))
        named.append(f"{t(key, language or lang())} {figures}".strip())
    return named


def status_label(status: Any, language: str | None = None) -> str:
    """A case status in the reader's language ("in_private" -> "En privado")."""
    key = f"status_{status}"
    return t(key, language or lang()) if key in STRINGS else str(status or "")


def status_format() -> Callable[[Any], str]:
    language = lang()
    return lambda status: status_label(status, language)


URGENCY_COLOURS = {0: "gray", 1: "blue", 2: "orange", 3: "red"}


def urgency_label(level: Any, language: str | None = None) -> str:
    """The urgency level as plain text, for tables and choices ("Crítica")."""
    return t(f"urgency_{int(level or 0)}", language or lang())


def urgency_badge(level: Any) -> str:
    """The urgency level as a coloured Markdown badge (Material icon, no emoji font needed)."""
    value = int(level or 0)
    icon = "priority_high" if value >= 2 else "flag"
    return f":{URGENCY_COLOURS.get(value, 'gray')}-badge[:material/{icon}: {urgency_label(value)}]"


def urgency_text(level: Any, language: str | None = None) -> str:
    """The urgency's name alone, for table cells (which cannot draw icons)."""
    return t(f"urgency_{int(level or 0)}", language or lang())


def urgency_format() -> Callable[[Any], str]:
    language = lang()
    return lambda level: urgency_label(level, language)


# -- filters ---------------------------------------------------------------------------------------


def choose(
    label_key: str, options: list[str], *, key: str, fmt: Callable[[str], str] | None = None
) -> str | None:
    """A selectbox with an "(any)" first option; answers ``None`` for any."""
    everything = [""] + [o for o in options if o]
    anything = tr("any")
    picked = st.selectbox(
        tr(label_key),
        everything,
        key=wkey(key),
        format_func=lambda o: anything if o == "" else (fmt(o) if fmt else o),
    )
    return picked or None


def period(key: str, default: str = "period_7d") -> tuple[datetime | None, datetime | None]:
    names = list(PERIODS)
    picked = st.selectbox(
        tr("period"), names, index=names.index(default), key=wkey(key), format_func=translator()
    )
    length = PERIODS[picked or default]
    if length is None:
        return None, None
    until = now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    return until - length, until


def listening_filters(prefix: str) -> dict[str, Any]:
    """Period, brand, platform and language in one row."""
    cfg = ui_config()
    cols = st.columns(4)
    with cols[0]:
        since, until = period(f"{prefix}_period")
    with cols[1]:
        brands = [b["name"] for b in cfg.get("brands", [])]
        for b in cfg.get("brands", []):
            brands.extend(c for c in b.get("competitors", []) if c not in brands)
        brand = choose("brand", brands, key=f"{prefix}_brand")
    with cols[2]:
        platform = choose("platform", list(cfg.get("platforms", [])), key=f"{prefix}_platform")
    with cols[3]:
        language = choose("lang", list(cfg.get("languages", [])), key=f"{prefix}_lang")
    return {"since": since, "until": until, "brand": brand, "platform": platform, "lang": language}


def team_names(cfg: dict[str, Any]) -> list[str]:
    return [team["name"] for team in cfg.get("teams", [])]


def agent_names(cfg: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for team in cfg.get("teams", []):
        names.extend(a for a in team.get("agents", []) if a not in names)
    return names
