"""Alert delivery: Apprise URLs and HMAC-signed JSON webhooks, per-team subscriptions, quiet
hours, and one alert per incident (de-duplication with a cooldown).

What an alert says is built in :mod:`pipeline.alerts.messages`; what is alert-worthy is decided by
:mod:`pipeline.alerts.watch`, which also keeps deferred deliveries in the store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

import httpx

from pipeline.alerts.messages import Alert
from pipeline.records import utc, utcnow
from pipeline.settings import AlertSettings, AlertSubscriptionSettings, parse_clock_range

logger = logging.getLogger(__name__)

Action = Literal["send", "defer", "suppress"]
SIGNATURE_HEADER = "X-Escucha-Signature"
_SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}


def sign(body: bytes, secret: str) -> str:
    """The ``X-Escucha-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(body: bytes, signature: str | None, secret: str) -> bool:
    """Check a received signature header against the exact body bytes (constant time)."""
    return signature is not None and hmac.compare_digest(sign(body, secret), signature)


class SentLog(Protocol):
    """Where the notifier remembers when each incident was last alerted (the store, in service)."""

    def last_sent(self, dedupe_key: str) -> datetime | None: ...

    def record(self, dedupe_key: str, at: datetime) -> None: ...


class MemorySentLog:
    """A SentLog in a dict, for tests and one-shot commands."""

    def __init__(self, initial: Mapping[str, datetime] | None = None) -> None:
        self._sent = dict(initial or {})

    def last_sent(self, dedupe_key: str) -> datetime | None:
        return self._sent.get(dedupe_key)

    def record(self, dedupe_key: str, at: datetime) -> None:
        self._sent[dedupe_key] = at


@dataclass(frozen=True, slots=True)
class Delivery:
    """One alert for one subscription: send now, send at ``send_at`` (deferred), or drop."""

    alert: Alert
    subscription: str
    urls: tuple[str, ...]
    webhooks: tuple[str, ...]
    action: Action
    send_at: datetime
    reason: str


@dataclass(slots=True)
class NotifyResult:
    """What happened to an alert: duplicates are dropped whole, others per subscription."""

    duplicate: bool = False
    sent: list[Delivery] = field(default_factory=list)
    deferred: list[Delivery] = field(default_factory=list)
    suppressed: list[Delivery] = field(default_factory=list)
    failed: list[tuple[Delivery, str]] = field(default_factory=list)


def subscriptions(settings: AlertSettings) -> list[AlertSubscriptionSettings]:
    """The configured subscriptions, plus a catch-all one for the top-level urls and webhooks."""
    result = list(settings.subscriptions)
    if settings.urls or settings.webhooks:
        result.insert(
            0,
            AlertSubscriptionSettings(
                name="default", urls=settings.urls, webhooks=settings.webhooks
            ),
        )
    return result


def matches(subscription: AlertSubscriptionSettings, alert: Alert) -> bool:
    """Whether a subscription wants this alert (kind, team, brand and minimum severity)."""
    if subscription.kinds and alert.kind not in subscription.kinds:
        return False
    if subscription.teams and alert.team not in subscription.teams:
        return False
    if subscription.brands and (alert.brand or "").casefold() not in {
        b.casefold() for b in subscription.brands
    }:
        return False
    return _SEVERITY_RANK[alert.severity] >= _SEVERITY_RANK[subscription.min_severity]


def quiet_until(subscription: AlertSubscriptionSettings, now: datetime) -> datetime | None:
    """The end of the quiet period ``now`` falls in (UTC), or None outside quiet hours."""
    if subscription.quiet_hours is None:
        return None
    start, end = parse_clock_range(subscription.quiet_hours)
    zone = ZoneInfo(subscription.timezone)
    local = utc(now).astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return utc(datetime.combine(day, end, tzinfo=zone))


def plan(settings: AlertSettings, alert: Alert, now: datetime) -> list[Delivery]:
    """Decide, per matching subscription, whether to send the alert now, later, or not at all.

    Critical alerts ignore quiet hours; others are deferred to the end of the quiet period or
    suppressed, as the subscription's ``quiet_mode`` says. De-duplication is not done here.
    """
    now = utc(now)
    deliveries = []
    for sub in subscriptions(settings):
        if not matches(sub, alert) or not (sub.urls or sub.webhooks):
            continue
        urls, hooks = tuple(sub.urls), tuple(sub.webhooks)
        until = quiet_until(sub, now)
        if until is None or alert.severity == "critical":
            reason = "quiet hours, but critical" if until else "subscribed"
            deliveries.append(Delivery(alert, sub.name, urls, hooks, "send", now, reason))
        elif sub.quiet_mode == "defer":
            deliveries.append(Delivery(alert, sub.name, urls, hooks, "defer", until, "quiet hours"))
        else:
            deliveries.append(
                Delivery(alert, sub.name, urls, hooks, "suppress", now, "quiet hours")
            )
    return deliveries


def is_duplicate(
    dedupe_key: str, now: datetime, cooldown: timedelta, last_sent: datetime | None
) -> bool:
    """True while an alert with the same key went out less than ``cooldown`` ago."""
    return last_sent is not None and utc(now) - utc(last_sent) < cooldown


AppriseFactory = Callable[[], Any]


class AlertNotifier:
    """Delivers alerts through Apprise URLs and HMAC-signed JSON webhooks, once per incident.

    ``webhook_secret`` signs webhook bodies (read it with ``settings.secret(alerts.webhook_secret,
    ...)``); without one, webhooks are sent unsigned and a warning is logged. ``http`` and
    ``apprise_factory`` are injectable for tests.
    """

    def __init__(
        self,
        settings: AlertSettings,
        *,
        webhook_secret: str | None = None,
        sent_log: SentLog | None = None,
        http: httpx.Client | None = None,
        apprise_factory: AppriseFactory | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.settings = settings
        self.sent_log: SentLog = sent_log if sent_log is not None else MemorySentLog()
        self._secret = webhook_secret
        self._http = http or httpx.Client(timeout=timeout)
        self._apprise_factory = apprise_factory or _default_apprise

    def notify(self, alert: Alert, now: datetime | None = None) -> NotifyResult:
        """Plan the alert, drop it if the same incident was alerted within the cooldown, and send
        what is due now. Deferred deliveries are returned for the caller to :meth:`deliver` later.
        """
        now = utc(now or utcnow())
        result = NotifyResult()
        last = self.sent_log.last_sent(alert.dedupe_key)
        if is_duplicate(alert.dedupe_key, now, self.settings.cooldown, last):
            logger.info("alert %s is a repeat within the cooldown", alert.dedupe_key)
            result.duplicate = True
            return result
        for delivery in plan(self.settings, alert, now):
            if delivery.action == "defer":
                result.deferred.append(delivery)
            elif delivery.action == "suppress":
                result.suppressed.append(delivery)
            else:
                error = self.deliver(delivery)
                if error is None:
                    result.sent.append(delivery)
                else:
                    result.failed.append((delivery, error))
        if result.sent or result.deferred:  # a failed send is retried on the next trigger
            self.sent_log.record(alert.dedupe_key, now)
        return result

    def deliver(self, delivery: Delivery) -> str | None:
        """Send one delivery now; returns None on success or a description of what failed."""
        errors = []
        if delivery.urls and not self._send_apprise(delivery.alert, delivery.urls):
            errors.append("an Apprise notification failed")
        for url in delivery.webhooks:
            error = self._send_webhook(delivery.alert, url)
            if error:
                errors.append(error)
        if errors:
            logger.warning(
                "alert %s to %s: %s",
                delivery.alert.dedupe_key,
                delivery.subscription,
                "; ".join(errors),
            )
            return "; ".join(errors)
        logger.info("alert %s sent to %s", delivery.alert.dedupe_key, delivery.subscription)
        return None

    def deliver_deferred(self, alert: Alert, subscription: str, now: datetime) -> str | None:
        """Send an alert held for ``subscription`` now that its quiet hours are over.

        The subscription's targets are read from the current settings (they hold tokens, so they
        are never stored with the delivery); one removed since then is reported as the error.
        """
        for sub in subscriptions(self.settings):
            if sub.name == subscription and (sub.urls or sub.webhooks):
                delivery = Delivery(
                    alert, sub.name, tuple(sub.urls), tuple(sub.webhooks), "send", utc(now),
                    "quiet hours ended",
                )  # fmt: skip
                return self.deliver(delivery)
        logger.warning("alert %s: subscription %s is gone", alert.dedupe_key, subscription)
        return f"subscription {subscription!r} is no longer configured"

    def close(self) -> None:
        self._http.close()

    def _send_apprise(self, alert: Alert, urls: Sequence[str]) -> bool:
        apobj = self._apprise_factory()
        for url in urls:
            if not apobj.add(url):
                logger.warning("not a usable Apprise URL for subscription (check its syntax)")
                return False
        return bool(apobj.notify(title=alert.title, body=alert.body))

    def _send_webhook(self, alert: Alert, url: str) -> str | None:
        body = json.dumps(alert.payload(), ensure_ascii=False, sort_keys=True).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Escucha-Event": alert.kind,
            "X-Escucha-Dedupe-Key": alert.dedupe_key,
        }
        if self._secret:
            headers[SIGNATURE_HEADER] = sign(body, self._secret)
        else:
            logger.warning("webhook alert sent unsigned: no webhook secret is configured")
        try:
            response = self._http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return f"webhook unreachable ({type(exc).__name__})"
        if response.status_code >= 300:
            return f"webhook answered HTTP {response.status_code}"
        return None


def _default_apprise() -> Any:
    import apprise

    return apprise.Apprise()
