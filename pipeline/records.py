"""Typed records that flow between connectors, classifiers and the pipeline (the shared contract).

This module is a leaf: it imports nothing of the project. Datetimes are always timezone-aware UTC.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final, Literal

Platform = str  # "x", "reddit", "youtube", "google_reviews", "forum", "web", "news", "sandbox"...
SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")
INTENTS: tuple[str, ...] = ("complaint", "question", "praise", "suggestion", "other")
URGENCY_LEVELS: tuple[str, ...] = ("none", "normal", "high", "critical")

OutboundKind = Literal["public_reply", "private_message", "public_close"]

# The statuses of a case (the transitions between them are in ``pipeline.care.lifecycle``).
STATUSES: Final[tuple[str, ...]] = (
    "new",
    "acknowledged",
    "in_private",
    "resolved",
    "closed_public",
    "closed",
    "dismissed",
)
OPEN_STATUSES: Final[tuple[str, ...]] = (
    "new",
    "acknowledged",
    "in_private",
    "resolved",
    "closed_public",
)
FINAL_STATUSES: Final[tuple[str, ...]] = ("closed", "dismissed")

# The most a mention may hold, in characters. A long article fits; a file row of megabytes does not
# (it would stall language detection, scoring and search). An import reports a row over a cap as a
# bad row; ingest cuts what any other connector brings to these lengths.
MAX_TEXT_CHARS: Final = 100_000
MAX_TITLE_CHARS: Final = 1_000
MAX_AUTHOR_CHARS: Final = 500
MAX_URL_CHARS: Final = 4_096
MAX_ID_CHARS: Final = 500  # native ids, parent ids (imports only: an id cannot be cut)
MAX_RAW_CHARS: Final = 200_000  # the platform's payload as JSON; over it, only its size is kept
FIELD_CAPS: Final[Mapping[str, int]] = {
    "text": MAX_TEXT_CHARS,
    "title": MAX_TITLE_CHARS,
    "author": MAX_AUTHOR_CHARS,
    "author_name": MAX_AUTHOR_CHARS,
    "author_id": MAX_ID_CHARS,
    "url": MAX_URL_CHARS,
}


def utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime; naive values are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_key(platform: str, native_id: str) -> str:
    return f"{platform}:{native_id}"


@dataclass(frozen=True, slots=True)
class Mention:
    """One public post, comment, review or article mentioning a brand."""

    platform: Platform
    native_id: str
    text: str
    author: str
    created_at: datetime
    url: str | None = None
    lang: str | None = None
    title: str | None = None
    rating: float | None = None
    parent_id: str | None = None  # native id of the post this one answers, same platform
    thread_id: str | None = None  # native id of the thread's first post, same platform
    author_id: str | None = None
    author_name: str | None = None
    author_followers: int | None = None
    likes: int = 0
    replies: int = 0
    shares: int = 0
    kind: str = "post"  # post, comment, review, article
    source: str | None = None  # name of the configured source that fetched it
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # The platform says it was deleted or removed: ingest erases what is held, stores nothing.
    deleted: bool = False

    def __post_init__(self) -> None:
        if not self.platform or not self.native_id:
            raise ValueError("a mention needs a platform and a native id")
        object.__setattr__(self, "created_at", utc(self.created_at))

    @property
    def key(self) -> str:
        return make_key(self.platform, self.native_id)

    @property
    def author_key(self) -> str:
        return make_key(self.platform, (self.author_id or self.author).lower())

    @property
    def content_hash(self) -> str:
        """Hash of what a reader sees: an edit changes it, a re-fetch does not."""
        digest = hashlib.sha256()
        for part in (self.text, self.title or "", str(self.rating or "")):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
        return digest.hexdigest()[:16]

    def with_source(self, source: str) -> Mention:
        return replace(self, source=source)


@dataclass(frozen=True, slots=True)
class Page:
    """One batch of mentions from a source and the cursor to save with it.

    ``cursor`` is the state to persist in the same transaction as the mentions; ``None`` means
    "do not move the cursor yet" (for example mid-pagination, when the high-water mark may only
    be committed after the last page).
    """

    mentions: tuple[Mention, ...]
    cursor: Mapping[str, Any] | None = None
    rate_limit: Mapping[str, Any] | None = None  # e.g. {"remaining": 3, "reset": 1700000000}


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A private message from a customer (DM, email, web form reply)."""

    platform: Platform
    native_id: str
    sender: str  # the author handle/id, as in Mention.author
    text: str
    created_at: datetime
    conversation_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", utc(self.created_at))


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A reply or private message to send through a channel, exactly once."""

    kind: OutboundKind
    platform: Platform
    text: str
    idempotency_key: str
    in_reply_to: str | None = None  # native id of the public post answered (public kinds)
    recipient: str | None = None  # author handle/id (private kind)
    private_channel: str | None = None  # "dm", "email", "whatsapp", "web_form"
    case_id: str | None = None


@dataclass(frozen=True, slots=True)
class SentMessage:
    """What a platform answered after a post: its id for the message, and where to see it."""

    platform_id: str
    url: str | None = None
    sent_at: datetime = field(default_factory=utcnow)
    # Who the platform says received it, when that differs from what we addressed: a Facebook or
    # Instagram private reply answers the commenter's page-scoped id, their address for DMs.
    recipient_id: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    """What a platform reports about a message we sent: sent, delivered, read or failed."""

    platform: Platform
    platform_id: str  # the id the platform gave the message when it was sent
    status: Literal["sent", "delivered", "read", "failed"]
    at: datetime
    error: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", utc(self.at))


@dataclass(frozen=True, slots=True)
class WebhookEvents:
    """What one webhook delivery carried, parsed by the platform's connector."""

    mentions: tuple[Mention, ...] = ()
    messages: tuple[InboundMessage, ...] = ()
    statuses: tuple[DeliveryStatus, ...] = ()
    deleted: tuple[str, ...] = ()  # native ids of content its author deleted on the platform


@dataclass(frozen=True, slots=True)
class Urgency:
    score: float  # [0, 1]
    level: int  # 0 none, 1 normal, 2 high, 3 critical
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Prediction:
    """Everything the classifier says about one text."""

    lang: str
    sentiment: str
    sentiment_scores: Mapping[str, float]
    complaint: float
    intent: str
    urgency: Urgency
    model_version: str

    def as_contract(self, item_id: str) -> dict[str, Any]:
        """The stable JSON shape of ``escucha classify`` output lines."""
        return {
            "id": item_id,
            "lang": self.lang,
            "sentiment": {
                "label": self.sentiment,
                "scores": {k: round(float(self.sentiment_scores[k]), 6) for k in SENTIMENTS},
            },
            "complaint": {"score": round(float(self.complaint), 6)},
            "intent": {"label": self.intent},
            "urgency": {
                "score": round(float(self.urgency.score), 6),
                "level": int(self.urgency.level),
                "reasons": list(self.urgency.reasons),
            },
        }


@dataclass(frozen=True, slots=True)
class TextItem:
    """Input to a classifier: the text and what is known about it."""

    text: str
    lang: str | None = None
    platform: str | None = None
    rating: float | None = None
    author_followers: int | None = None
    likes: int = 0
    replies: int = 0
    shares: int = 0
    prior_contacts: int = 0  # earlier unanswered messages from the same author
