"""The alert watcher in the service: decides what is alert-worthy (urgent new cases, SLA breaches,
VIP authors, volume spikes, sentiment drops), records each alert and hands it to the notifier."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal, cast

from pipeline.alerts import messages
from pipeline.alerts.messages import Alert, Evidence
from pipeline.alerts.notify import AlertNotifier, NotifyResult
from pipeline.analytics.spikes import SentimentConfig, SpikeConfig, detect, detect_sentiment_drop
from pipeline.care.cases import CaseService
from pipeline.errors import MissingSecret
from pipeline.records import utcnow
from pipeline.settings import Settings
from pipeline.store import Store
from pipeline.store import alerts as alert_store

logger = logging.getLogger(__name__)

# A held delivery that fails is tried again this much later (times the attempts), up to a limit.
RETRY_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 3


class StoreSentLog:
    """When each incident was last alerted, read from the alerts table."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def last_sent(self, dedupe_key: str) -> datetime | None:
        with self.store.read() as cur:
            return alert_store.last_sent(cur, dedupe_key)

    def record(self, dedupe_key: str, at: datetime) -> None:
        """Nothing to do: the watcher writes the alert row itself."""


def _status(result: NotifyResult) -> str:
    if result.sent:
        return "sent"
    if result.failed:
        return "failed"
    if result.deferred:
        return "deferred"
    if result.suppressed:
        return "suppressed"
    return "recorded"  # no subscription wanted it; still shown in the dashboard


def _evidence(found: list[alert_store.Excerpt]) -> list[Evidence]:
    return [Evidence(e.platform, e.author, e.text, e.url) for e in found]


class AlertWatcher:
    """Looks for alert-worthy events on each :meth:`run_once` and sends what is due.

    ``cases`` marks SLA breaches on the cases (it alone writes case marks); ``notifier`` and
    ``clock`` are injectable for tests.
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        cases: CaseService,
        notifier: AlertNotifier | None = None,
        clock: Callable[[], datetime] = utcnow,
        spike_every: timedelta = timedelta(minutes=5),
    ) -> None:
        self.store = store
        self.settings = settings
        self.cases = cases
        self.clock = clock
        if notifier is None:
            try:
                secret: str | None = settings.secret(
                    settings.alerts.webhook_secret, needed_for="signed webhooks"
                )
            except MissingSecret:
                secret = None
            notifier = AlertNotifier(
                settings.alerts, webhook_secret=secret, sent_log=StoreSentLog(store)
            )
        self.notifier = notifier
        self.spike_every = spike_every
        self._last_spike_check: datetime | None = None

    def _link(self, path: str) -> str:
        return self.settings.service.dashboard_url.rstrip("/") + path

    def run_once(self) -> list[Alert]:
        """Send the held deliveries that are due, then find, record and send new alerts."""
        now = self.clock()
        self._deliver_held(now)
        found = [*self._urgent_cases(now), *self._sla_breaches(now), *self._vip_authors(now)]
        if self._last_spike_check is None or now - self._last_spike_check >= self.spike_every:
            self._last_spike_check = now
            found.extend(self._spikes(now))
            found.extend(self._sentiment_drops(now))
        for alert in found:
            self._send(alert, now)
        return found

    def _deliver_held(self, now: datetime) -> None:
        """Send deliveries held through quiet hours, whichever process held them."""
        with self.store.read() as cur:
            due = alert_store.due_deliveries(cur, now)
        for held in due:
            alert = Alert.from_payload(json.loads(held.payload))
            error: str | None
            try:
                error = self.notifier.deliver_deferred(alert, held.subscription, now)
            except Exception as exc:  # delivery must never stop the service loop
                logger.exception("held alert %s could not be delivered", alert.dedupe_key)
                error = str(exc) or type(exc).__name__
            with self.store.transaction() as cur:
                if error is None:
                    alert_store.delivered(cur, held.id, now=now)
                else:
                    attempts = held.attempts + 1
                    retry = now + RETRY_AFTER * attempts if attempts < MAX_ATTEMPTS else None
                    alert_store.delivery_failed(cur, held.id, error=error, retry_at=retry)
                alert_store.settle(cur, held.alert_id, now=now)

    def _send(self, alert: Alert, now: datetime) -> None:
        error: str | None
        deferred = []
        try:
            result = self.notifier.notify(alert, now)
        except Exception as exc:  # delivery must never stop the service loop
            logger.exception("alert %s could not be delivered", alert.dedupe_key)
            status, error = "failed", str(exc)
        else:
            if result.duplicate:
                return
            deferred = result.deferred
            status = _status(result)
            error = "; ".join(message for _, message in result.failed) or None
        with self.store.transaction() as cur:
            alert_id = alert_store.insert(
                cur, kind=alert.kind, dedupe_key=alert.dedupe_key, severity=alert.severity,
                title=alert.title, body=alert.body,
                payload=json.dumps(alert.payload(), ensure_ascii=False, default=str),
                created_at=now, status=status, error=error,
            )  # fmt: skip
            for delivery in deferred:
                alert_store.hold(
                    cur, alert_id, subscription=delivery.subscription,
                    send_at=delivery.send_at, now=now,
                )  # fmt: skip

    def _urgent_cases(self, now: datetime) -> list[Alert]:
        with self.store.read() as cur:
            # An alert that failed to go out is tried again RETRY_AFTER later, MAX_ATTEMPTS in all.
            found = alert_store.urgent_cases_not_alerted(
                cur, min_level=self.settings.alerts.min_urgency_level,
                since=now - timedelta(days=1), retry_before=now - RETRY_AFTER,
                max_attempts=MAX_ATTEMPTS,
            )  # fmt: skip
            evidence = {
                case.id: alert_store.mention_excerpt(cur, case.mention_key) for case in found
            }
        return [
            messages.urgent_case_alert(
                case.id,
                level=case.urgency_level,
                reasons=case.urgency_reasons,
                evidence=_evidence(evidence[case.id]),
                now=now,
                team=case.team,
                brand=case.brand,
                link=self._link(f"/case?id={case.id}"),
            )
            for case in found
        ]

    def _sla_breaches(self, now: datetime) -> list[Alert]:
        return [
            messages.sla_breach_alert(
                breach.case_id,
                clock=cast(Literal["first_response", "resolution"], breach.clock),
                due=breach.due,
                now=now,
                team=breach.team,
                brand=breach.brand,
                link=self._link(f"/case?id={breach.case_id}"),
            )
            for breach in self.cases.mark_sla_breaches(now)
        ]

    def _vip_authors(self, now: datetime) -> list[Alert]:
        settings = self.settings.alerts
        handles = [h.lower().lstrip("@").split(":")[-1] for h in settings.vip_authors]
        with self.store.read() as cur:
            found = alert_store.vip_mentions(
                cur, brands=sorted(self.settings.own_brands()), since=now - timedelta(days=1),
                min_followers=settings.high_reach_followers, handles=handles,
            )  # fmt: skip
        result = []
        for row in found:
            vip = messages.is_vip(
                settings, platform=row.platform, author=row.author, followers=row.author_followers
            )
            if not vip:
                continue
            result.append(
                messages.vip_author_alert(
                    row.key,
                    evidence=Evidence(row.platform, row.author, row.text, row.url),
                    followers=row.author_followers,
                    now=now,
                    brand=row.brand,
                    case_id=row.case_id,
                    link=self._link(f"/case?id={row.case_id}" if row.case_id else "/"),
                )
            )
        return result

    def _spikes(self, now: datetime) -> list[Alert]:
        brands = sorted(self.settings.own_brands())
        if not brands:
            return []
        config = SpikeConfig()
        since = now - timedelta(weeks=config.weeks + config.dispersion_hours // 168)
        with self.store.read() as cur:
            counts = alert_store.hourly_counts(cur, brands=brands, since=since)
        result: list[Alert] = []
        for brand in brands:
            series = counts.get(brand)
            if not series:
                continue
            for spike in detect(series, now, config):
                result.append(
                    messages.volume_spike_alert(
                        brand,
                        start=spike.start,
                        end=spike.end,
                        observed=spike.observed,
                        expected=spike.expected,
                        score=spike.score,
                        now=now,
                        brand=brand,
                        evidence=self._top_mentions(brand, spike.start, spike.end),
                        link=self._link("/"),
                    )
                )
        return result

    def _sentiment_drops(self, now: datetime) -> list[Alert]:
        brands = sorted(self.settings.own_brands())
        if not brands:
            return []
        config = SentimentConfig()
        # far enough back for the baseline of the first window in the lookback
        since = now - config.lookback - config.window - config.baseline
        with self.store.read() as cur:
            counts = alert_store.hourly_sentiment(cur, brands=brands, since=since)
        result: list[Alert] = []
        for brand in brands:
            series = counts.get(brand)
            if not series:
                continue
            for drop in detect_sentiment_drop(series, now, config):
                result.append(
                    messages.sentiment_drop_alert(
                        brand,
                        start=drop.start,
                        end=drop.end,
                        share=drop.share,
                        baseline_share=drop.baseline_share,
                        negative=drop.negative,
                        total=drop.total,
                        now=now,
                        brand=brand,
                        evidence=self._top_mentions(brand, drop.start, drop.end),
                        link=self._link("/"),
                    )
                )
        return result

    def _top_mentions(self, brand: str, start: datetime, end: datetime) -> list[Evidence]:
        with self.store.read() as cur:
            return _evidence(alert_store.top_mentions(cur, brand=brand, start=start, end=end))
