"""A seeded service running the real API on a loopback port, the people who sign in to it, and
AppTest helpers for the pages."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from streamlit.testing.v1 import AppTest  # noqa: TID253 - testing the dashboard

from pipeline.access import users
from pipeline.api.app import create_app
from pipeline.records import utcnow
from pipeline.service import Service
from pipeline.settings import Settings, load_settings
from pipeline.stages.triage import triage_pending
from pipeline.store import Store
from tests.conftest import EXAMPLE, seed_scored

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")
INJECTED = '<script>alert("x")</script> **negrita** [pulsa](javascript:alert(1)) Orbita sin fibra'
PASSWORD = "orbita-escucha-2026"  # every test person's password

# name -> (role, teams, brands, display name); made in the seeded store before the API starts.
PEOPLE: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], str]] = {
    "ada": ("admin", (), (), "Ada Admin"),
    "marta": ("manager", (), (), "Marta Manager"),
    "mateo": ("agent", ("atencion-es",), (), "Mateo Agente"),
    "lucia": ("agent", ("atencion-es",), (), "Lucía Agente"),
    "ana.lista": ("analyst", (), (), "Ana Analista"),
    "victor": ("viewer", (), (), "Víctor Lector"),
    "celia": ("viewer", (), ("Celera",), "Celia Solo Celera"),
    "caduca": ("agent", ("atencion-es",), (), "Sesión Que Caduca"),
    "cambia": ("analyst", (), (), "Cambia Su Clave"),
    "saliente": ("viewer", (), (), "Sale Y Entra"),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveApi:
    url: str
    service: Service
    store: Store
    sessions: dict[str, str] = field(default_factory=dict)

    def token(self, name: str) -> str:
        """A session of ``name`` (signed in through POST /auth/login once per test run)."""
        if name not in self.sessions:
            self.sessions[name] = self.login(name)
        return self.sessions[name]

    def login(self, name: str, password: str = PASSWORD) -> str:
        """A fresh session of ``name``."""
        answer = httpx.post(f"{self.url}/auth/login", json={"name": name, "password": password})
        answer.raise_for_status()
        return str(answer.json()["token"])

    def get(self, path: str, as_: str = "ada", **params: Any) -> Any:
        """GET ``path`` as ``as_`` (the admin by default); the JSON answer."""
        headers = {"Authorization": f"Bearer {self.token(as_)}"}
        answer = httpx.get(f"{self.url}{path}", params=params, headers=headers)
        answer.raise_for_status()
        return answer.json()

    def send(self, method: str, path: str, body: Any, as_: str = "ada") -> Any:
        headers = {"Authorization": f"Bearer {self.token(as_)}"}
        answer = httpx.request(method, f"{self.url}{path}", json=body, headers=headers)
        answer.raise_for_status()
        return answer.json()


def add_people(store: Store) -> None:
    for name, (role, teams, brands, display) in PEOPLE.items():
        users.add(
            store, name, role=role, password=PASSWORD, now=utcnow(), teams=teams, brands=brands,
            display_name=display,
        )  # fmt: skip


def seed(store: Store, settings: Settings) -> None:
    """A small but varied world: complaints (cases), praise, several platforms, a burst, an
    injected script, a competitor."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    n = 0

    def add(text: str, **kw: object) -> None:
        nonlocal n
        n += 1
        seed_scored(store, native_id=str(n), **kw, text=text)  # type: ignore[arg-type]

    add("Orbita lleva 3 días sin fibra en casa, es una vergüenza", author="ana", urgency_level=2,
        reasons=("outage",), created_at=now - timedelta(hours=30))  # fmt: skip
    add("Orbita me ha cobrado dos veces la factura", author="beto", platform="reddit",
        created_at=now - timedelta(hours=29))  # fmt: skip
    add("Orbita billing charged me twice, terrible service", author="carl", lang="en",
        created_at=now - timedelta(hours=28))  # fmt: skip
    add(INJECTED, author="mallory", created_at=now - timedelta(hours=27))
    for i in range(8):
        add(f"Orbita caída general otra vez número {i}", author=f"user{i}",
            created_at=now - timedelta(hours=2) + timedelta(minutes=i))  # fmt: skip
    for hour in range(3, 27):
        add("Gracias Orbita, todo perfecto", author=f"fan{hour}", sentiment="positive",
            complaint=0.02, urgency_level=0, created_at=now - timedelta(hours=hour))  # fmt: skip
    add("Celera va mejor que nunca", author="dora", brand="Celera", sentiment="positive",
        complaint=0.01, urgency_level=0, created_at=now - timedelta(hours=5))  # fmt: skip
    for i in range(6):
        add(f"Orbita no me contesta nadie, caso {i}", author=f"cli{i}", urgency_level=1,
            created_at=now - timedelta(hours=6, minutes=i))  # fmt: skip
    triage_pending(store, settings)


@contextmanager
def serving(settings: Settings, store: Store) -> Iterator[LiveApi]:
    """The real API app over ``store`` on a loopback port, for as long as the block runs."""
    service = Service(settings, store, sources={})
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(service), host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the API did not start")
        time.sleep(0.02)
    try:
        yield LiveApi(f"http://127.0.0.1:{port}", service, store)
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    folder = tmp_path_factory.mktemp("dashboard")
    settings = load_settings(EXAMPLE).model_copy(update={"database": folder / "escucha.duckdb"})
    store = Store.open(settings.database)
    seed(store, settings)
    add_people(store)
    with serving(settings, store) as live:
        yield live
    store.close()


def dashboard(live_api: LiveApi, name: str | None = None, lang: str | None = "en") -> AppTest:
    """The dashboard; signed in as ``name`` with a session kept in its state (as the sign-in
    form keeps it), or anonymous."""
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["api_url"] = live_api.url
    if lang:
        at.session_state["lang"] = lang
    if name:
        at.session_state["auth_token"] = live_api.token(name)
    return at


@pytest.fixture
def app(live_api: LiveApi) -> AppTest:
    """The dashboard in English (one test checks Spanish), signed in as Marta, a manager."""
    return dashboard(live_api, "marta")


def sign_in(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    """Fill in and send the sign-in form."""
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(password)
    at.button(key="signin_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def offered(at: AppTest) -> set[str]:
    """The page scripts the navigation offers after the last run (``views/queue.py`` → "queue").

    AppTest keeps what ``st.navigation`` registered (it has no public accessor for it yet);
    a page drawn by a function, such as the sign-in form, is named by its title."""
    names = set()
    for info in at._registered_pages.values():
        script = info.get("script_path")
        names.add(Path(str(script)).stem if script else str(info.get("page_name") or ""))
    return names


def open_page(at: AppTest, page: str, **query: str) -> AppTest:
    """Run the app on ``views/<page>.py`` with ``query`` parameters."""
    for name, value in query.items():
        at.query_params[name] = value
    at.switch_page(f"views/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    """Everything the page wrote as Markdown, captions, titles and alerts, in one string."""
    parts: list[str] = []
    for group in (at.title, at.header, at.subheader, at.markdown, at.caption, at.info, at.success,
                  at.error, at.warning):  # fmt: skip
        parts.extend(str(el.value) for el in group)
    return "\n".join(parts)
