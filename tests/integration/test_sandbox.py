"""The sandbox as the product builds it: from settings, through the registry, across a crash."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawlers.registry import build_source
from crawlers.sandbox import SandboxPlatform, default_state_dir, from_settings
from pipeline.errors import ConfigError
from pipeline.records import OutboundMessage
from pipeline.settings import Settings, SourceSettings

ROOT = Path(__file__).resolve().parents[2]


def settings_for(tmp_path: Path, **sandbox: object) -> Settings:
    return Settings.model_validate(
        {"database": str(tmp_path / "escucha.duckdb"), "sandbox": sandbox,
         "sources": [{"name": "demo", "platform": "sandbox", "every": "5s"}]}
    )  # fmt: skip


def test_the_registry_builds_it_from_settings_next_to_the_database(tmp_path):
    settings = settings_for(tmp_path, speed=120, reply_delay="3s", seed=5)
    built = build_source(settings.source("demo"), settings)
    assert isinstance(built, SandboxPlatform)
    assert built.name == "demo"
    assert built.speed == 120
    assert built.seed == 5
    assert built.reply_delay == timedelta(seconds=3)
    assert built.state_dir == tmp_path / "escucha.duckdb.sandbox" == default_state_dir(settings)
    assert built.state_dir.is_dir()
    assert built.csat_templates  # the survey question comes from the reply templates
    first = next(built.fetch(None))
    assert all(m.source == "demo" for m in first.mentions)


def test_source_options_override_the_defaults(tmp_path):
    settings = settings_for(tmp_path)
    source = SourceSettings(name="demo", platform="sandbox", state_dir=str(tmp_path / "elsewhere"),
                            speed=600, history=0.5, page_size=50)  # fmt: skip
    built = from_settings(source, settings)
    assert built.state_dir == tmp_path / "elsewhere"
    assert built.speed == 600
    assert built.history == 0.5
    assert built.page_size == 50


@pytest.mark.parametrize(
    ("options", "key"),
    [({"sped": 10}, "sources.demo.sped"), ({"speed": "fast"}, "sources.demo.speed"),
     ({"page_size": 5000}, "sources.demo"), ({"reply_delay": "soon"}, "sources.demo.reply_delay")],
)  # fmt: skip
def test_bad_options_name_the_key(tmp_path, options, key):
    source = SourceSettings(name="demo", platform="sandbox", **options)
    with pytest.raises(ConfigError) as caught:
        from_settings(source, settings_for(tmp_path))
    assert caught.value.key == key


def test_a_sender_killed_mid_stream_leaves_every_post_exactly_once(tmp_path):
    state = tmp_path / "state"
    child = f"""
        from datetime import datetime, timezone
        from crawlers.sandbox import SandboxPlatform, load_corpus
        from pipeline.records import OutboundMessage
        corpus = load_corpus()
        sandbox = SandboxPlatform(corpus, {str(state)!r})
        target = corpus[0]
        print("ready", flush=True)
        for n in range(1_000_000):
            sandbox.send(OutboundMessage("public_reply", target.platform, f"reply {{n}}",
                                         f"key-{{n}}", in_reply_to=target.id))
    """
    command = [sys.executable, "-c", textwrap.dedent(child)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    sandbox = SandboxPlatform(None, state, clock=lambda: datetime(2026, 3, 2, tzinfo=UTC))
    posts = sandbox.posts()
    assert posts, "the child should have posted before the kill"
    keys = [p.idempotency_key for p in posts]
    assert keys == [f"key-{n}" for n in range(len(keys))]  # in order, none lost, none twice
    target = sandbox.corpus[0]
    last = OutboundMessage(
        "public_reply", target.platform, "again", keys[-1], in_reply_to=target.id
    )
    assert sandbox.send(last).platform_id == posts[-1].id
    lines = (state / "posts.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["idempotency_key"] for line in lines] == keys
