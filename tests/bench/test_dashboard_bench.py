"""How long each dashboard page takes to render against 100,000 mentions (target: under 1 s).

Builds a demo database in bulk (100,000 scored mentions over seven days, 2,000 cases), serves it
with the real API on a loopback port, and times AppTest runs of every page: one warm-up run, then
the median of three.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from streamlit.testing.v1 import AppTest  # noqa: TID253 - measuring the dashboard

from pipeline.api.app import create_app
from pipeline.service import Service
from pipeline.settings import load_settings
from pipeline.store import Store, rollups
from tests.conftest import EXAMPLE, sign_in
from tests.dashboard.conftest import APP, free_port

pytestmark = pytest.mark.bench

MENTIONS = 100_000
CASES = 2_000
TARGET_S = 1.0

TEXTS = [
    "Orbita lleva tres días sin fibra en casa y nadie responde",
    "Gracias Orbita, el técnico vino en una hora, todo perfecto",
    "Orbita me ha cobrado dos veces la factura de este mes",
    "Orbita billing charged me twice and support is useless",
    "Love the new Orbita app, much faster than before",
    "¿Alguien sabe si Orbita tiene cobertura 5G en Valencia?",
    "Celera ha mejorado mucho la atención al cliente",
    "Ondanet sin servicio en todo el barrio desde esta mañana",
    "Orbita outage again, third time this week, thinking of switching",
    "Buen precio el de Orbita pero la instalación tardó semanas",
]


def build(store: Store) -> None:
    texts = "[" + ", ".join("'" + t.replace("'", "''") + "'" for t in TEXTS) + "]"
    with store.transaction() as cur:
        cur.execute(
            f"""INSERT INTO mentions (key, platform, native_id, source, kind, brand, text, lang,
                   author_key, author, created_at, fetched_at, updated_at, content_hash, stage,
                   likes)
               SELECT 'sandbox:' || i, ['x', 'reddit', 'youtube', 'google_reviews'][1 + i % 4],
                   i::VARCHAR, 'sandbox', 'post',
                   ['Orbita', 'Orbita', 'Orbita', 'Celera', 'Ondanet'][1 + (i // 7) % 5],
                   {texts}[1 + i % 10] || ' #' || i,
                   CASE WHEN i % 10 IN (3, 4, 8) THEN 'en' ELSE 'es' END,
                   'sandbox:user' || (i % 20000), 'user' || (i % 20000),
                   now() - i * INTERVAL 6 SECOND, now(), now(), md5(i::VARCHAR), 'triaged',
                   i % 13
               FROM range(?) t(i)""",
            [MENTIONS],
        )
        cur.execute(
            """INSERT INTO scores SELECT key, 'bench', lang,
                   CASE WHEN text LIKE '%perfecto%' OR text LIKE '%Love%' OR text LIKE '%mejorado%'
                        THEN 'positive'
                        WHEN text LIKE '%cobertura%' OR text LIKE '%precio%' THEN 'neutral'
                        ELSE 'negative' END,
                   0.7, 0.2, 0.1, 0.8, 'complaint', 0.4, 1, ['bench'], now()
               FROM mentions"""
        )
        # Reads see a mention's score through current_scores (one model version here).
        cur.execute("INSERT INTO current_scores SELECT * FROM scores")
        cur.execute(
            """INSERT INTO authors (key, platform, handle, first_seen, last_seen)
               SELECT DISTINCT author_key, 'sandbox', author, now(), now() FROM mentions"""
        )
        cur.execute(
            """INSERT INTO cases (id, status, brand, platform, lang, author_key, author,
                   mention_key, team, level, priority, urgency_level, opened_at, updated_at,
                   first_response_due, first_response_at, resolution_due, deflected_at,
                   resolved_at, closed_public_at, csat_score)
               SELECT printf('C-%06d', n + 1),
                   ['new', 'acknowledged', 'in_private', 'resolved', 'closed_public', 'closed'][1 + n % 6],
                   m.brand, m.platform, m.lang, m.author_key, m.author, m.key,
                   ['atencion-es', 'care-en'][1 + n % 2], 'head_office', 2, 1 + n % 3,
                   m.created_at, m.created_at, m.created_at + INTERVAL 1 HOUR,
                   CASE WHEN n % 6 > 0 THEN m.created_at + (n % 90) * INTERVAL 1 MINUTE END,
                   m.created_at + INTERVAL 24 HOUR,
                   CASE WHEN n % 6 > 1 THEN m.created_at + INTERVAL 2 HOUR END,
                   CASE WHEN n % 6 > 2 THEN m.created_at + INTERVAL 5 HOUR END,
                   CASE WHEN n % 6 > 3 THEN m.created_at + INTERVAL 6 HOUR END,
                   CASE WHEN n % 6 > 4 THEN 1 + n % 5 END
               FROM (SELECT *, row_number() OVER (ORDER BY created_at DESC) - 1 AS n
                     FROM mentions WHERE text LIKE 'Orbita lleva%') m
               WHERE n < ?""",
            [CASES],
        )  # fmt: skip
        cur.execute("INSERT INTO case_mentions SELECT id, mention_key, opened_at FROM cases")
        rollups.recount_all(cur)  # the hourly counts the overview reads, as writes keep them


@pytest.fixture(scope="module")
def demo_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """The API's address and an admin's session token (every page is drawn signed in)."""
    folder: Path = tmp_path_factory.mktemp("bench")
    settings = load_settings(EXAMPLE).model_copy(update={"database": folder / "demo.duckdb"})
    store = Store.open(settings.database)
    started = time.perf_counter()
    build(store)
    print(
        f"\nbuilt {MENTIONS:,} mentions and {CASES:,} cases in {time.perf_counter() - started:.1f} s"
    )
    token = sign_in(store, "admin")["Authorization"].removeprefix("Bearer ")
    service = Service(settings, store, sources={})
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(service), host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", token
    server.should_exit = True
    thread.join(10)
    store.close()


PAGES = [
    ("overview", {}),
    ("queue", {}),
    ("case", {"id": "C-000001"}),
    ("mentions", {}),
    ("care", {}),
    ("sources", {}),
    # The last six hours of Orbita, as opened from a spike.
    (
        "crisis",
        {
            "brand": "Orbita",
            "start": (datetime.now(UTC) - timedelta(hours=6)).isoformat(),
            "end": datetime.now(UTC).isoformat(),
        },
    ),
]


def test_every_page_renders_in_under_a_second(demo_api: tuple[str, str]) -> None:
    url, token = demo_api
    figures: dict[str, tuple[float, float]] = {}
    for page, query in PAGES:
        at = AppTest.from_file(APP, default_timeout=60)
        at.session_state["api_url"] = url
        at.session_state["auth_token"] = token
        at.session_state["lang"] = "en"
        for name, value in query.items():
            at.query_params[name] = value
        at.switch_page(f"views/{page}.py")
        started = time.perf_counter()
        at.run()
        first = time.perf_counter() - started
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        # The page itself was drawn, not the sign-in form.
        assert not [t for t in at.title if t.value in ("Sign in", "Iniciar sesión")], page
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            at.run()
            runs.append(time.perf_counter() - started)
        figures[page] = (first, statistics.median(runs))

    print(f"\npage render time against {MENTIONS:,} mentions (AppTest run, seconds)")
    print(f"{'page':<10} {'first':>7} {'median':>7}")
    for page, (first, median) in figures.items():
        print(f"{page:<10} {first:7.3f} {median:7.3f}")
    slow = {p: m for p, (_, m) in figures.items() if m >= TARGET_S}
    assert not slow, f"pages over {TARGET_S} s: {slow}"
