"""Alert delivery on loopback: Apprise email to a local SMTP sink, a signed JSON webhook to a local
receiver that checks the HMAC, and one alert per incident across repeated triggers."""

from __future__ import annotations

import email
import email.policy
import json
import socketserver
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pipeline.alerts.messages import (
    Evidence,
    is_vip,
    sla_breach_alert,
    urgent_case_alert,
    volume_spike_alert,
)
from pipeline.alerts.notify import (
    SIGNATURE_HEADER,
    AlertNotifier,
    MemorySentLog,
    plan,
    quiet_until,
    sign,
    verify,
)
from pipeline.settings import AlertSettings, AlertSubscriptionSettings

SECRET = "test-webhook-secret"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday 11:00 in Madrid


class SmtpSink(socketserver.ThreadingTCPServer):
    """Just enough SMTP to accept a message and keep it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []


class _SmtpHandler(socketserver.StreamRequestHandler):
    server: SmtpSink

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 sink ESMTP")
        sender, recipients = "", []
        while line := self.rfile.readline():
            command = line.decode("utf-8", "replace").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-sink")
                self.reply("250 8BITMIME")
            elif verb == "HELO":
                self.reply("250 sink")
            elif verb == "MAIL":
                sender, recipients = command.split(":", 1)[1].strip(), []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip())
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with .")
                lines = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(data[1:] if data.startswith(b"..") else data)
                message = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
                self.server.messages.append(message)  # type: ignore[arg-type]
                self.server.envelopes.append((sender, recipients))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            else:
                self.reply("502 not implemented")


class WebhookReceiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _WebhookHandler)
        self.received: list[dict[str, Any]] = []
        self.rejected = 0


class _WebhookHandler(BaseHTTPRequestHandler):
    server: WebhookReceiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if not verify(body, self.headers.get(SIGNATURE_HEADER), SECRET):
            self.server.rejected += 1
            self.send_response(401)
            self.end_headers()
            return
        self.server.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    server = SmtpSink()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def mailto(server: SmtpSink) -> str:
    port = server.server_address[1]
    return f"mailto://127.0.0.1:{port}?mode=insecure&from=alerts@example.com&to=marca@example.com"


def hook(server: WebhookReceiver) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/escucha"


def urgent(case_id: str = "c-1") -> Any:
    return urgent_case_alert(
        case_id,
        level=3,
        reasons=("safety", "legal threat"),
        evidence=(
            Evidence("x", "@ana", "El router de Orbita echa humo, voy a denunciar", "https://x/1"),
        ),
        terms=("humo", "denunciar"),
        team="atencion-es",
        brand="Orbita",
        now=NOW,
        link="http://localhost:8501/case?id=" + case_id,
    )


def test_email_and_signed_webhook_one_alert_per_incident(
    smtp: SmtpSink, webhook: WebhookReceiver
) -> None:
    settings = AlertSettings(urls=[mailto(smtp)], webhooks=[hook(webhook)], cooldown="30m")
    notifier = AlertNotifier(settings, webhook_secret=SECRET, sent_log=MemorySentLog())
    try:
        first = notifier.notify(urgent(), NOW)
        assert not first.failed, first.failed
        assert [d.subscription for d in first.sent] == ["default"]
        for minutes in (1, 5, 29):  # the same incident triggers again within the cooldown
            assert notifier.notify(urgent(), NOW + timedelta(minutes=minutes)).duplicate
        assert notifier.notify(urgent("c-2"), NOW).sent  # another incident is another alert
    finally:
        notifier.close()

    assert len(smtp.messages) == 2
    message = smtp.messages[0]
    assert "Urgent case c-1" in str(message["Subject"])
    text = message.get_body(preferencelist=("plain", "html"))
    assert text is not None
    content = text.get_content()
    assert "voy a denunciar" in content
    assert "humo, denunciar" in content
    assert "http://localhost:8501/case?id=c-1" in content
    assert smtp.envelopes[0][1] == ["<marca@example.com>"]

    assert webhook.rejected == 0
    assert [p["dedupe_key"] for p in webhook.received] == ["urgent_case:c-1", "urgent_case:c-2"]
    payload = webhook.received[0]
    assert payload["kind"] == "urgent_case"
    assert payload["severity"] == "critical"
    assert payload["mentions"][0]["author"] == "@ana"
    assert payload["terms"] == ["humo", "denunciar"]


def test_after_the_cooldown_the_incident_alerts_again(webhook: WebhookReceiver) -> None:
    notifier = AlertNotifier(
        AlertSettings(webhooks=[hook(webhook)], cooldown="30m"), webhook_secret=SECRET
    )
    spike = volume_spike_alert(
        "Orbita/x",
        start=NOW,
        end=NOW + timedelta(hours=2),
        observed=120,
        expected=20.0,
        score=12.3,
        now=NOW,
        brand="Orbita",
    )
    assert notifier.notify(spike, NOW).sent
    assert notifier.notify(spike, NOW + timedelta(minutes=20)).duplicate
    assert notifier.notify(spike, NOW + timedelta(minutes=31)).sent
    notifier.close()
    assert len(webhook.received) == 2
    assert webhook.received[0]["data"]["observed"] == 120


def test_wrong_secret_is_rejected_and_the_send_is_retried(webhook: WebhookReceiver) -> None:
    log = MemorySentLog()
    notifier = AlertNotifier(
        AlertSettings(webhooks=[hook(webhook)]), webhook_secret="wrong", sent_log=log
    )
    result = notifier.notify(urgent(), NOW)
    notifier.close()
    assert result.failed
    assert "401" in result.failed[0][1]
    assert webhook.rejected == 1
    assert log.last_sent("urgent_case:c-1") is None  # not marked sent, so the next trigger retries


def test_signature_is_over_the_exact_body() -> None:
    body = b'{"kind":"urgent_case"}'
    signature = sign(body, SECRET)
    assert signature.startswith("sha256=")
    assert len(signature) == 7 + 64
    assert verify(body, signature, SECRET)
    assert not verify(body + b" ", signature, SECRET)
    assert not verify(body, signature, "other")
    assert not verify(body, None, SECRET)


def subscribed(**kwargs: Any) -> AlertSettings:
    sub = AlertSubscriptionSettings(name="marca", webhooks=["http://127.0.0.1:9/x"], **kwargs)
    return AlertSettings(subscriptions=[sub])


def test_subscriptions_filter_by_kind_team_brand_and_severity() -> None:
    alert = urgent()
    assert plan(subscribed(kinds=["urgent_case"]), alert, NOW)
    assert not plan(subscribed(kinds=["volume_spike"]), alert, NOW)
    assert plan(subscribed(teams=["atencion-es"]), alert, NOW)
    assert not plan(subscribed(teams=["care-en"]), alert, NOW)
    assert plan(subscribed(brands=["orbita"]), alert, NOW)
    assert not plan(subscribed(brands=["Celera"]), alert, NOW)
    breach = sla_breach_alert("c-9", clock="first_response", due=NOW, now=NOW)
    assert not plan(subscribed(min_severity="critical"), breach, NOW)


def test_quiet_hours_defer_or_suppress_non_critical_alerts() -> None:
    night = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # 00:30 in Madrid
    quiet = {"quiet_hours": "22:00-08:00", "timezone": "Europe/Madrid"}
    breach = sla_breach_alert("c-9", clock="resolution", due=night, now=night)
    [deferred] = plan(subscribed(**quiet), breach, night)
    assert deferred.action == "defer"
    assert deferred.send_at == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # 08:00 Madrid
    [dropped] = plan(subscribed(quiet_mode="suppress", **quiet), breach, night)
    assert dropped.action == "suppress"
    [critical] = plan(subscribed(**quiet), urgent(), night)
    assert critical.action == "send"
    sub = AlertSubscriptionSettings(name="s", **quiet)
    assert quiet_until(sub, datetime(2026, 11, 23, 21, 30, tzinfo=UTC)) is not None  # 22:30
    assert quiet_until(sub, datetime(2026, 11, 23, 12, 0, tzinfo=UTC)) is None


def test_deferred_alert_is_recorded_once_and_delivered_later(webhook: WebhookReceiver) -> None:
    night = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    settings = AlertSettings(
        subscriptions=[
            AlertSubscriptionSettings(
                name="marca",
                webhooks=[hook(webhook)],
                quiet_hours="22:00-08:00",
                timezone="Europe/Madrid",
            )
        ]
    )
    notifier = AlertNotifier(settings, webhook_secret=SECRET)
    breach = sla_breach_alert("c-9", clock="resolution", due=night, now=night)
    result = notifier.notify(breach, night)
    assert result.deferred
    assert not result.sent
    assert notifier.notify(breach, night + timedelta(minutes=5)).duplicate
    assert webhook.received == []
    assert notifier.deliver(result.deferred[0]) is None
    notifier.close()
    assert [p["kind"] for p in webhook.received] == ["sla_breach"]


def test_vip_authors_by_list_or_reach() -> None:
    settings = AlertSettings(vip_authors=["@famosa", "reddit:u_guru"], high_reach_followers=50_000)
    assert is_vip(settings, platform="x", author="@Famosa")
    assert is_vip(settings, platform="reddit", author="u_guru")
    assert not is_vip(settings, platform="x", author="u_guru")
    assert is_vip(settings, platform="youtube", author="someone", followers=60_000)
    assert not is_vip(settings, platform="youtube", author="someone", followers=10)
