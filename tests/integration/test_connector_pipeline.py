"""Connectors under the real poller: SIGKILL mid-pagination, and polls through 20% failures.

The poll runs through ``pipeline.runner.poll_source`` into a DuckDB store, so each page and its
cursor are committed together, as in the service.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crawlers.registry import build_source
from pipeline.settings import load_settings
from pipeline.stages.poll import poll_source
from pipeline.store import Store
from tests.fakes import google_reviews as gbp
from tests.fakes import reddit, x, youtube
from tests.fakes.base import FakeServer

POLL = """
import sys
from crawlers.registry import build_source
from pipeline.stages.poll import poll_source
from pipeline.settings import load_settings
from pipeline.store import Store
settings = load_settings(sys.argv[1], env={k: v for k, v in __import__("os").environ.items()})
source = build_source(settings.source(sys.argv[2]), settings)
with Store.open(settings.database) as store:
    print(poll_source(store, source))
"""


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(tmp_path: Path, name: str, platform: str, url: str, options: dict) -> Path:
    lines = [f"database = {toml_value(str(tmp_path / 'escucha.duckdb'))}", "",
             "[[brands]]", 'name = "acme"', 'keywords = ["acme"]', "",
             "[[sources]]", f'name = "{name}"', f'platform = "{platform}"',
             f"api_base_url = {toml_value(url)}"]  # fmt: skip
    lines += [f"{key} = {toml_value(value)}" for key, value in options.items()]
    path = tmp_path / "escucha.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def seed_x(n: int) -> tuple[FakeServer, dict[str, str], dict[str, Any]]:
    fake = x.FakeX()
    for i in range(n):
        fake.add_tweet(f"acme problem {i}", author=f"user{i % 4}")
    secrets = {"ESCUCHA_X_BEARER_TOKEN": x.BEARER}
    return fake, secrets, {"query": "acme", "max_results": 10, "mentions": False}


def seed_reddit(n: int) -> tuple[FakeServer, dict[str, str], dict[str, Any]]:
    fake = reddit.FakeReddit()
    fake.fail_statuses = (429, 500)  # prawcore itself retries 5xx with 0-4 s pauses
    for i in range(n):
        fake.add_post(f"acme problem {i}")
    secrets = {"ESCUCHA_REDDIT_CLIENT_ID": reddit.CLIENT_ID,
               "ESCUCHA_REDDIT_CLIENT_SECRET": reddit.CLIENT_SECRET}  # fmt: skip
    return fake, secrets, {"query": "acme", "subreddits": ["acme"], "page_size": 10}


def seed_youtube(n: int) -> tuple[FakeServer, dict[str, str], dict[str, Any]]:
    fake = youtube.FakeYouTube()
    for i in range(n):
        fake.add_comment(f"acme problem {i}")
    return fake, {"ESCUCHA_YOUTUBE_API_KEY": youtube.API_KEY}, {
        "channel_id": youtube.CHANNEL, "page_size": 10}  # fmt: skip


def seed_gbp(n: int) -> tuple[FakeServer, dict[str, str], dict[str, Any]]:
    fake = gbp.FakeGoogleReviews()
    for i in range(n):
        fake.add_review(f"acme problem {i}", stars=1 + i % 5)
    return fake, {"ESCUCHA_GOOGLE_REVIEWS_ACCESS_TOKEN": gbp.ACCESS_TOKEN}, {
        "location": gbp.LOCATION, "page_size": 10}  # fmt: skip


SEEDERS: dict[str, Callable[[int], tuple[FakeServer, dict[str, str], dict[str, Any]]]] = {
    "x": seed_x, "reddit": seed_reddit, "youtube": seed_youtube, "google_reviews": seed_gbp,
}  # fmt: skip
LISTING = {"x": "search/recent", "reddit": "/search", "youtube": "commentThreads",
           "google_reviews": "/reviews$"}  # fmt: skip


def stored(db: Path) -> tuple[int, int]:
    with Store.open(db) as store, store.read() as cur:
        total, distinct = cur.execute(
            "SELECT count(*), count(DISTINCT key) FROM mentions"
        ).fetchone()
    return int(total), int(distinct)


@pytest.mark.parametrize("platform", ["x", "reddit", "youtube", "google_reviews"])
def test_sigkill_mid_pagination_resumes_without_loss_or_duplicates(tmp_path, platform):
    total = 45
    fake, secrets, options = SEEDERS[platform](total)
    with fake:
        config = write_config(tmp_path, "src", platform, fake.url, {**options, "retries": 0})
        fake.delay = 0.25  # slow pages, so the kill lands mid-walk
        env = {**os.environ, **secrets}
        proc = subprocess.Popen([sys.executable, "-c", POLL, str(config), "src"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        deadline = time.monotonic() + 60
        while fake.count("GET", LISTING[platform]) < 3 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            time.sleep(0.02)
        time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        db = tmp_path / "escucha.duckdb"
        partial, _ = stored(db)
        assert 0 < partial < total  # killed with some pages stored, not all

        fake.delay = 0.0
        settings = load_settings(config, env=secrets)
        source = build_source(settings.source("src"), settings)
        with Store.open(db) as store:
            result = poll_source(store, source)
        assert result.error is None
        assert stored(db) == (total, total)


@pytest.mark.parametrize("platform", ["x", "reddit", "youtube", "google_reviews"])
def test_everything_is_ingested_through_20_percent_failures(tmp_path, platform, record_property):
    total = 100
    fake, secrets, options = SEEDERS[platform](total)
    fake.fail_rate = 0.2
    fake.rng.seed(4)
    with fake:
        config = write_config(tmp_path, "src", platform, fake.url, {**options, "retries": 0})
        settings = load_settings(config, env=secrets)
        source = build_source(settings.source("src"), settings)
        polls = 0
        with Store.open(settings.database) as store:
            while polls < 40:
                polls += 1
                result = poll_source(store, source)
                with store.read() as cur:
                    count = cur.execute("SELECT count(*) FROM mentions").fetchone()[0]
                if count == total and result.error is None:
                    break
        assert stored(settings.database) == (total, total)
        record_property("polls", polls)
        record_property("failures", fake.failures)
        print(f"{platform}: {polls} polls, {fake.failures} injected failures, "
              f"{len(fake.requests)} requests")  # fmt: skip
        assert fake.failures > 0
