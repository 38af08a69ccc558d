"""A seeded service running the real API on a loopback port, and AppTest helpers for the pages."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from streamlit.testing.v1 import AppTest  # noqa: TID253 - testing the dashboard

from pipeline.api.app import create_app
from pipeline.service import Service
from pipeline.settings import Settings, load_settings
from pipeline.stages.triage import triage_pending
from pipeline.store import Store
from tests.conftest import EXAMPLE, seed_scored

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")
INJECTED = '<script>alert("x")</script> **negrita** [pulsa](javascript:alert(1)) Orbita sin fibra'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveApi:
    url: str
    service: Service
    store: Store


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


@pytest.fixture(scope="session")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    folder = tmp_path_factory.mktemp("dashboard")
    settings = load_settings(EXAMPLE).model_copy(update={"database": folder / "escucha.duckdb"})
    store = Store.open(settings.database)
    seed(store, settings)
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
    yield LiveApi(f"http://127.0.0.1:{port}", service, store)
    server.should_exit = True
    thread.join(10)
    store.close()


@pytest.fixture
def app(live_api: LiveApi) -> AppTest:
    """The dashboard with its language set to English (one test checks Spanish)."""
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["api_url"] = live_api.url
    at.session_state["lang"] = "en"
    at.session_state["actor"] = "tester"
    return at


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
