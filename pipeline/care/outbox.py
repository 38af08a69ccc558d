"""The outbox worker: sends each reply intent once, retries failures with backoff, records ids.

An intent is marked ``sending`` (committed) before the platform is called. If the process dies
after the post and before it is recorded, the next run finds the intent still ``sending`` and
asks the channel whether it was already posted (``find_sent``) before posting again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pipeline.errors import AuthError, EscuchaError, RateLimited, SourceUnavailable
from pipeline.ports import Channel
from pipeline.records import OutboundMessage, SentMessage, utcnow
from pipeline.store import Store
from pipeline.store import outbox as q
from pipeline.store.cases import add_event, update

logger = logging.getLogger(__name__)

ChannelLookup = Callable[[str | None, str], Channel | None]


@dataclass
class OutboxRun:
    sent: int = 0
    retried: int = 0
    failed: int = 0


class OutboxWorker:
    def __init__(
        self,
        store: Store,
        channel_for: ChannelLookup,
        *,
        clock: Callable[[], datetime] = utcnow,
        max_attempts: int = 6,
        base_delay: timedelta = timedelta(seconds=5),
    ) -> None:
        self.store = store
        self.channel_for = channel_for
        self.clock = clock
        self.max_attempts = max_attempts
        self.base_delay = base_delay

    def run_once(self, limit: int = 50) -> OutboxRun:
        result = OutboxRun()
        with self.store.read() as cur:
            intents = q.due(cur, self.clock(), limit)
        for intent in intents:
            outcome = self._send(intent)
            setattr(result, outcome, getattr(result, outcome) + 1)
        return result

    def _send(self, intent: dict[str, Any]) -> str:
        outbox_id = int(intent["id"])
        message = OutboundMessage(
            kind=intent["kind"],
            platform=intent["platform"],
            text=intent["text"],
            idempotency_key=intent["idempotency_key"],
            in_reply_to=intent["in_reply_to"],
            recipient=intent["recipient"],
            private_channel=intent["private_channel"],
            case_id=intent["case_id"],
        )
        channel = self.channel_for(intent["source"], intent["platform"])
        if channel is None:
            error = (
                f"no configured source can post on {intent['platform']!r}"
                " - add a [[sources]] table for that platform with its credentials"
            )
            self._fail(intent, error)
            return "failed"
        maybe_posted = intent["status"] == "sending" or int(intent["attempts"]) > 0
        with self.store.transaction() as cur:
            q.mark_sending(cur, outbox_id)
        try:
            sent: SentMessage | None = channel.find_sent(message) if maybe_posted else None
            if sent is None:
                sent = channel.send(message)
            else:
                logger.info("outbox %s was already posted; recording it", outbox_id)
        except AuthError as exc:
            self._fail(intent, str(exc))
            return "failed"
        except RateLimited as exc:
            wait = timedelta(seconds=exc.retry_after or self._backoff(intent).total_seconds())
            return self._retry(intent, str(exc), wait)
        except SourceUnavailable as exc:  # network, 5xx: worth another try
            return self._retry(intent, str(exc), self._backoff(intent))
        except EscuchaError as exc:  # the platform refused this message: retrying won't help
            self._fail(intent, str(exc))
            return "failed"
        except Exception as exc:  # a channel bug: keep the intent, show the error on the case
            logger.exception("outbox %s: channel crashed", outbox_id)
            return self._retry(
                intent, f"unexpected {type(exc).__name__}: {exc}", self._backoff(intent)
            )
        with self.store.transaction() as cur:
            q.mark_sent(cur, outbox_id, sent.platform_id, sent.url, sent.sent_at)
            if intent["case_id"] and sent.recipient_id:  # the customer's address for DMs
                update(cur, intent["case_id"], {"private_conversation": sent.recipient_id})
            if intent["case_id"]:
                add_event(
                    cur, intent["case_id"], actor="outbox", action="posted",
                    from_status=None, to_status=None, outbox_id=outbox_id, at=self.clock(),
                    detail={"kind": message.kind, "platform_id": sent.platform_id, "url": sent.url},
                )  # fmt: skip
        return "sent"

    def _backoff(self, intent: dict[str, Any]) -> timedelta:
        attempts = int(intent["attempts"]) + 1
        delay: timedelta = self.base_delay * (2 ** (attempts - 1))
        return min(delay, timedelta(minutes=30))

    def _retry(self, intent: dict[str, Any], error: str, wait: timedelta) -> str:
        if int(intent["attempts"]) + 1 >= self.max_attempts:
            self._fail(intent, f"gave up after {self.max_attempts} attempts: {error}")
            return "failed"
        with self.store.transaction() as cur:
            q.mark_retry(cur, int(intent["id"]), error, self.clock() + wait)
        logger.warning("outbox %s will retry in %ss: %s", intent["id"], wait.total_seconds(), error)
        return "retried"

    def _fail(self, intent: dict[str, Any], error: str) -> None:
        with self.store.transaction() as cur:
            q.mark_failed(cur, int(intent["id"]), error)
            if intent["case_id"]:
                add_event(
                    cur, intent["case_id"], actor="outbox", action="send_failed",
                    from_status=None, to_status=None, outbox_id=int(intent["id"]),
                    detail={"error": error}, at=self.clock(),
                )  # fmt: skip
        logger.error("outbox %s failed: %s", intent["id"], error)
