"""The service: owns the store, runs the source schedule, the stages, the outbox, the
private-message poller and the webhook inbox, on a background thread beside the HTTP API."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from crawlers.registry import build_source
from pipeline import telemetry
from pipeline.alerts.watch import AlertWatcher
from pipeline.care.cases import CHANNEL_PLATFORMS, CaseService, is_template
from pipeline.care.outbox import OutboxRun, OutboxWorker
from pipeline.care.privacy import apply_retention
from pipeline.errors import EscuchaError, SourceError
from pipeline.ports import Channel, Classifier, Moderator, Source, WebhookReceiver
from pipeline.records import (
    InboundMessage,
    Mention,
    OutboundMessage,
    Page,
    SentMessage,
    WebhookEvents,
    utcnow,
)
from pipeline.settings import Settings
from pipeline.stages.enrich import BrandMatcher
from pipeline.stages.ingest import store_page
from pipeline.stages.poll import PollResult, poll_source
from pipeline.stages.score import score_pending
from pipeline.stages.triage import TriageResult, triage_pending
from pipeline.store import Store, fulltext, summary
from pipeline.store import cases as cases_q
from pipeline.store import mentions as mq
from pipeline.store import webhooks as webhooks_q

logger = logging.getLogger(__name__)

ClassifierFactory = Callable[[], Classifier]


@runtime_checkable
class TemplateChannel(Protocol):
    """A channel with approved templates for when free-form messages are not allowed (WhatsApp
    outside its 24-hour window)."""

    platform: str

    def send_template(
        self, message: OutboundMessage, variables: Mapping[str, str]
    ) -> SentMessage: ...


class _CaseChannel:
    """A channel as the outbox sees it: intents composed as templates go as the approved
    template, filled from their case, and only to a customer who opted in by writing first."""

    def __init__(self, inner: Channel, service: Service) -> None:
        self.inner = inner
        self.service = service
        self.platform = inner.platform

    def send(self, message: OutboundMessage) -> SentMessage:
        if not is_template(message):
            return self.inner.send(message)
        if not isinstance(self.inner, TemplateChannel):
            raise SourceError("this channel has no templates", platform=self.platform)
        return self.inner.send_template(message, self.service.template_fields(message))

    def find_sent(self, message: OutboundMessage) -> SentMessage | None:
        return self.inner.find_sent(message)

    def poll_private(
        self, cursor: Mapping[str, Any] | None
    ) -> tuple[list[InboundMessage], Mapping[str, Any] | None]:
        return self.inner.poll_private(cursor)


def default_classifier_factory(settings: Settings) -> ClassifierFactory:
    def load() -> Classifier:
        from classifiers import load_classifier

        return load_classifier(settings.model)

    return load


@dataclass
class CycleReport:
    polls: list[PollResult] = field(default_factory=list)
    indexed: int = 0  # mentions added to (or updated in) the full-text index
    scored: int = 0
    triage: TriageResult = field(default_factory=TriageResult)
    outbox: OutboxRun = field(default_factory=OutboxRun)
    assigned: int = 0  # waiting cases given to agents who came on shift or freed up
    private_messages: int = 0
    alerts: int = 0
    webhooks: int = 0  # stored webhook deliveries processed this cycle
    webhooks_set_aside: int = 0  # deliveries that could not be processed (kept with the reason)
    retention: dict[str, int] = field(default_factory=dict)  # rows anonymised per table, if run
    errors: list[str] = field(default_factory=list)


def _counted(result: PollResult) -> PollResult:
    """``result``, added to the poll counters."""
    outcome = "ok" if result.error is None else "rate_limited" if result.retry_after else "error"
    telemetry.POLLS.labels(result.source, outcome).inc()
    telemetry.INGESTED.labels(result.source, "new").inc(result.ingest.new)
    telemetry.INGESTED.labels(result.source, "edited").inc(result.ingest.edited)
    return result


class Service:
    """Everything the running product does, driven by ``run_cycle`` or the background loop."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        classifier_factory: ClassifierFactory | None = None,
        sources: dict[str, Source] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self._classifier_factory = classifier_factory or default_classifier_factory(settings)
        self._classifier: Classifier | None = None
        self.classifier_error: str | None = None
        self.matcher = BrandMatcher.from_settings(settings)
        self.cases = CaseService(store, settings, clock=clock)
        self.source_errors: dict[str, str] = {}
        self.sources = sources if sources is not None else self._build_sources()
        self.outbox = OutboxWorker(store, self.channel_for, clock=clock)
        self.alerts = AlertWatcher(store, settings, cases=self.cases, clock=clock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cycle_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="escucha-source")
        self._polls: dict[str, Future[PollResult]] = {}
        self._retention_due: datetime | None = None  # None: at the first cycle

    # -- wiring -------------------------------------------------------------------------------
    def _build_sources(self) -> dict[str, Source]:
        built: dict[str, Source] = {}
        for config in self.settings.sources:
            if not config.enabled:
                continue
            try:
                built[config.name] = build_source(config, self.settings)
            except EscuchaError as exc:
                # One misconfigured source must not stop the others: show it in its health.
                self.source_errors[config.name] = str(exc)
                logger.error("source %s not started: %s", config.name, exc)
                with self.store.transaction() as cur:
                    mq.record_run(
                        cur, config.name, config.platform, at=self.clock(), items=0,
                        error=str(exc), next_run_at=None,
                    )  # fmt: skip
        return built

    def channel_for(self, source: str | None, platform: str) -> Channel | None:
        """The channel an outbox intent goes through: its source's, else the platform's.

        A case's private messages on WhatsApp or e-mail are enqueued with that source and
        platform (``CaseService``), so they go there, not to the public platform's channel."""
        found: Channel | None = None
        if source and isinstance(self.sources.get(source), Channel):
            found = self.sources[source]  # type: ignore[assignment]
        else:
            for candidate in self.sources.values():
                if candidate.platform == platform and isinstance(candidate, Channel):
                    found = candidate
                    break
        if found is not None and isinstance(found, TemplateChannel):
            return _CaseChannel(found, self)
        return found

    def template_fields(self, message: OutboundMessage) -> dict[str, str]:
        """The variables of an approved template, from the intent's case: the customer's name
        and the case reference. Refuses a customer who never wrote to us there (no opt-in)."""
        recipient = message.recipient or ""
        with self.store.read() as cur:
            if not webhooks_q.opted_in(cur, message.platform, recipient):
                raise SourceError(
                    "the customer has not opted in (they never wrote to us on this channel)",
                    platform=message.platform,
                    hint="wait for them to write; the acknowledgement's link invites them",
                )
            case = cases_q.get(cur, message.case_id) if message.case_id else None
        name = case.author if case is not None else recipient
        return {"customer_name": name, "case_id": message.case_id or ""}

    @property
    def classifier(self) -> Classifier:
        if self._classifier is None:
            self._classifier = self._classifier_factory()
        return self._classifier

    @property
    def model_version(self) -> str | None:
        return self._classifier.version if self._classifier is not None else None

    # -- one cycle ------------------------------------------------------------------------------
    def run_cycle(
        self, *, only: Iterable[str] | None = None, force: bool = False, wait: bool = True
    ) -> CycleReport:
        """Poll due sources, score, triage, send replies and read private messages once.

        Sources are polled on worker threads, so a slow crawl or a rate-limit wait never holds
        up replies and scoring; with ``wait`` the cycle waits for this cycle's polls to finish.
        """
        with self._cycle_lock, telemetry.CYCLES.time():
            report = CycleReport()
            now = self.clock()
            wanted = set(only) if only is not None else None
            started = []
            for name, source in self.sources.items():
                if wanted is not None and name not in wanted:
                    continue
                running = self._polls.get(name)
                if running is not None and not running.done():
                    continue
                if not force and not self._due(name, now):
                    continue
                config = self.settings.source(name) if self._configured(name) else None
                every = config.every if config else None
                self._polls[name] = self._pool.submit(
                    poll_source, self.store, source, every=every, now=now
                )
                started.append(name)
            for name in list(self._polls):
                future = self._polls[name]
                if wait and name in started:
                    future.result()
                if future.done():
                    del self._polls[name]
                    report.polls.append(_counted(future.result()))
            self._retain(now, report)
            report.indexed = fulltext.index_pending(self.store)  # new and edited mentions
            self._score_and_triage(report)
            self.process_webhooks(report)
            report.outbox = self.outbox.run_once()
            for outcome in ("sent", "retried", "failed"):
                telemetry.OUTBOX.labels(outcome).inc(getattr(report.outbox, outcome))
            report.private_messages += self.poll_private_messages()
            try:
                report.alerts = len(self.alerts.run_once())
            except EscuchaError as exc:
                report.errors.append(str(exc))
            telemetry.CYCLE_ERRORS.inc(len(report.errors))
            return report

    def _retain(self, now: datetime, report: CycleReport) -> None:
        """Anonymise mentions past their retention, at most every ``privacy.retention_every``."""
        privacy = self.settings.privacy
        if not privacy.retention_days or (
            self._retention_due is not None and now < self._retention_due
        ):
            return
        self._retention_due = now + privacy.retention_every
        try:
            report.retention = apply_retention(self.store, self.settings, now)
        except EscuchaError as exc:
            report.errors.append(str(exc))
            return
        if any(report.retention.values()):
            logger.info("retention anonymised %s", report.retention, extra=report.retention)

    def _configured(self, name: str) -> bool:
        return any(s.name == name for s in self.settings.sources)

    def _due(self, name: str, now: datetime) -> bool:
        with self.store.read() as cur:
            next_run = mq.next_run_at(cur, name)
        return next_run is None or next_run <= now

    def _score_and_triage(self, report: CycleReport) -> None:
        """Drain the scoring backlog newest first, triaging after every batch, so the queue
        fills at the model's speed; a stop request is honoured between batches (a batch is one
        transaction: written whole or not at all)."""
        try:
            classifier = self.classifier
        except EscuchaError as exc:
            self.classifier_error = str(exc)
            report.errors.append(str(exc))
            return
        deadline = time.monotonic() + self.settings.service.score_budget.total_seconds()
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                scored = score_pending(
                    self.store, classifier, self.matcher, batch=self.settings.service.score_batch
                )
                if scored:
                    took = time.perf_counter() - started
                    telemetry.SCORED.inc(scored)
                    telemetry.SCORING.observe(took)
                    telemetry.SCORING_PER_MENTION.observe(took / scored)
            except EscuchaError as exc:  # unscored mentions wait; replies and alerts still go out
                logger.error("scoring failed: %s", exc)
                report.errors.append(str(exc))
                scored = 0
            report.scored += scored
            self._triage(report)
            if scored == 0 or time.monotonic() >= deadline:
                break
        report.assigned = self.cases.dispatch_waiting()

    def _triage(self, report: CycleReport) -> None:
        while step := triage_pending(self.store, self.settings, cases=self.cases, clock=self.clock):
            report.triage += step

    def poll_private_messages(self) -> int:
        """Read customers' private replies from every channel and record them on their cases."""
        total = 0
        for name, source in self.sources.items():
            if not isinstance(source, Channel):
                continue
            state_key = f"channel:{name}"
            with self.store.read() as cur:
                cursor = mq.get_cursor(cur, state_key)
            try:
                messages, new_cursor = source.poll_private(cursor)
            except EscuchaError as exc:
                logger.warning("private messages of %s: %s", name, exc)
                continue
            total += sum(1 for message in messages if self._record_message(message))
            with self.store.transaction() as cur:
                mq.save_cursor(cur, state_key, source.platform, new_cursor, None, len(messages))
        return total

    def _record_message(self, message: InboundMessage) -> bool:
        """Record a customer's private message on their case; False when none is theirs."""
        if message.platform in CHANNEL_PLATFORMS:
            references = message.raw.get("references") or ()
            subject = message.raw.get("subject")
            case_id = self.cases.record_channel_message(
                message,
                references=[str(r) for r in references],
                reference_text=str(subject) if subject is not None else None,
            )
        else:
            case_id = self.cases.record_conversation_message(message)
        if case_id is None:
            logger.info("a private message on %s matches no case", message.platform)
            return False
        return True

    # -- webhooks -------------------------------------------------------------------------------
    def receive_webhook(self, source: str, body: bytes) -> bool:
        """Store a verified delivery (committed before the platform hears back); True when new.
        It is processed on the next cycle, so a crash after this loses nothing."""
        with self.store.transaction() as cur:
            return webhooks_q.receive(cur, source, body, now=self.clock())

    def moderator(self, source: str | None, platform: str) -> Moderator | None:
        """The connector that can hide comments of ``platform`` (the mention's own source first)."""
        found = self.sources.get(source) if source else None
        if isinstance(found, Moderator):
            return found
        for candidate in self.sources.values():
            if candidate.platform == platform and isinstance(candidate, Moderator):
                return candidate
        return None

    def webhook_receiver(self, source: str) -> WebhookReceiver | None:
        found = self.sources.get(source)
        return found if isinstance(found, WebhookReceiver) else None

    def process_webhooks(self, report: CycleReport | None = None, limit: int = 100) -> int:
        """Hand each stored delivery to its source's parser and record what it carried; one
        that fails is set aside with the reason and the others go on."""
        report = report if report is not None else CycleReport()
        with self.store.read() as cur:
            deliveries = webhooks_q.pending(cur, limit)
        for delivery in deliveries:
            receiver = self.webhook_receiver(delivery.source)
            try:
                if receiver is None:
                    raise SourceError(
                        "no configured source takes webhooks under this name",
                        source=delivery.source,
                    )
                events = receiver.parse_webhook(bytes(delivery.body))
                report.private_messages += self._apply_events(delivery.source, receiver, events)
            except Exception as exc:  # one bad delivery must not block the others
                reason = f"{type(exc).__name__}: {exc}"
                if not isinstance(exc, EscuchaError):  # a bug; the message may quote the body
                    logger.debug("webhook %s failed", delivery.digest[:12], exc_info=exc)
                logger.warning(
                    "webhook %s of %s set aside (%s)", delivery.digest[:12], delivery.source,
                    type(exc).__name__,
                )  # fmt: skip
                with self.store.transaction() as cur:
                    webhooks_q.set_aside(cur, delivery.digest, reason, now=self.clock())
                report.webhooks_set_aside += 1
                continue
            with self.store.transaction() as cur:
                webhooks_q.mark_processed(cur, delivery.digest, now=self.clock())
            report.webhooks += 1
        return report.webhooks

    def _apply_events(self, source: str, receiver: WebhookReceiver, events: WebhookEvents) -> int:
        """Record one delivery's mentions (through ingest), messages and delivery states."""
        now = self.clock()
        gone = tuple(
            Mention(receiver.platform, native_id, "", "", now, deleted=True)
            for native_id in events.deleted
        )
        if events.mentions or gone:
            store_page(self.store, source, receiver.platform, Page((*events.mentions, *gone)))
        recorded = sum(1 for message in events.messages if self._record_message(message))
        for status in events.statuses:
            self.cases.apply_delivery(status)
        return recorded

    # -- background loop ----------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="escucha-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        for source in self.sources.values():
            cancel = getattr(source, "cancel", None)  # e.g. a crawl running in a subprocess
            if callable(cancel):
                cancel()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _loop(self) -> None:
        tick = self.settings.service.tick.total_seconds()
        while not self._stop.is_set():
            try:
                self.run_cycle(wait=False)
            except Exception:  # keep serving; the error is in the log and the health endpoint
                logger.exception("scheduler cycle failed")
            self._stop.wait(tick)

    # -- summaries ------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        with self.store.read() as cur:
            return summary.counts(cur)

    def backlog(self) -> dict[str, float]:
        """The work waiting now (pipeline/store/summary.py ``backlog``), for ``/metrics``."""
        with self.store.read() as cur:
            return summary.backlog(cur, self.clock())

    def sources_health(self) -> list[dict[str, Any]]:
        with self.store.read() as cur:
            states = mq.source_states(cur)
        for state in states:
            for key in ("cursor", "rate_limit"):
                if isinstance(state.get(key), str):
                    state[key] = json.loads(state[key])
            state.pop("cursor", None)
        return states
