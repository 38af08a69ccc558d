"""The alert watcher in the service: finds urgent new cases, SLA breaches, VIP authors and
volume spikes, records each alert, and hands it to the notifier (Apprise and signed webhooks)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pipeline.alerts import notify as builders
from pipeline.alerts.notify import Alert, AlertNotifier, Delivery, Evidence, NotifyResult
from pipeline.analytics.spikes import SpikeConfig, detect, detect_sentiment_drop
from pipeline.care.cases import add_event
from pipeline.errors import MissingSecret
from pipeline.records import utcnow
from pipeline.settings import Settings
from pipeline.store import Store, rows

logger = logging.getLogger(__name__)


class StoreSentLog:
    """When each incident was last alerted, read from the alerts table."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def last_sent(self, dedupe_key: str) -> datetime | None:
        with self.store.read() as cur:
            found = cur.execute(
                "SELECT max(created_at) FROM alerts WHERE dedupe_key = ?"
                " AND status IN ('sent', 'deferred', 'recorded')",
                [dedupe_key],
            ).fetchone()
        return None if found is None else found[0]

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


class AlertWatcher:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        notifier: AlertNotifier | None = None,
        clock: Callable[[], datetime] = utcnow,
        spike_every: timedelta = timedelta(minutes=5),
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        if notifier is None:
            secret = None
            try:
                secret = settings.secret(
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
        self._deferred: list[Delivery] = []  # held through quiet hours (kept in memory)

    def _link(self, path: str) -> str:
        return self.settings.service.dashboard_url.rstrip("/") + path

    def run_once(self) -> list[Alert]:
        now = self.clock()
        found = [*self._urgent_cases(now), *self._sla_breaches(now), *self._vip_authors(now)]
        if self._last_spike_check is None or now - self._last_spike_check >= self.spike_every:
            self._last_spike_check = now
            found.extend(self._spikes(now))
            found.extend(self._sentiment_drops(now))
        for alert in found:
            self._send(alert, now)
        self._deliver_deferred(now)
        return found

    def _deliver_deferred(self, now: datetime) -> None:
        due = [d for d in self._deferred if d.send_at <= now]
        self._deferred = [d for d in self._deferred if d.send_at > now]
        for delivery in due:
            error = self.notifier.deliver(delivery)
            with self.store.transaction() as cur:
                cur.execute(
                    "UPDATE alerts SET status = ?, delivered_at = ?, error = ?"
                    " WHERE dedupe_key = ? AND status = 'deferred'",
                    [
                        "sent" if error is None else "failed",
                        now if error is None else None,
                        error,
                        delivery.alert.dedupe_key,
                    ],
                )

    def _send(self, alert: Alert, now: datetime) -> None:
        error: str | None
        try:
            result = self.notifier.notify(alert, now)
        except Exception as exc:  # delivery must never stop the service loop
            logger.exception("alert %s could not be delivered", alert.dedupe_key)
            status, error = "failed", str(exc)
        else:
            if result.duplicate:
                return
            self._deferred.extend(result.deferred)
            status = _status(result)
            error = "; ".join(message for _, message in result.failed) or None
        with self.store.transaction() as cur:
            cur.execute(
                """INSERT INTO alerts (kind, dedupe_key, severity, title, body, payload, created_at,
                       status, delivered_at, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    alert.kind, alert.dedupe_key, alert.severity, alert.title, alert.body,
                    json.dumps(alert.payload(), ensure_ascii=False, default=str), now, status,
                    now if status == "sent" else None, error,
                ],
            )  # fmt: skip

    def _evidence(self, mention_key: str) -> list[Evidence]:
        with self.store.read() as cur:
            found = rows(
                cur, "SELECT platform, author, text, url FROM mentions WHERE key = ?", [mention_key]
            )
        return [Evidence(r["platform"], r["author"], r["text"], r["url"]) for r in found]

    def _urgent_cases(self, now: datetime) -> list[Alert]:
        with self.store.read() as cur:
            found = rows(
                cur,
                """SELECT c.* FROM cases c WHERE c.urgency_level >= ? AND c.opened_at > ?
                   AND NOT EXISTS (SELECT 1 FROM alerts a
                                   WHERE a.dedupe_key = 'urgent_case:' || c.id)""",
                [self.settings.alerts.min_urgency_level, now - timedelta(days=1)],
            )
        result = []
        for case in found:
            alert = builders.urgent_case_alert(
                case["id"], level=case["urgency_level"], reasons=case["urgency_reasons"] or [],
                evidence=self._evidence(case["mention_key"]), now=now, team=case["team"],
                brand=case["brand"], link=self._link(f"/case?id={case['id']}"),
            )  # fmt: skip
            result.append(alert)
        return result

    def _sla_breaches(self, now: datetime) -> list[Alert]:
        result = []
        with self.store.transaction() as cur:
            late = rows(
                cur,
                """SELECT id, team, brand, status,
                       CASE WHEN first_response_at IS NULL THEN 'first_response'
                            ELSE 'resolution' END AS clock,
                       CASE WHEN first_response_at IS NULL THEN first_response_due
                            ELSE resolution_due END AS due
                   FROM cases WHERE NOT sla_breached
                   AND status NOT IN ('resolved', 'closed_public', 'closed', 'dismissed')
                   AND sla_paused_at IS NULL
                   AND ((first_response_at IS NULL AND first_response_due < ?)
                        OR (first_response_at IS NOT NULL AND resolution_due < ?))""",
                [now, now],
            )
            for case in late:
                cur.execute("UPDATE cases SET sla_breached = true WHERE id = ?", [case["id"]])
                add_event(
                    cur, case["id"], actor="sla", action="sla_breach", from_status=case["status"],
                    to_status=case["status"], detail={"clock": case["clock"], "due": case["due"]},
                    at=now,
                )  # fmt: skip
                result.append(
                    builders.sla_breach_alert(
                        case["id"],
                        clock=case["clock"],
                        due=case["due"],
                        now=now,
                        team=case["team"],
                        brand=case["brand"],
                        link=self._link(f"/case?id={case['id']}"),
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
            counts = rows(
                cur,
                """SELECT brand, date_trunc('hour', created_at) AS hour, count(*) AS n
                   FROM mentions WHERE brand IN (SELECT unnest(?)) AND created_at >= ?
                   GROUP BY 1, 2 ORDER BY 2""",
                [brands, since],
            )
        result: list[Alert] = []
        for brand in brands:
            series = [(r["hour"], int(r["n"])) for r in counts if r["brand"] == brand]
            if not series:
                continue
            for spike in detect(series, now, config):
                evidence = self._spike_evidence(brand, spike.start, spike.end)
                result.append(
                    builders.volume_spike_alert(
                        brand,
                        start=spike.start,
                        end=spike.end,
                        observed=spike.observed,
                        expected=spike.expected,
                        score=spike.score,
                        now=now,
                        brand=brand,
                        evidence=evidence,
                        link=self._link("/"),
                    )
                )
        return result

    def _vip_authors(self, now: datetime) -> list[Alert]:
        settings = self.settings.alerts
        handles = [h.lower().lstrip("@").split(":")[-1] for h in settings.vip_authors]
        with self.store.read() as cur:
            found = rows(
                cur,
                """SELECT m.key, m.platform, m.author, m.author_followers, m.text, m.url, m.brand,
                       (SELECT min(case_id) FROM case_mentions cm WHERE cm.mention_key = m.key)
                       AS case_id
                   FROM mentions m
                   WHERE m.brand IN (SELECT unnest(?)) AND m.stage = 'triaged'
                   AND m.created_at > ?
                   AND (m.author_followers >= ? OR lower(m.author) IN (SELECT unnest(?)))
                   AND NOT EXISTS (SELECT 1 FROM alerts a
                                   WHERE a.dedupe_key = 'vip_author:' || m.key)
                   LIMIT 20""",
                [
                    sorted(self.settings.own_brands()), now - timedelta(days=1),
                    settings.high_reach_followers, handles,
                ],
            )  # fmt: skip
        result = []
        for row in found:
            vip = builders.is_vip(
                settings, platform=row["platform"], author=row["author"],
                followers=row["author_followers"],
            )  # fmt: skip
            if not vip:
                continue
            result.append(
                builders.vip_author_alert(
                    row["key"],
                    evidence=Evidence(row["platform"], row["author"], row["text"], row["url"]),
                    followers=row["author_followers"],
                    now=now,
                    brand=row["brand"],
                    case_id=row["case_id"],
                    link=self._link(f"/case?id={row['case_id']}" if row["case_id"] else "/"),
                )
            )
        return result

    def _sentiment_drops(self, now: datetime) -> list[Alert]:
        brands = sorted(self.settings.own_brands())
        with self.store.read() as cur:
            counts = rows(
                cur,
                """SELECT m.brand, date_trunc('hour', m.created_at) AS hour,
                       count(*) FILTER (WHERE s.sentiment = 'negative') AS negative,
                       count(*) AS total
                   FROM mentions m JOIN scores s ON s.mention_key = m.key
                   WHERE m.brand IN (SELECT unnest(?)) AND m.created_at >= ?
                   GROUP BY 1, 2 ORDER BY 2""",
                [brands, now - timedelta(days=15)],
            )
        result: list[Alert] = []
        for brand in brands:
            series = [
                (r["hour"], int(r["negative"]), int(r["total"]))
                for r in counts
                if r["brand"] == brand
            ]
            if not series:
                continue
            for drop in detect_sentiment_drop(series, now):
                result.append(
                    builders.sentiment_drop_alert(
                        brand,
                        start=drop.start,
                        end=drop.end,
                        share=drop.share,
                        baseline_share=drop.baseline_share,
                        negative=drop.negative,
                        total=drop.total,
                        now=now,
                        brand=brand,
                        evidence=self._spike_evidence(brand, drop.start, drop.end),
                        link=self._link("/"),
                    )
                )
        return result

    def _spike_evidence(self, brand: str, start: datetime, end: datetime) -> list[Evidence]:
        with self.store.read() as cur:
            found: list[dict[str, Any]] = rows(
                cur,
                """SELECT platform, author, text, url FROM mentions
                   WHERE brand = ? AND created_at >= ? AND created_at < ?
                   ORDER BY likes + shares DESC LIMIT 3""",
                [brand, start, end],
            )
        return [Evidence(r["platform"], r["author"], r["text"], r["url"]) for r in found]
