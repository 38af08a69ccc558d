"""Alerts to brand and care teams: what happened, the evidence, and delivery through Apprise and
signed JSON webhooks, with per-team subscriptions, quiet hours and de-duplication with cooldown.

The notifier sends; deciding *that* something is alert-worthy is done by the caller (triage, the
spike detector, the SLA clock), using the builders below so every alert reads the same way.
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

from pipeline.records import utc, utcnow
from pipeline.settings import AlertKind, AlertSettings, AlertSubscriptionSettings, parse_clock_range

logger = logging.getLogger(__name__)

Severity = Literal["info", "warning", "critical"]
Action = Literal["send", "defer", "suppress"]
SIGNATURE_HEADER = "X-Escucha-Signature"
_SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}
_EXCERPT = 200


@dataclass(frozen=True, slots=True)
class Evidence:
    """A mention that drove an alert, as the alert shows it."""

    platform: str
    author: str
    text: str
    url: str | None = None

    def line(self) -> str:
        text = " ".join(self.text.split())
        if len(text) > _EXCERPT:
            text = text[: _EXCERPT - 1] + "…"
        link = f" ({self.url})" if self.url else ""
        return f"- {self.platform} {self.author}: {text}{link}"


@dataclass(frozen=True, slots=True)
class Alert:
    """One incident to tell people about; ``dedupe_key`` is the same for every repeat of it."""

    kind: AlertKind
    dedupe_key: str
    severity: Severity
    title: str
    summary: str  # one or two sentences: what happened
    created_at: datetime
    dashboard_url: str | None = None
    team: str | None = None
    brand: str | None = None
    evidence: tuple[Evidence, ...] = ()
    terms: tuple[str, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)  # figures for machines (webhooks)

    @property
    def body(self) -> str:
        """The human-readable message: what happened, the evidence, the terms and a link."""
        parts = [self.summary]
        if self.evidence:
            parts.append("Mentions:\n" + "\n".join(e.line() for e in self.evidence))
        if self.terms:
            parts.append("Terms: " + ", ".join(self.terms))
        if self.dashboard_url:
            parts.append(f"Open in escucha: {self.dashboard_url}")
        return "\n\n".join(parts)

    def payload(self) -> dict[str, Any]:
        """The JSON document posted to webhooks (documented in docs/care.md)."""
        return {
            "kind": self.kind,
            "dedupe_key": self.dedupe_key,
            "severity": self.severity,
            "title": self.title,
            "summary": self.summary,
            "body": self.body,
            "created_at": utc(self.created_at).isoformat(),
            "dashboard_url": self.dashboard_url,
            "team": self.team,
            "brand": self.brand,
            "mentions": [
                {"platform": e.platform, "author": e.author, "text": e.text, "url": e.url}
                for e in self.evidence
            ],
            "terms": list(self.terms),
            "data": dict(self.data),
        }


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


# Builders: one per alert kind, so every alert says what happened the same way.


def urgent_case_alert(
    case_id: str,
    *,
    level: int,
    reasons: Sequence[str],
    evidence: Sequence[Evidence],
    now: datetime,
    team: str | None = None,
    brand: str | None = None,
    link: str | None = None,
    terms: Sequence[str] = (),
) -> Alert:
    """An urgent case was opened (urgency level at or above ``alerts.min_urgency_level``)."""
    names = ("none", "normal", "high", "critical")
    why = ", ".join(reasons) or "the urgency model"
    return Alert(
        kind="urgent_case",
        dedupe_key=f"urgent_case:{case_id}",
        severity="critical" if level >= 3 else "warning",
        title=f"Urgent case {case_id} ({names[max(0, min(level, 3))]})",
        summary=f"A {names[max(0, min(level, 3))]} urgency case was opened"
        + (f" for {brand}" if brand else "")
        + (f" in team {team}" if team else "")
        + f". Signals: {why}.",
        created_at=utc(now),
        dashboard_url=link,
        team=team,
        brand=brand,
        evidence=tuple(evidence),
        terms=tuple(terms),
        data={"case_id": case_id, "level": level, "reasons": list(reasons)},
    )


def volume_spike_alert(
    series: str,
    *,
    start: datetime,
    end: datetime,
    observed: int,
    expected: float,
    score: float,
    now: datetime,
    brand: str | None = None,
    evidence: Sequence[Evidence] = (),
    terms: Sequence[str] = (),
    link: str | None = None,
) -> Alert:
    """Mentions in ``series`` (e.g. "Orbita/x/negative") ran well above the seasonal baseline.

    The dedupe key is the series alone, so an ongoing spike is one alert per cooldown.
    """
    ratio = observed / expected if expected > 0 else float("inf")
    return Alert(
        kind="volume_spike",
        dedupe_key=f"volume_spike:{series}",
        severity="critical" if ratio >= 5 and observed >= 50 else "warning",
        title=f"Volume spike: {series}",
        summary=(
            f"{observed} mentions in {series} between {_hhmm(start)} and {_hhmm(end)} UTC, "
            f"against about {expected:.0f} expected for that time of the week "
            f"(x{ratio:.1f}, score {score:.1f})."
        ),
        created_at=utc(now),
        dashboard_url=link,
        brand=brand,
        evidence=tuple(evidence),
        terms=tuple(terms),
        data={
            "series": series,
            "start": utc(start).isoformat(),
            "end": utc(end).isoformat(),
            "observed": observed,
            "expected": round(expected, 2),
            "score": round(score, 2),
        },
    )


def sentiment_drop_alert(
    series: str,
    *,
    start: datetime,
    end: datetime,
    share: float,
    baseline_share: float,
    negative: int,
    total: int,
    now: datetime,
    brand: str | None = None,
    evidence: Sequence[Evidence] = (),
    terms: Sequence[str] = (),
    link: str | None = None,
) -> Alert:
    """The share of negative mentions in ``series`` rose well above its usual level."""
    return Alert(
        kind="sentiment_drop",
        dedupe_key=f"sentiment_drop:{series}",
        severity="warning",
        title=f"Sentiment drop: {series}",
        summary=(
            f"{share:.0%} of mentions in {series} were negative between {_hhmm(start)} and "
            f"{_hhmm(end)} UTC ({negative} of {total}), against {baseline_share:.0%} usually."
        ),
        created_at=utc(now),
        dashboard_url=link,
        brand=brand,
        evidence=tuple(evidence),
        terms=tuple(terms),
        data={"series": series, "share": share, "baseline_share": baseline_share},
    )


def is_vip(
    settings: AlertSettings, *, platform: str, author: str, followers: int | None = None
) -> bool:
    """A VIP is a listed author (``@handle`` or ``platform:handle``) or one with a large reach."""
    handle = author.casefold().lstrip("@")
    for entry in settings.vip_authors:
        wanted = entry.casefold()
        vip_platform, _, vip_handle = wanted.rpartition(":")
        if vip_handle.lstrip("@") == handle and vip_platform in ("", platform.casefold()):
            return True
    return followers is not None and followers >= settings.high_reach_followers


def vip_author_alert(
    mention_key: str,
    *,
    evidence: Evidence,
    followers: int | None,
    now: datetime,
    brand: str | None = None,
    case_id: str | None = None,
    link: str | None = None,
    terms: Sequence[str] = (),
) -> Alert:
    """A VIP or high-reach author mentioned the brand."""
    reach = f" ({followers:,} followers)" if followers else ""
    return Alert(
        kind="vip_author",
        dedupe_key=f"vip_author:{mention_key}",
        severity="warning",
        title=f"VIP mention: {evidence.author} on {evidence.platform}",
        summary=f"{evidence.author}{reach} mentioned {brand or 'the brand'} "
        f"on {evidence.platform}.",
        created_at=utc(now),
        dashboard_url=link,
        brand=brand,
        evidence=(evidence,),
        terms=tuple(terms),
        data={"mention": mention_key, "followers": followers, "case_id": case_id},
    )


def sla_breach_alert(
    case_id: str,
    *,
    clock: Literal["first_response", "resolution"],
    due: datetime,
    now: datetime,
    team: str | None = None,
    brand: str | None = None,
    link: str | None = None,
) -> Alert:
    """A case missed its first-response or resolution SLA; one alert per case and clock."""
    what = "first response" if clock == "first_response" else "resolution"
    return Alert(
        kind="sla_breach",
        dedupe_key=f"sla_breach:{case_id}:{clock}",
        severity="warning",
        title=f"SLA breached: case {case_id} ({what})",
        summary=f"Case {case_id}"
        + (f" in team {team}" if team else "")
        + f" was due a {what} by {utc(due).isoformat(timespec='minutes')} and has none yet.",
        created_at=utc(now),
        dashboard_url=link,
        team=team,
        brand=brand,
        data={"case_id": case_id, "clock": clock, "due": utc(due).isoformat()},
    )


def _hhmm(moment: datetime) -> str:
    return utc(moment).strftime("%Y-%m-%d %H:%M")
