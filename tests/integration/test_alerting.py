"""The service's alert watcher: an urgent case and an SLA breach each give one signed alert."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr

from pipeline.alerts.notify import SIGNATURE_HEADER, verify
from pipeline.alerts.watch import AlertWatcher
from pipeline.stages.triage import triage_pending
from pipeline.store import rows
from tests.conftest import seed_scored


@pytest.fixture
def receiver():
    received: list[tuple[bytes, str | None]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers.get(SIGNATURE_HEADER)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()


def test_urgent_cases_and_sla_breaches_alert_once_with_a_valid_signature(
    store, example_settings, receiver
):
    url, received = receiver
    settings = example_settings.model_copy(
        update={
            "alerts": example_settings.alerts.model_copy(update={"webhooks": [url]}),
            "secrets": {"ESCUCHA_ALERTS_WEBHOOK_SECRET": SecretStr("s3cret")},
        }
    )
    seed_scored(store, native_id="1", text="Orbita: el router echa humo y chispas", urgency_level=3,
                reasons=("safety: fire",))  # fmt: skip
    (case_id,) = triage_pending(store, settings).opened
    now = [datetime.now(UTC)]
    watcher = AlertWatcher(store, settings, clock=lambda: now[0])
    first = watcher.run_once()
    assert [a.kind for a in first] == ["urgent_case"]
    assert watcher.run_once() == []  # the same incident is not alerted again
    now[0] += timedelta(days=4)  # long past the crisis team's 15-minute first response
    assert [a.kind for a in watcher.run_once()] == ["sla_breach"]
    assert watcher.run_once() == []
    assert len(received) == 2
    for body, signature in received:
        assert verify(body, signature, "s3cret")
    urgent = json.loads(received[0][0])
    assert urgent["kind"] == "urgent_case" and "router echa humo" in urgent["body"]
    assert case_id in urgent["dashboard_url"]
    with store.read() as cur:
        stored = rows(cur, "SELECT kind, status FROM alerts ORDER BY id")
        (case,) = rows(cur, "SELECT sla_breached FROM cases")
        breach_events = rows(cur, "SELECT * FROM case_events WHERE action = 'sla_breach'")
    assert stored == [
        {"kind": "urgent_case", "status": "sent"},
        {"kind": "sla_breach", "status": "sent"},
    ]
    assert case["sla_breached"] is True and len(breach_events) == 1


def test_a_high_reach_author_raises_one_vip_alert(store, example_settings):
    settings = example_settings.model_copy(
        update={"alerts": example_settings.alerts.model_copy(update={"high_reach_followers": 1000})}
    )
    seed_scored(store, native_id="1", text="Orbita, ¿me explicas esta factura?", author="famosa",
                sentiment="neutral", complaint=0.3, urgency_level=0)  # fmt: skip
    with store.transaction() as cur:
        cur.execute("UPDATE mentions SET author_followers = 250000")
    triage_pending(store, settings)
    watcher = AlertWatcher(store, settings)
    assert [a.kind for a in watcher.run_once()] == ["vip_author"]
    assert watcher.run_once() == []


def test_a_warning_in_quiet_hours_is_held_and_sent_when_they_end(store, example_settings, receiver):
    from pipeline.settings import AlertSubscriptionSettings

    url, received = receiver
    now = [datetime(2026, 11, 24, 23, 0, tzinfo=UTC)]
    night = AlertSubscriptionSettings(
        name="night", webhooks=[url], quiet_hours="22:00-08:00", quiet_mode="defer"
    )
    settings = example_settings.model_copy(
        update={"alerts": example_settings.alerts.model_copy(update={"subscriptions": [night]})}
    )
    seed_scored(store, native_id="1", text="Orbita no me deja pagar", urgency_level=1,
                created_at=now[0] - timedelta(days=3))  # fmt: skip
    triage_pending(store, settings, clock=lambda: now[0] - timedelta(days=3))
    watcher = AlertWatcher(store, settings, clock=lambda: now[0])
    assert [a.kind for a in watcher.run_once()] == ["sla_breach"]
    assert received == []  # held through the night
    with store.read() as cur:
        assert rows(cur, "SELECT status FROM alerts") == [{"status": "deferred"}]
    now[0] = datetime(2026, 11, 25, 8, 1, tzinfo=UTC)
    watcher.run_once()
    assert len(received) == 1
    with store.read() as cur:
        assert rows(cur, "SELECT status FROM alerts") == [{"status": "sent"}]
