"""Crash safety: a SIGKILL mid-poll or between a post and its record loses and duplicates nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta

from crawlers.sandbox import SandboxPlatform, load_corpus
from pipeline.care.cases import ActionRequest, CaseService
from pipeline.care.outbox import OutboxWorker
from pipeline.stages.poll import poll_source
from pipeline.stages.triage import triage_pending
from pipeline.store import Store, rows
from tests.conftest import ROOT, seed_scored

EPOCH = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def run_child(code: str, *, kill_after: float | None = None) -> subprocess.CompletedProcess[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    if kill_after is not None:
        time.sleep(kill_after)
        process.send_signal(signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_a_sandbox_poll_killed_midway_resumes_with_nothing_lost_or_duplicated(tmp_path):
    db, state = tmp_path / "db.duckdb", tmp_path / "sandbox"
    # The child pauses between pages so the kill lands mid-poll, possibly inside a write.
    child = f"""
        import time
        from datetime import datetime, timezone
        from crawlers.sandbox import SandboxPlatform
        from pipeline.stages.poll import poll_source
        from pipeline.store import Store

        class Slow:
            def __init__(self, inner):
                self.inner, self.name, self.platform = inner, inner.name, inner.platform
            def fetch(self, cursor):
                for page in self.inner.fetch(cursor):
                    yield page
                    time.sleep(0.05)

        clock = lambda: datetime({EPOCH.year}, {EPOCH.month}, {EPOCH.day}, 12, tzinfo=timezone.utc)
        sandbox = SandboxPlatform(None, {str(state)!r}, clock=clock, page_size=10)
        store = Store.open({str(db)!r})
        print("polling", flush=True)
        poll_source(store, Slow(sandbox))
        print("finished", flush=True)
    """
    killed = run_child(child, kill_after=6.0)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert "finished" not in killed.stdout
    sandbox = SandboxPlatform(None, state, clock=lambda: EPOCH, page_size=200)
    fresh = SandboxPlatform(None, tmp_path / "fresh", clock=lambda: EPOCH)
    expected = sum(len(page.mentions) for page in fresh.fetch(None))
    with Store.open(db) as store:
        with store.read() as cur:
            stored_before = rows(cur, "SELECT count(*) AS n FROM mentions")[0]["n"]
        assert 0 < stored_before < expected, "the kill should land mid-poll; raise kill_after"
        result = poll_source(store, sandbox)
        with store.read() as cur:
            keys = [r["key"] for r in rows(cur, "SELECT key FROM mentions")]
    assert result.error is None
    assert len(keys) == len(set(keys)) == expected
    assert result.ingest.new == expected - stored_before  # resumed after the last stored page


def test_a_worker_killed_after_posting_and_before_recording_does_not_post_twice(
    tmp_path, example_settings
):
    db, state = example_settings.database, tmp_path / "sandbox"
    corpus = [item for item in load_corpus() if item.platform == "x"][:1]
    sandbox = SandboxPlatform(corpus, state, clock=lambda: EPOCH)
    with Store.open(db) as store:
        key = seed_scored(store, native_id=corpus[0].id, text="Orbita sin línea", source="sandbox",
                          author=corpus[0].author)  # fmt: skip
        (case_id,) = triage_pending(store, example_settings).opened
        CaseService(store, example_settings).act(case_id, "acknowledge", ActionRequest(actor="ana"))
    assert key
    child = f"""
        import os, signal
        from datetime import datetime, timezone
        from crawlers.sandbox import SandboxPlatform, load_corpus
        from pipeline.care.outbox import OutboxWorker
        from pipeline.store import Store

        corpus = [i for i in load_corpus() if i.platform == "x"][:1]
        sandbox = SandboxPlatform(corpus, {str(state)!r},
                                  clock=lambda: datetime(2026, 3, 2, 12, tzinfo=timezone.utc))

        class DiesAfterPosting:
            platform = "x"
            def send(self, message):
                sandbox.send(message)
                print("posted", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)  # before the worker can record it
            def find_sent(self, message):
                return sandbox.find_sent(message)
            def poll_private(self, cursor):
                return [], cursor

        store = Store.open({str(db)!r})
        OutboxWorker(store, lambda source, platform: DiesAfterPosting()).run_once()
    """
    killed = run_child(child)
    assert killed.returncode == -signal.SIGKILL and "posted" in killed.stdout, killed.stderr
    with Store.open(db) as store:
        with store.read() as cur:
            (intent,) = rows(cur, "SELECT status, attempts FROM outbox")
        assert intent == {"status": "sending", "attempts": 1}
        run = OutboxWorker(store, lambda source, platform: sandbox).run_once()
        with store.read() as cur:
            (intent,) = rows(cur, "SELECT status, platform_id, attempts FROM outbox")
            posted_events = rows(cur, "SELECT * FROM case_events WHERE action = 'posted'")
    posts = sandbox.posts()
    assert run.sent == 1
    assert len(posts) == 1, "the reply was posted twice"
    assert intent["status"] == "sent" and intent["platform_id"] == posts[0].id
    assert len(posted_events) == 1


def test_failures_are_retried_with_backoff_and_shown_on_the_case(tmp_path, example_settings):
    from pipeline.errors import SourceUnavailable

    now = [datetime.now(UTC)]
    corpus = [item for item in load_corpus() if item.platform == "x"][:1]
    sandbox = SandboxPlatform(corpus, tmp_path / "sandbox", clock=lambda: now[0])

    class Flaky:
        platform = "x"
        failures = 2

        def send(self, message):
            if self.failures:
                self.failures -= 1
                raise SourceUnavailable("503 from the platform", platform="x")
            return sandbox.send(message)

        def find_sent(self, message):
            return sandbox.find_sent(message)

        def poll_private(self, cursor):
            return [], cursor

    channel = Flaky()
    with Store.open(example_settings.database) as store:
        seed_scored(store, native_id=corpus[0].id, text="Orbita sin línea", source="sandbox")
        (case_id,) = triage_pending(store, example_settings).opened
        CaseService(store, example_settings).act(case_id, "acknowledge", ActionRequest(actor="ana"))
        worker = OutboxWorker(store, lambda s, p: channel, clock=lambda: now[0])
        now[0] += timedelta(seconds=1)
        assert worker.run_once().retried == 1
        assert worker.run_once().sent == 0  # not due yet: backing off
        detail = CaseService(store, example_settings).detail(case_id)
        assert "503 from the platform" in detail["outbox"][0]["last_error"]
        now[0] += timedelta(seconds=6)
        assert worker.run_once().retried == 1
        now[0] += timedelta(seconds=11)
        assert worker.run_once().sent == 1
    assert len(sandbox.posts()) == 1


def test_a_message_the_platform_refuses_fails_at_once_with_the_reason_on_the_case(
    tmp_path, example_settings
):
    from pipeline.errors import SourceError

    class NoPrivateMessages:
        platform = "youtube"
        calls = 0

        def send(self, message):
            self.calls += 1
            raise SourceError("YouTube has no private messages; use email: care@example.com")

        def find_sent(self, message):
            return None

        def poll_private(self, cursor):
            return [], cursor

    channel = NoPrivateMessages()
    with Store.open(example_settings.database) as store:
        seed_scored(store, native_id="c1", text="Orbita fatal", platform="youtube", source="yt")
        (case_id,) = triage_pending(store, example_settings).opened
        CaseService(store, example_settings).act(case_id, "acknowledge", ActionRequest(actor="ana"))
        worker = OutboxWorker(store, lambda s, p: channel)
        assert worker.run_once().failed == 1
        assert worker.run_once().failed == 0  # not tried again
        detail = CaseService(store, example_settings).detail(case_id)
    assert channel.calls == 1
    assert detail["outbox"][0]["status"] == "failed"
    (event,) = [e for e in detail["events"] if e["action"] == "send_failed"]
    assert "no private messages" in event["detail"]["error"]
