"""The service loop: a slow source or a failing model never holds up the rest of the cycle."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from pipeline.records import Mention, Page
from pipeline.service import Service


class SlowSource:
    name = "slow"
    platform = "forum"

    def __init__(self) -> None:
        self.release = threading.Event()

    def fetch(self, cursor):
        self.release.wait(10)
        yield Page(
            (
                Mention(
                    platform="forum",
                    native_id="1",
                    text="hola",
                    author="a",
                    created_at=datetime.now(UTC),
                ),
            ),
            cursor={"n": 1},
        )


class BrokenModel:
    version = "broken"

    def predict(self, items):
        raise RuntimeError("CUDA error: device lost")


def test_a_slow_poll_runs_beside_the_cycle_and_is_collected_later(store, example_settings):
    slow = SlowSource()
    service = Service(
        example_settings, store, sources={"slow": slow}, classifier_factory=lambda: BrokenModel()
    )
    started = time.monotonic()
    first = service.run_cycle(force=True, wait=False)
    assert time.monotonic() - started < 5  # not held by the source
    assert first.polls == []
    again = service.run_cycle(force=True, wait=False)
    assert again.polls == []  # still running: not started twice
    slow.release.set()
    deadline = time.monotonic() + 10
    report = service.run_cycle(wait=False)
    while not report.polls and time.monotonic() < deadline:
        time.sleep(0.1)
        report = service.run_cycle(wait=False)
    assert [p.ingest.new for p in report.polls] == [1]
    # A failing model leaves the mention unscored, says why, and the cycle goes on.
    assert any("model failed on a batch of 1" in e for e in report.errors)
    assert service.stats()["mentions"] == 1
    service.stop()
