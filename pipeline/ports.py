"""The ports of the pipeline: what a connector (``Source``, ``Channel``) and a model
(``Classifier``) must offer. crawlers/ and classifiers/ implement them; only the composition root
(``pipeline.service`` and ``pipeline.cli``) builds the implementations.

A connector takes its settings slice and its client in the constructor (httpx's
``Client(transport=...)`` pattern); ``from_settings()`` builds the real client.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from pipeline.records import (
    InboundMessage,
    OutboundMessage,
    Page,
    Prediction,
    SentMessage,
    TextItem,
    WebhookEvents,
)


@runtime_checkable
class Source(Protocol):
    """Reads mentions incrementally.

    ``fetch`` yields pages in order. Each page carries the cursor to save together with its
    mentions (or ``None`` to keep the previous one); the pipeline writes both in one transaction,
    so the cursor never moves past data that was not stored. Fetch inclusively: duplicates are
    dropped by key on ingest.
    """

    name: str
    platform: str

    def fetch(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]: ...


@runtime_checkable
class Channel(Protocol):
    """Posts public replies and private messages, and reads private replies.

    ``send`` must be safe to retry with the same ``message.idempotency_key``; ``find_sent``
    answers whether a message with that key was already posted (used after a crash between the
    post and its record), returning what the platform said about it.
    """

    platform: str

    def send(self, message: OutboundMessage) -> SentMessage: ...

    def find_sent(self, message: OutboundMessage) -> SentMessage | None: ...

    def poll_private(
        self, cursor: Mapping[str, Any] | None
    ) -> tuple[list[InboundMessage], Mapping[str, Any] | None]: ...


@runtime_checkable
class Moderator(Protocol):
    """A connector that can hide a public comment from everyone but its author (abuse, spam,
    personal data posted in public) and show it again: Facebook and Instagram."""

    platform: str

    def hide(self, comment_id: str, *, hidden: bool = True) -> None: ...


@runtime_checkable
class WebhookReceiver(Protocol):
    """A connector the platform also pushes to (Meta's Graph webhooks, WhatsApp Cloud).

    The service's ``/webhooks/{source}`` endpoint answers the subscription handshake with
    ``verify_token()``, refuses any delivery whose ``X-Hub-Signature-256`` is not the HMAC-SHA256
    of the raw body under ``webhook_secret()``, stores the raw body before answering, and later
    hands it to ``parse_webhook``. Polling stays the safety net: what arrives while the service
    is down is read on start.
    """

    platform: str

    def webhook_secret(self) -> str: ...

    def verify_token(self) -> str: ...

    def parse_webhook(self, body: bytes) -> WebhookEvents: ...


@runtime_checkable
class Classifier(Protocol):
    """Scores texts for language, sentiment, complaint, intent and urgency."""

    @property
    def version(self) -> str:
        """Model name and version recorded with every score."""
        ...

    def predict(self, items: Sequence[TextItem]) -> list[Prediction]:
        """One prediction per item, in order. Raises ClassifierError on failure."""
        ...
