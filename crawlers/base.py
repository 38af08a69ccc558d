"""The Source and Channel protocols every connector implements, and the connector registry.

A connector takes its settings slice and its client in the constructor (httpx's
``Client(transport=...)`` pattern); ``from_settings()`` builds the real client.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

from pipeline.errors import ConfigError
from pipeline.records import InboundMessage, OutboundMessage, Page, SentMessage
from pipeline.settings import Settings, SourceSettings


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


# platform name -> "module:factory"; factories take (SourceSettings, Settings) and return a
# Source (and, for platforms that can answer, an object that is also a Channel).
REGISTRY: dict[str, str] = {
    "sandbox": "crawlers.sandbox:from_settings",
    "files": "crawlers.files:from_settings",
    "feeds": "crawlers.feeds:from_settings",
    "x": "crawlers.x:from_settings",
    "reddit": "crawlers.reddit:from_settings",
    "youtube": "crawlers.youtube:from_settings",
    "google_reviews": "crawlers.google_reviews:from_settings",
    "web": "crawlers.web.source:from_settings",
}


def build_source(source: SourceSettings, settings: Settings) -> Source:
    """Build the connector for one ``[[sources]]`` table."""
    target = REGISTRY.get(source.platform)
    if target is None:
        known = ", ".join(sorted(REGISTRY))
        raise ConfigError(
            f"unknown platform {source.platform!r} (known: {known})",
            key=f"sources.{source.name}.platform",
        )
    module_name, _, factory = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"the {source.platform!r} connector is not available in this installation ({exc})",
            key=f"sources.{source.name}.platform",
        ) from exc
    built: Source = getattr(module, factory)(source, settings)
    return built
