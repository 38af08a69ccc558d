"""Every route the dashboard calls, timed against the real service on 100,000 and 1,000,000 mentions.

For each size in ``BENCH_MENTIONS`` (default ``100000,1000000``), builds the database once with
``tests/bench/million.py`` (cached: the next run reuses it), copies it, starts ``escucha serve`` on
the copy with a config that has no sources, waits for it to settle, then calls each route 2 times
to warm up and 30 times timed, from a client in this process (what the dashboard waits for). The one
write, acknowledging a case, takes a different new case each time. Prints p50, p95 and max per route
side by side, the database size, the service's memory (VmRSS, VmHWM) and the CPU, and marks routes
over 300 ms at p95 or whose p95 more than doubles from the smallest size to the largest.
Figures only: nothing is asserted about speed.

Knobs (environment): BENCH_MENTIONS, BENCH_SEED (default 1407), BENCH_CACHE_DIR (where the databases
are kept), BENCH_TICK (the service's scheduler tick; default: the product's own).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.bench import million

pytestmark = pytest.mark.bench

SIZES = [int(s) for s in os.environ.get("BENCH_MENTIONS", "100000,1000000").split(",") if s]
SEED = int(os.environ.get("BENCH_SEED", "1407"))
TICK = os.environ.get("BENCH_TICK") or None
WARMUP = 2
RUNS = 30
TARGET_MS = 300.0
GROWTH = 2.0
GROWTH_FLOOR_MS = 20.0  # a few milliseconds more on a tiny route is noise, not growth
CPU_FLAGS = ("amx_tile", "amx_bf16", "amx_int8", "avx512_bf16", "avx512_vnni", "avx2")
PAGE = 100  # the dashboard's mentions page size


@dataclass
class Figures:
    n: int
    generated_s: float | None
    timings: dict[str, float]
    db_bytes: int = 0
    sidecar_bytes: int = 0
    start_s: float = 0.0
    settle_s: float = 0.0
    idle_cpu: float = 0.0
    rss_kb: int = 0
    hwm_kb: int = 0
    counts: dict[str, Any] = field(default_factory=dict)
    routes: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


# -- the service --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _copy(database: Path, folder: Path) -> Path:
    """The database and whatever the store keeps beside it (``<file>.*``), copied to ``folder``."""
    target = folder / "escucha.duckdb"
    shutil.copyfile(database, target)
    for sidecar in database.parent.glob(f"{database.name}.*"):
        destination = folder / f"{target.name}{sidecar.name[len(database.name) :]}"
        if sidecar.is_dir():
            shutil.copytree(sidecar, destination)
        else:
            shutil.copyfile(sidecar, destination)
    return target


def _sizes(database: Path) -> tuple[int, int]:
    sidecars = 0
    for path in database.parent.glob(f"{database.name}.*"):
        files = path.rglob("*") if path.is_dir() else [path]
        sidecars += sum(f.stat().st_size for f in files if f.is_file())
    return database.stat().st_size, sidecars


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _memory_kb(pid: int) -> tuple[int, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    url: str
    log: Path


@contextmanager
def _start(folder: Path, database: Path) -> Iterator[Service]:
    config = million.write_config(folder / "escucha.toml", database, tick=TICK)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ESCUCHA_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    escucha = Path(sys.executable).parent / "escucha"
    log = folder / "service.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(escucha), "serve", "--config", str(config), "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=folder,
        )  # fmt: skip
    try:
        yield Service(process, f"http://127.0.0.1:{port}", log)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait_ready(service: Service, http: httpx.Client, timeout: float = 600) -> tuple[float, float]:
    """Seconds until /health answers, then until the first cycle is over (model loaded, CPU calm)."""
    started = time.perf_counter()
    while True:
        if service.process.poll() is not None:
            raise RuntimeError(f"the service exited: {service.log.read_text()[-3000:]}")
        try:
            health = http.get(f"{service.url}/health").json()
            break
        except httpx.TransportError:
            if time.perf_counter() - started > timeout:
                raise
            time.sleep(0.2)
    up = time.perf_counter() - started
    while health.get("model") is None and health.get("model_error") is None:
        if time.perf_counter() - started > timeout:
            break
        time.sleep(0.5)
        health = http.get(f"{service.url}/health").json()
    pid = service.process.pid
    while time.perf_counter() - started < timeout:
        before = _cpu_seconds(pid)
        time.sleep(1.0)
        if _cpu_seconds(pid) - before < 0.3:
            break
    return up, time.perf_counter() - started - up


def _idle_cpu(pid: int, seconds: float = 3.0) -> float:
    """CPU cores the idle service uses (its scheduler cycle) over a few seconds."""
    before, started = _cpu_seconds(pid), time.perf_counter()
    time.sleep(seconds)
    return (_cpu_seconds(pid) - before) / (time.perf_counter() - started)


# -- the routes ---------------------------------------------------------------------------------

Call = Callable[[httpx.Client, int], httpx.Response]


def _routes(http: httpx.Client, base: str) -> tuple[list[tuple[str, Call]], dict[str, Any]]:
    """Every call the dashboard's pages make, with the parameters their defaults send."""
    until = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)

    def period(days: float | None) -> dict[str, str]:
        if days is None:
            return {}
        return {"since": (until - timedelta(days=days)).isoformat(), "until": until.isoformat()}

    def get(path: str, **params: Any) -> Call:
        return lambda client, _: client.get(base + path, params=params)

    queue = http.get(f"{base}/cases", params={"open": "true", "limit": 200}).json()
    found = http.get(f"{base}/cases", params={"status": "new", "limit": 1000}).json()
    new_total = found["total"]
    fresh = [c["id"] for c in found["items"] if not c.get("first_response_at")]
    fresh = fresh[-(WARMUP + RUNS) :]
    case_id = queue["items"][0]["id"] if queue["items"] else "C-000001"
    replies = http.get(f"{base}/mentions", params={**period(7), "platform": "reddit", "limit": 200})
    keys = [m["key"] for m in replies.json()["items"] if m.get("parent_key")]
    mention_key = keys[0] if keys else "reddit:missing"

    def acknowledge(client: httpx.Client, run: int) -> httpx.Response:
        target = fresh[run % len(fresh)] if fresh else case_id
        return client.post(f"{base}/cases/{target}/actions/acknowledge", json={})

    routes: list[tuple[str, Call]] = [
        ("health", get("/health")),
        ("stats", get("/stats")),
        ("config/ui", get("/config/ui")),
        ("sources", get("/sources")),
        ("overview 24 h (hourly)", get("/aggregates/overview", bucket="hour", **period(1))),
        ("overview 7 days", get("/aggregates/overview", bucket="day", **period(7))),
        ("overview 90 days", get("/aggregates/overview", bucket="day", **period(90))),
        ("overview all time", get("/aggregates/overview", bucket="day")),
        ("mentions 7 d, page 1", get("/mentions", limit=PAGE, offset=0, **period(7))),
        ("mentions all, page 501", get("/mentions", limit=PAGE, offset=500 * PAGE)),
        (
            "mentions 7 d x+es+negative",
            get(
                "/mentions", limit=PAGE, platform="x", lang="es", sentiment="negative", **period(7)
            ),
        ),
        ("search 'factura' 7 d", get("/mentions", limit=PAGE, q="factura", **period(7))),
        ("search 2 words all time", get("/mentions", limit=PAGE, q="atención cliente")),
        ("mention by key", get(f"/mentions/{mention_key}")),
        ("cases queue (open, 200)", get("/cases", open="true", limit=200)),
        ("case detail", get(f"/cases/{case_id}")),
        ("case preview acknowledge", get(f"/cases/{case_id}/preview/acknowledge")),
        ("care metrics 7 d", get("/aggregates/care", **period(7))),
        ("agents", get("/agents")),
        ("alerts", get("/alerts", limit=20)),
        ("acknowledge a case (write)", acknowledge),
    ]
    counts = {
        "open cases": queue["total"],
        "new cases": new_total,
        "acknowledged": f"{len(fresh)} different cases" if fresh else "none free: errors expected",
    }
    return routes, counts


def _measure(figures: Figures, http: httpx.Client, base: str) -> None:
    routes, figures.counts = _routes(http, base)
    run = 0
    for name, call in routes:
        samples = []
        for attempt in range(WARMUP + RUNS):
            started = time.perf_counter()
            response = call(http, run)
            elapsed = (time.perf_counter() - started) * 1000
            run += name.startswith("acknowledge")
            if response.status_code >= 400:
                figures.errors.append(f"{name}: {response.status_code} {response.text[:200]}")
            if attempt >= WARMUP:
                samples.append(elapsed)
        figures.routes[name] = samples


def _run_size(n: int, folder: Path) -> Figures:
    database, generated, timings = million.cached_database(n, SEED)
    figures = Figures(n, generated, timings)
    work = folder / f"n{n}"
    work.mkdir()
    copy = _copy(database, work)
    with (
        httpx.Client(timeout=120) as http,
        _start(work, copy) as service,
    ):
        figures.start_s, figures.settle_s = _wait_ready(service, http)
        figures.idle_cpu = _idle_cpu(service.process.pid)
        figures.counts["mentions"] = http.get(f"{service.url}/health").json()["mentions"]
        _measure(figures, http, service.url)
        figures.rss_kb, figures.hwm_kb = _memory_kb(service.process.pid)
    figures.db_bytes, figures.sidecar_bytes = _sizes(copy)
    shutil.rmtree(work, ignore_errors=True)
    return figures


# -- the report ---------------------------------------------------------------------------------


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _machine() -> str:
    flags: set[str] = set()
    model = "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags") and not flags:
                flags = set(line.partition(":")[2].split())
            elif line.startswith("model name") and model == "?":
                model = line.partition(":")[2].strip()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    marks = " ".join(f"{f}={'yes' if f in flags else 'no'}" for f in CPU_FLAGS)
    return f"{model}; {os.cpu_count()} cores ({usable} usable); {marks}"


def _report(all_figures: list[Figures]) -> str:
    small, large = all_figures[0], all_figures[-1]
    width = max(len(name) for f in all_figures for name in f.routes) + 2
    head = f"{'route':<{width}}" + "".join(f"{f'{f.n:,} mentions':>26}  " for f in all_figures)
    sub = f"{'':<{width}}" + "".join(f"{'p50':>8} {'p95':>8} {'max':>8}  " for _ in all_figures)
    lines = [
        f"\nlatency of every dashboard route, ms (client wall time; {WARMUP} warm-ups, "
        f"{RUNS} timed calls each)",
        f"machine: {_machine()}",
        head,
        sub,
    ]
    for name in small.routes:
        row = f"{name:<{width}}"
        for figures in all_figures:
            samples = figures.routes.get(name) or [float("nan")]
            p50, p95 = statistics.median(samples), _percentile(samples, 0.95)
            row += f"{p50:8.1f} {p95:8.1f} {max(samples):8.1f}  "
        p95s = [_percentile(f.routes[name], 0.95) for f in (small, large) if name in f.routes]
        marks = []
        if any(_percentile(f.routes.get(name, [0.0]), 0.95) > TARGET_MS for f in all_figures):
            marks.append(f"! over {TARGET_MS:.0f}")
        if len(p95s) == 2 and p95s[1] > max(GROWTH * p95s[0], GROWTH_FLOOR_MS):
            marks.append(f"^ x{p95s[1] / p95s[0]:.1f}")
        lines.append(row + "  ".join(marks))
    legend = f"marks: ! p95 over {TARGET_MS:.0f} ms"
    if len(all_figures) > 1:
        legend += (
            f"; ^ p95 grew more than {GROWTH:.0f}x from {small.n:,} to {large.n:,} "
            f"(and is over {GROWTH_FLOOR_MS:.0f} ms)"
        )
    lines.append(legend)
    for f in all_figures:
        built = (
            "reused from the cache"
            if f.generated_s is None
            else f"generated in {f.generated_s:.1f} s (ingest {f.timings['ingest_s']:.1f} s, "
            f"scores {f.timings['scores_s']:.1f} s, triage {f.timings['triage_s']:.1f} s, "
            f"full-text index {f.timings['index_s']:.1f} s, "
            f"{f.timings['cases']:.0f} cases opened)"
        )
        lines += [
            f"{f.n:,} mentions: database {built}",
            f"  database file {f.db_bytes / 2**20:,.0f} MiB (+ {f.sidecar_bytes / 2**20:,.0f} MiB "
            f"beside it) after the run; service VmRSS {f.rss_kb / 1024:,.0f} MiB, VmHWM "
            f"{f.hwm_kb / 1024:,.0f} MiB",
            f"  service up in {f.start_s:.1f} s, first cycle over {f.settle_s:.1f} s later; "
            f"idle CPU {f.idle_cpu:.2f} cores; "
            + ", ".join(
                f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}" for k, v in f.counts.items()
            ),
        ]
    return "\n".join(lines)


@pytest.mark.timeout(6 * 3600)
def test_every_dashboard_route_on_a_million_mentions(tmp_path: Path) -> None:
    sizes = ", ".join(f"{n:,}" for n in SIZES)
    print(f"\nsizes {sizes}, seed {SEED}; databases cached in {million.cache_dir()}")
    all_figures = []
    for n in sorted(SIZES):
        started = time.perf_counter()
        all_figures.append(_run_size(n, tmp_path))
        print(f"{n:,} mentions measured in {time.perf_counter() - started:.0f} s", flush=True)
    print(_report(all_figures))
    errors = [e for f in all_figures for e in f.errors]
    assert not errors, (
        "routes answered with errors (the figures above are not valid):\n"
        + "\n".join(sorted(set(errors))[:20])
    )
