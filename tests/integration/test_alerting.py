"""The service's alert watcher: an urgent case and an SLA breach each give one signed alert,
alerts held through quiet hours survive a restart, and a re-scored mention is counted once."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow as pa
import pytest
from pydantic import SecretStr

from pipeline.alerts.notify import SIGNATURE_HEADER, verify
from pipeline.alerts.watch import AlertWatcher
from pipeline.care.cases import CaseService
from pipeline.records import Mention, Page
from pipeline.settings import AlertSubscriptionSettings, Settings
from pipeline.stages.ingest import store_page
from pipeline.stages.triage import triage_pending
from pipeline.store import Store, rows
from pipeline.store import alerts as alert_store
from pipeline.store import scores as score_store
from tests.conftest import seed_scored


def watcher_for(store: Store, settings: Settings, clock=None) -> AlertWatcher:
    """The watcher as the service builds it, on this store and settings."""
    if clock is None:
        return AlertWatcher(store, settings, cases=CaseService(store, settings))
    return AlertWatcher(
        store, settings, cases=CaseService(store, settings, clock=clock), clock=clock
    )


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
    watcher = watcher_for(store, settings, clock=lambda: now[0])
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
    watcher = watcher_for(store, settings)
    assert [a.kind for a in watcher.run_once()] == ["vip_author"]
    assert watcher.run_once() == []


def test_a_warning_in_quiet_hours_is_held_and_sent_when_they_end(store, example_settings, receiver):
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
    watcher = watcher_for(store, settings, clock=lambda: now[0])
    assert [a.kind for a in watcher.run_once()] == ["sla_breach"]
    assert received == []  # held through the night
    with store.read() as cur:
        assert rows(cur, "SELECT status FROM alerts") == [{"status": "deferred"}]
    now[0] = datetime(2026, 11, 25, 8, 1, tzinfo=UTC)
    watcher.run_once()
    assert len(received) == 1
    with store.read() as cur:
        assert rows(cur, "SELECT status FROM alerts") == [{"status": "sent"}]


def test_alerts_held_for_quiet_hours_are_delivered_once_after_a_restart(
    store, example_settings, receiver
):
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
    assert [a.kind for a in watcher_for(store, settings, clock=lambda: now[0]).run_once()] == [
        "sla_breach"
    ]
    assert received == []
    store.close()  # the service stops during the night

    with Store.open(settings.database) as restarted:
        watcher = watcher_for(restarted, settings, clock=lambda: now[0])
        now[0] = datetime(2026, 11, 25, 7, 30, tzinfo=UTC)
        assert watcher.run_once() == []
        assert received == []  # still quiet hours
        now[0] = datetime(2026, 11, 25, 8, 1, tzinfo=UTC)
        watcher.run_once()
        now[0] += timedelta(hours=1)
        watcher.run_once()
        assert len(received) == 1
        assert json.loads(received[0][0])["kind"] == "sla_breach"
        with restarted.read() as cur:
            items, total = alert_store.recent(cur, limit=10, offset=0)
        assert total == 1
        assert [(a["kind"], a["status"], a["error"]) for a in items] == [
            ("sla_breach", "sent", None)
        ]


def store_mentions(store: Store, prefix: str, texts_at: list[tuple[str, datetime]]) -> list[str]:
    mentions = tuple(
        Mention(platform="x", native_id=f"{prefix}{i}", text=text, author=f"user{i}", created_at=at,
                lang="es", source="seed")
        for i, (text, at) in enumerate(texts_at)
    )  # fmt: skip
    store_page(store, "seed", "x", Page(mentions))
    return [m.key for m in mentions]


def score(store: Store, keys: list[str], sentiment: str, version: str, at: datetime) -> None:
    """Score mentions of Orbita as the score stage does (history and current score)."""
    negative = 0.9 if sentiment == "negative" else 0.05
    batch = pa.Table.from_pylist(
        [
            {"mention_key": key, "model_version": version, "lang": "es", "sentiment": sentiment,
             "p_negative": negative, "p_neutral": 0.9 - negative + 0.05, "p_positive": 0.05,
             "complaint": 0.5, "intent": "other", "urgency_score": 0.0, "urgency_level": 0,
             "urgency_reasons": [], "scored_at": at, "mention_lang": "es", "brand": "Orbita",
             "cluster_key": None}
            for key in keys
        ],
        schema=score_store.SCORE_SCHEMA,
    )  # fmt: skip
    with store.transaction() as cur:
        score_store.write(cur, batch)


def test_a_mention_rescored_by_a_new_model_counts_once_in_a_sentiment_drop(store, example_settings):
    now = datetime(2026, 11, 25, 12, 30, tzinfo=UTC)
    usual = [(f"Orbita, duda {i}", now - timedelta(days=2 + i % 8, hours=i)) for i in range(40)]
    usual_keys = store_mentions(store, "usual", usual)
    score(store, usual_keys[:4], "negative", "v1", now - timedelta(days=1))
    score(store, usual_keys[4:], "neutral", "v1", now - timedelta(days=1))
    recent = [(f"Orbita se cae otra vez {i}", now - timedelta(hours=2)) for i in range(20)]
    recent_keys = store_mentions(store, "recent", recent)
    score(store, recent_keys, "negative", "v1", now - timedelta(minutes=90))
    # the new model reads 8 of them as neutral: 12 of 20 recent mentions are negative, not 32 of 40
    score(store, recent_keys[:12], "negative", "v2", now - timedelta(minutes=60))
    score(store, recent_keys[12:], "neutral", "v2", now - timedelta(minutes=60))

    with store.read() as cur:
        series = alert_store.hourly_sentiment(
            cur, brands=["Orbita"], since=now - timedelta(hours=3)
        )
    assert [(negative, total) for _, negative, total in series["Orbita"]] == [(12, 20)]

    alerts = watcher_for(store, example_settings, clock=lambda: now).run_once()
    [drop] = [a for a in alerts if a.kind == "sentiment_drop"]
    assert "(12 of 20)" in drop.summary
    assert drop.data["share"] == pytest.approx(0.6)


def test_a_held_alert_that_cannot_be_sent_is_retried_then_marked_failed(store, example_settings):
    now = [datetime(2026, 11, 24, 23, 0, tzinfo=UTC)]
    night = AlertSubscriptionSettings(
        name="night", webhooks=["http://127.0.0.1:9/gone"], quiet_hours="22:00-08:00",
        quiet_mode="defer",
    )  # fmt: skip
    settings = example_settings.model_copy(
        update={"alerts": example_settings.alerts.model_copy(update={"subscriptions": [night]})}
    )
    seed_scored(store, native_id="1", text="Orbita no me deja pagar", urgency_level=1,
                created_at=now[0] - timedelta(days=3))  # fmt: skip
    triage_pending(store, settings, clock=lambda: now[0] - timedelta(days=3))
    watcher = watcher_for(store, settings, clock=lambda: now[0])
    watcher.run_once()
    statuses = []
    for moment in ("08:01", "08:05", "08:06", "08:16"):
        hour, minute = map(int, moment.split(":"))
        now[0] = datetime(2026, 11, 25, hour, minute, tzinfo=UTC)
        watcher.run_once()
        with store.read() as cur:
            [alert], _ = alert_store.recent(cur, limit=1, offset=0)
        statuses.append(alert["status"])
    assert statuses == ["deferred", "deferred", "deferred", "failed"]  # tried at 08:01, :06, :16
    assert alert["error"] == "night: webhook unreachable (ConnectError)"


def test_an_urgent_case_alert_that_could_not_be_sent_is_tried_again_later(
    store, example_settings, receiver
):
    """The webhook is down when the case opens: the alert is recorded as failed and tried again
    five minutes later (not on every cycle), three attempts in all; once it goes out, never again."""
    url, received = receiver
    down = "http://127.0.0.1:9/hook"  # nothing listens on the discard port
    settings = example_settings.model_copy(
        update={"alerts": example_settings.alerts.model_copy(update={"webhooks": [down]})}
    )
    seed_scored(store, native_id="1", text="Orbita: huele a gas en la centralita",
                urgency_level=3, reasons=("safety: gas leak",))  # fmt: skip
    triage_pending(store, settings)
    now = [datetime.now(UTC)]
    watcher = watcher_for(store, settings, clock=lambda: now[0])
    assert [a.kind for a in watcher.run_once()] == ["urgent_case"]
    assert watcher.run_once() == []  # not hammered on the next cycle
    now[0] += timedelta(minutes=6)
    assert [a.kind for a in watcher.run_once()] == ["urgent_case"]  # second attempt, still down

    # The endpoint is back: the third attempt goes out, and that is the last.
    working = settings.model_copy(
        update={"alerts": settings.alerts.model_copy(update={"webhooks": [url]})}
    )
    watcher = watcher_for(store, working, clock=lambda: now[0])
    now[0] += timedelta(minutes=6)
    assert [a.kind for a in watcher.run_once()] == ["urgent_case"]
    now[0] += timedelta(minutes=6)  # (the case's 15-minute first response is now breached)
    assert "urgent_case" not in [a.kind for a in watcher.run_once()]
    urgent = [body for body, _ in received if json.loads(body)["kind"] == "urgent_case"]
    assert len(urgent) == 1
    with store.read() as cur:
        stored = rows(cur, "SELECT status FROM alerts WHERE kind = 'urgent_case' ORDER BY id")
    assert [r["status"] for r in stored] == ["failed", "failed", "sent"]
