"""The service scores at the model's speed: its throughput on a backlog against the model's own,
the API's latency while it scores, and how long an imported complaint waits for its case.

In one run, on this machine:
1. the model alone (what ``escucha classify`` does): ``BENCH_BACKLOG`` texts through
   ``predict`` in batches of 256, texts/s;
2. the service: the same texts stored as new mentions in a database of ``BENCH_SERVICE_MENTIONS``
   scored mentions (tests/bench/million.py, cached), scored by ``Service.run_cycle`` (score stage,
   score cache, triage) until none is left; texts/s and the ratio to (1), while another thread
   times ``GET /aggregates/overview`` and ``GET /cases`` through the API;
3. import to case: the service loop running, ``BENCH_IMPORT`` complaints imported in pages of 200
   (``stages.ingest.store_page``, what ``escucha import`` and the connectors call), and for each
   complaint that opens a case, the time from its page being stored to its case being opened.

Each backlog text carries a unique tail, so the score cache serves nothing and both sides do the
same work. Figures only: nothing is asserted about speed. Knobs: BENCH_SERVICE_MENTIONS (default
100000), BENCH_BACKLOG (default 3000), BENCH_IMPORT (default 2000), BENCH_SEED, BENCH_CACHE_DIR.
"""

from __future__ import annotations

import os
import shutil
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crawlers.sandbox import DEFAULT_CORPUS, load_corpus
from pipeline.api.app import create_app
from pipeline.records import Mention, Page, TextItem
from pipeline.service import Service
from pipeline.settings import load_settings
from pipeline.stages.ingest import store_page
from pipeline.store import Store, rows, scores
from tests.bench import million
from tests.conftest import sign_in

pytestmark = pytest.mark.bench

MENTIONS = int(os.environ.get("BENCH_SERVICE_MENTIONS", "100000"))
BACKLOG = int(os.environ.get("BENCH_BACKLOG", "3000"))
IMPORT = int(os.environ.get("BENCH_IMPORT", "2000"))
SEED = int(os.environ.get("BENCH_SEED", "1407"))
FLAGS = ("amx_tile", "amx_bf16", "amx_int8", "avx512_bf16", "avx512_vnni", "avx2")


def _flags() -> str:
    try:
        line = next(
            x for x in Path("/proc/cpuinfo").read_text().splitlines() if x.startswith("flags")
        )
    except (OSError, StopIteration):
        return "unknown"
    have = set(line.split(":", 1)[1].split())
    return " ".join(f"{f}={'yes' if f in have else 'no'}" for f in FLAGS)


def _texts(n: int, *, complaints_only: bool = False, tag: str) -> list[tuple[str, str]]:
    corpus = [
        item for item in load_corpus(DEFAULT_CORPUS)
        if not complaints_only
        or (item.expected.get("complaint") and item.expected.get("brand") == "Orbita")
    ]  # fmt: skip
    return [
        (f"{corpus[i % len(corpus)].text} ({tag}{i})", corpus[i % len(corpus)].lang or "es")
        for i in range(n)
    ]


def _pctl(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def test_service_scores_at_the_models_speed(tmp_path: Path) -> None:
    source, _, _ = million.cached_database(MENTIONS, SEED)
    database = tmp_path / "escucha.duckdb"
    shutil.copy(source, database)
    for sidecar in source.parent.glob(f"{source.name}.*"):
        target = tmp_path / f"escucha.duckdb{sidecar.name[len(source.name) :]}"
        (shutil.copytree if sidecar.is_dir() else shutil.copy)(sidecar, target)
    settings = load_settings(million.write_config(tmp_path / "escucha.toml", database))
    from classifiers import load_classifier

    classifier = load_classifier(settings.model)
    backlog = _texts(BACKLOG, tag="b")

    # 1. the model alone
    started = time.perf_counter()
    for at in range(0, len(backlog), 256):
        classifier.predict([TextItem(text=t, lang=lang) for t, lang in backlog[at : at + 256]])
    model_rate = len(backlog) / (time.perf_counter() - started)

    # 2. the service on the same texts, as a backlog in the database
    now = datetime.now(UTC)
    page = Page(tuple(
        Mention(platform="forum", native_id=f"backlog-{i}", text=text, author=f"bench{i % 997}",
                created_at=now - timedelta(seconds=i), lang=lang, source="bench")
        for i, (text, lang) in enumerate(backlog)
    ))  # fmt: skip
    store = Store.open(database)
    store_page(store, "bench", "forum", page)
    service = Service(settings, store, sources={}, classifier_factory=lambda: classifier)
    latencies: dict[str, list[float]] = {"overview 7 d": [], "open cases": []}
    done = threading.Event()
    app = create_app(service)

    def call_the_api() -> None:
        with TestClient(app) as api:
            api.headers.update(sign_in(store, "manager"))
            week = (now - timedelta(days=7)).isoformat()
            while not done.is_set():
                for name, path, params in (
                    ("overview 7 d", "/aggregates/overview", {"since": week}),
                    ("open cases", "/cases", {"open": "true", "limit": 200}),
                ):
                    began = time.perf_counter()
                    api.get(path, params=params).raise_for_status()
                    latencies[name].append((time.perf_counter() - began) * 1000)
                time.sleep(2.0)  # a few dashboards refreshing, not a load test

    caller = threading.Thread(target=call_the_api)
    caller.start()
    started = time.perf_counter()
    try:
        while True:
            service.run_cycle()
            with store.read() as cur:
                if scores.waiting(cur) == 0:
                    break
    finally:
        done.set()
        caller.join()
    service_rate = len(backlog) / (time.perf_counter() - started)

    # 3. imported complaints to cases, the service loop running
    complaints = _texts(IMPORT, complaints_only=True, tag="c")
    stored_at: dict[str, float] = {}
    service.start()
    try:
        for at in range(0, len(complaints), 200):
            batch = Page(tuple(
                Mention(platform="forum", native_id=f"import-{i}", text=text,
                        author=f"client{i}", created_at=datetime.now(UTC), lang=lang,
                        source="bench")
                for i, (text, lang) in enumerate(complaints[at : at + 200], start=at)
            ))  # fmt: skip
            store_page(store, "bench", "forum", batch)
            moment = time.time()
            stored_at.update({m.key: moment for m in batch.mentions})
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with store.read() as cur:
                if scores.waiting(cur) == 0:
                    break
            time.sleep(0.5)
    finally:
        service.stop()
    with store.read() as cur:
        opened = rows(
            cur,
            "SELECT mention_key, opened_at FROM cases WHERE mention_key LIKE 'forum:import-%'",
        )
    store.close()
    waits = [r["opened_at"].timestamp() - stored_at[r["mention_key"]] for r in opened]

    print(f"\nservice throughput, {MENTIONS:,} mentions in the database, backlog {BACKLOG:,}")
    print(f"cpu: {os.cpu_count()} cores; {_flags()}; model precision {classifier.precision}")  # type: ignore[attr-defined]
    print(f"  model alone (escucha classify's path)  {model_rate:8.1f} texts/s")
    print(f"  service (score, cache, triage)         {service_rate:8.1f} texts/s"
          f"   = {service_rate / model_rate:.0%} of the model's")  # fmt: skip
    for name, values in latencies.items():
        if values:
            print(f"  API while scoring: {name:<14} p50 {statistics.median(values):7.1f} ms"
                  f"  p95 {_pctl(values, 0.95):7.1f} ms  ({len(values)} calls)")  # fmt: skip
    print(
        f"import to case: {IMPORT:,} complaints imported in pages of 200, {len(waits)} opened cases"
    )
    if waits:
        print(f"  median {statistics.median(waits):6.1f} s   p95 {_pctl(waits, 0.95):6.1f} s"
              f"   max {max(waits):6.1f} s")  # fmt: skip
    assert service_rate > 0 and waits  # the run did what it reports
