"""Google Business Profile reviews (My Business API v4): a location's reviews as a Source, the
owner's reply (``updateReply``) as a Channel. Reviews have no private messages.

The v4 reviews API is not in google-api-python-client's bundled discovery documents, so the
subset used here ships in ``crawlers/discovery/`` and is loaded with ``build_from_document``.
Cursor, per location: ``{"hw": updateTime, "seen": [reviewId@updateTime, ...]}``. Reviews are
listed by ``updateTime desc``: an edited review comes back with a new update time, is stored
again under the same key and counted as an edit (``Mention.rating`` keeps its stars).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from crawlers.google import (
    GOOGLE_TOKEN_URI,
    classify_google,
    execute,
    google_credentials,
    google_http,
)
from crawlers.options import ConnectorOptions, parse_options
from pipeline.errors import ConfigError, MissingSecret, SourceError, SourceUnavailable
from pipeline.records import InboundMessage, Mention, OutboundMessage, Page, SentMessage, utc
from pipeline.settings import Settings, SourceSettings, parse_duration

logger = logging.getLogger(__name__)

PLATFORM = "google_reviews"
DISCOVERY = Path(__file__).parent / "discovery" / "mybusiness_v4_reviews.json"
STARS = {"ONE": 1.0, "TWO": 2.0, "THREE": 3.0, "FOUR": 4.0, "FIVE": 5.0}
VARIABLES = "ESCUCHA_GOOGLE_REVIEWS_REFRESH_TOKEN (+ _CLIENT_ID, _CLIENT_SECRET) or _ACCESS_TOKEN"


class GoogleReviewsOptions(ConnectorOptions):
    """Keys of a ``google_reviews`` source."""

    location: str | None = None  # "accounts/{account}/locations/{location}"
    locations: list[str] = Field(default_factory=list)
    overlap: timedelta = timedelta(hours=1)
    page_size: int = Field(50, ge=1, le=50)
    token_uri: str = GOOGLE_TOKEN_URI

    _overlap = field_validator("overlap", mode="before")(parse_duration)

    @field_validator("location", "locations")
    @classmethod
    def _names(cls, value: Any) -> Any:
        for name in [value] if isinstance(value, str) else value or []:
            parts = name.split("/")
            if len(parts) != 4 or parts[0] != "accounts" or parts[2] != "locations":
                raise ValueError(
                    f"{name!r}: write it as 'accounts/ACCOUNT_ID/locations/LOCATION_ID'"
                )
        return value

    def all_locations(self) -> list[str]:
        return [x for x in [self.location, *self.locations] if x]


def _time(value: Any) -> datetime:
    return utc(datetime.fromisoformat(str(value)))


class GoogleReviewsConnector:
    """Reads a business's Google reviews and posts the owner's reply."""

    platform = PLATFORM

    def __init__(
        self,
        source: SourceSettings,
        options: GoogleReviewsOptions,
        service: Any,
        *,
        private_channel: str = "email",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = source.name
        self.options = options
        self.service = service
        self.private_channel = private_channel
        self.sleep = sleep

    def _classify(self, exc: Exception) -> SourceError | None:
        return classify_google(
            exc, source=self.name, service="Google Business Profile", variables=VARIABLES,
            quota_reset=60.0,
        )  # fmt: skip

    def _execute(self, build: Callable[[], Any], what: str, *, write: bool = False) -> Any:
        return execute(
            build, what, classify=self._classify, policy=self.options.policy(), sleep=self.sleep,
            write=write,
        )  # fmt: skip

    # -- Source ------------------------------------------------------------------------------
    def fetch(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        state: dict[str, Any] = {k: v for k, v in (cursor or {}).items() if isinstance(v, dict)}
        for location in self.options.all_locations():
            yield from self._walk(location, state)

    def _walk(self, location: str, state: dict[str, Any]) -> Iterator[Page]:
        saved = state.get(location) or {}
        hw = _time(saved["hw"]) if saved.get("hw") else None
        floor = hw - self.options.overlap if hw else None
        seen = set(saved.get("seen") or [])
        newest = hw
        versions: dict[str, datetime] = {}
        token: str | None = None
        reviews = self.service.accounts().locations().reviews()
        for _ in range(self.options.max_pages):
            params: dict[str, Any] = {"parent": location, "pageSize": self.options.page_size,
                                      "orderBy": "updateTime desc"}  # fmt: skip
            if token:
                params["pageToken"] = token
            body = self._execute(lambda p=params: reviews.list(**p), "GBP reviews.list")  # type: ignore[misc]
            mentions: list[Mention] = []
            reached_floor = False
            for review in body.get("reviews") or []:
                mention = self._mention(review)
                updated = _time(review.get("updateTime") or review["createTime"])
                if floor is not None and updated < floor:
                    reached_floor = True
                    break
                version = f"{review.get('reviewId')}@{review.get('updateTime')}"
                versions[version] = updated
                newest = max(newest, updated) if newest else updated
                if version not in seen:
                    mentions.append(mention)
            token = body.get("nextPageToken")
            done = reached_floor or not token
            if done and newest:
                window = newest - self.options.overlap
                keep = {v for v, at in versions.items() if at >= window}
                keep |= {v for v in seen if hw and hw >= window}
                state[location] = {"hw": newest.isoformat(), "seen": sorted(keep)}
            yield Page(tuple(mentions), cursor=dict(state))
            if done:
                return

    def _mention(self, review: Mapping[str, Any]) -> Mention:
        try:
            reviewer = review.get("reviewer") or {}
            anonymous = bool(reviewer.get("isAnonymous"))
            author = "anonymous" if anonymous else str(reviewer.get("displayName") or "anonymous")
            return Mention(
                platform=PLATFORM,
                native_id=str(review["name"]),
                text=str(review.get("comment") or ""),
                author=author,
                created_at=_time(review["createTime"]),
                rating=STARS.get(str(review.get("starRating"))),
                thread_id=str(review["name"]),
                author_name=None if anonymous else reviewer.get("displayName"),
                replies=1 if review.get("reviewReply") else 0,
                kind="review",
                raw=dict(review),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceUnavailable(
                f"Google sent a review we cannot read ({type(exc).__name__}: {exc})",
                source=self.name,
            ) from exc

    # -- Channel -----------------------------------------------------------------------------
    def send(self, message: OutboundMessage) -> SentMessage:
        """Set the owner's reply. A review has one reply: a closing reply replaces the first."""
        if message.kind == "private_message":
            raise SourceError(
                "Google reviews have no private messages",
                source=self.name,
                hint=f"send the private message through the configured private channel "
                f"({self.private_channel}) and invite the reviewer there in the public reply",
            )
        name = message.in_reply_to or ""
        if "/reviews/" not in name:
            raise SourceError(
                f"a review reply needs the review's name, got {name!r}", source=self.name
            )
        found = self.find_sent(message)
        if found is not None:
            return found
        reviews = self.service.accounts().locations().reviews()
        reply = self._execute(
            lambda: reviews.updateReply(name=name, body={"comment": message.text}),
            "GBP reviews.updateReply", write=True,
        )  # fmt: skip
        return SentMessage(platform_id=f"{name}/reply@{reply.get('updateTime', '')}")

    def find_sent(self, message: OutboundMessage) -> SentMessage | None:
        """The review's current owner reply, if it already says this message's text."""
        if message.kind == "private_message" or not message.in_reply_to:
            return None
        name = message.in_reply_to
        reviews = self.service.accounts().locations().reviews()
        review = self._execute(lambda: reviews.get(name=name), "GBP reviews.get")
        reply = review.get("reviewReply") or {}
        if reply.get("comment") == message.text:
            return SentMessage(platform_id=f"{name}/reply@{reply.get('updateTime', '')}")
        return None

    def poll_private(
        self, cursor: Mapping[str, Any] | None
    ) -> tuple[list[InboundMessage], Mapping[str, Any] | None]:
        """Nothing to read: private conversations happen in the configured private channel."""
        return [], cursor


def build_service(credentials: Any, base_url: str | None, timeout: float) -> Any:
    from googleapiclient import discovery

    return discovery.build_from_document(
        json.loads(DISCOVERY.read_text(encoding="utf-8")),
        http=google_http(credentials, timeout),
        client_options={"api_endpoint": base_url} if base_url else None,
    )


def from_settings(source: SourceSettings, settings: Settings) -> GoogleReviewsConnector:
    options = parse_options(GoogleReviewsOptions, source)
    if not options.all_locations():
        raise ConfigError(
            "nothing to read: set `location` (accounts/ACCOUNT_ID/locations/LOCATION_ID)",
            key=f"sources.{source.name}.location",
        )
    credentials = google_credentials(
        settings, source, "GOOGLE_REVIEWS", token_uri=options.token_uri
    )
    if credentials is None:
        raise MissingSecret(
            "ESCUCHA_GOOGLE_REVIEWS_REFRESH_TOKEN",
            needed_for=f"the Google reviews source {source.name!r} (or set _ACCESS_TOKEN)",
        )
    service = build_service(credentials, source.api_base_url, options.timeout.total_seconds())
    channel = settings.private_channel
    return GoogleReviewsConnector(
        source, options, service, private_channel=f"{channel.kind}: {channel.address}"
    )
