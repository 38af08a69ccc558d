"""YouTube (Data API v3 through google-api-python-client): comment threads as a Source, replies
through ``comments.insert`` as a Channel. YouTube has no private messages.

Cursor: per stream (``channel:<id>`` or ``video:<id>``, with ``|<term>`` for search terms)
``{"hw": publishedAt}``, moved only after a complete walk (page tokens do not survive a run); a
walk stops at ``hw - overlap`` and re-read comments are dropped by key on ingest. ``quota`` keeps
the units spent on the current Pacific day (list 1, insert 50) against ``daily_quota``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from crawlers.google import (
    GOOGLE_TOKEN_URI,
    classify_google,
    execute,
    google_credentials,
    google_http,
)
from crawlers.options import ConnectorOptions, parse_options
from pipeline.errors import ConfigError, MissingSecret, RateLimited, SourceError, SourceUnavailable
from pipeline.records import (
    InboundMessage,
    Mention,
    OutboundMessage,
    Page,
    SentMessage,
    utc,
    utcnow,
)
from pipeline.settings import Settings, SourceSettings, parse_duration

logger = logging.getLogger(__name__)

PLATFORM = "youtube"
PACIFIC = ZoneInfo("America/Los_Angeles")
COST_LIST = 1
COST_INSERT = 50
VARIABLES = "ESCUCHA_YOUTUBE_API_KEY (reading) and ESCUCHA_YOUTUBE_ACCESS_TOKEN or _REFRESH_TOKEN"


class YouTubeOptions(ConnectorOptions):
    """Keys of a ``youtube`` source."""

    channel_id: str | None = None  # all comment threads related to this channel
    channel_ids: list[str] = Field(default_factory=list)
    video_ids: list[str] = Field(default_factory=list)
    search_terms: list[str] = Field(default_factory=list)  # narrow each channel/video stream
    overlap: timedelta = timedelta(hours=1)
    backfill: timedelta = timedelta(days=7)  # how far back the first poll reads
    daily_quota: int = Field(10_000, ge=1)  # units per Pacific day this source may spend
    page_size: int = Field(100, ge=1, le=100)
    token_uri: str = GOOGLE_TOKEN_URI

    _more = field_validator("overlap", "backfill", mode="before")(parse_duration)


def _parse_time(value: Any) -> datetime:
    return utc(datetime.fromisoformat(str(value)))


def seconds_to_pacific_midnight(now: datetime | None = None) -> float:
    local = (now or utcnow()).astimezone(PACIFIC)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1.0, (midnight - local).total_seconds())


class YouTubeConnector:
    """Reads comments on a brand's channels and videos, and replies to them."""

    platform = PLATFORM

    def __init__(
        self,
        source: SourceSettings,
        options: YouTubeOptions,
        service: Any,
        *,
        can_write: bool = True,
        private_channel: str = "email",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.name = source.name
        self.options = options
        self.service = service
        self.can_write = can_write
        self.private_channel = private_channel
        self.sleep = sleep
        self.clock = clock
        self.quota: dict[str, Any] = {"day": self._day(), "used": 0}

    # -- quota and errors --------------------------------------------------------------------
    def _day(self) -> str:
        return self.clock().astimezone(PACIFIC).date().isoformat()

    def _load_quota(self, saved: Mapping[str, Any] | None) -> None:
        day = self._day()
        if self.quota.get("day") != day:
            self.quota = {"day": day, "used": 0}
        if saved and saved.get("day") == day:
            self.quota["used"] = max(int(self.quota["used"]), int(saved.get("used", 0)))

    def _spend(self, units: int, what: str) -> None:
        self._load_quota(None)
        used = int(self.quota["used"])
        if used + units > self.options.daily_quota:
            raise RateLimited(
                f"YouTube quota budget spent: {what} needs {units} units, {used} of "
                f"{self.options.daily_quota} used today (Pacific time)",
                retry_after=seconds_to_pacific_midnight(self.clock()),
                source=self.name,
                hint="raise `daily_quota` if the Google Cloud project allows more",
            )
        self.quota["used"] = used + units

    def rate_limit(self) -> dict[str, Any]:
        resets = self.clock() + timedelta(seconds=seconds_to_pacific_midnight(self.clock()))
        return {"quota_used": self.quota["used"], "quota_budget": self.options.daily_quota,
                "quota_day": self.quota["day"], "quota_resets_at": resets.isoformat()}  # fmt: skip

    def _classify(self, exc: Exception) -> SourceError | None:
        return classify_google(
            exc, source=self.name, service="YouTube", variables=VARIABLES,
            quota_reset=seconds_to_pacific_midnight(self.clock()),
        )  # fmt: skip

    def _execute(
        self, build: Callable[[], Any], cost: int, what: str, *, write: bool = False
    ) -> Any:
        return execute(
            build, what, classify=self._classify, policy=self.options.policy(), sleep=self.sleep,
            write=write, before_each=lambda: self._spend(cost, what),  # every attempt costs
        )  # fmt: skip

    # -- Source ------------------------------------------------------------------------------
    def _streams(self) -> list[tuple[str, dict[str, str]]]:
        targets = [
            ("channel", c) for c in [self.options.channel_id, *self.options.channel_ids] if c
        ]
        targets += [("video", v) for v in self.options.video_ids]
        streams: list[tuple[str, dict[str, str]]] = []
        for kind, ident in targets:
            filt = (
                {"allThreadsRelatedToChannelId": ident} if kind == "channel" else {"videoId": ident}
            )
            terms: list[str | None] = [*self.options.search_terms] or [None]
            for term in terms:
                name = f"{kind}:{ident}" + (f"|{term}" if term else "")
                streams.append((name, filt | ({"searchTerms": term} if term else {})))
        return streams

    def fetch(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        state: dict[str, Any] = {k: v for k, v in (cursor or {}).items() if isinstance(v, dict)}
        self._load_quota(state.get("quota"))
        for stream, filters in self._streams():
            yield from self._walk(stream, filters, state)

    def _walk(self, stream: str, filters: dict[str, str], state: dict[str, Any]) -> Iterator[Page]:
        saved = state.get(stream) or {}
        hw = _parse_time(saved["hw"]) if saved.get("hw") else None
        floor = hw - self.options.overlap if hw else self.clock() - self.options.backfill
        newest = hw
        token: str | None = None
        threads = self.service.commentThreads()
        for _ in range(self.options.max_pages):
            request = {"part": "snippet,replies", "order": "time", "textFormat": "plainText",
                       "maxResults": self.options.page_size, **filters}  # fmt: skip
            if token:
                request["pageToken"] = token
            body = self._execute(lambda r=request: threads.list(**r), COST_LIST,  # type: ignore[misc]
                                 "YouTube commentThreads.list")  # fmt: skip
            mentions: list[Mention] = []
            reached_floor = False
            for thread in body.get("items") or []:
                top = self._comment(thread["snippet"]["topLevelComment"], thread)
                if top.created_at < floor:
                    reached_floor = True
                    break
                newest = max(newest, top.created_at) if newest else top.created_at
                mentions.append(top)
                for reply in (thread.get("replies") or {}).get("comments", []):
                    mentions.append(self._comment(reply, thread))
            token = body.get("nextPageToken")
            done = reached_floor or not token
            if done and newest:
                state[stream] = {"hw": newest.isoformat()}
            state["quota"] = dict(self.quota)
            yield Page(tuple(mentions), cursor=dict(state), rate_limit=self.rate_limit())
            if done:
                return

    def _comment(self, comment: Mapping[str, Any], thread: Mapping[str, Any]) -> Mention:
        try:
            snippet = comment["snippet"]
            video = snippet.get("videoId") or thread["snippet"].get("videoId")
            parent = snippet.get("parentId")
            author_channel = (snippet.get("authorChannelId") or {}).get("value")
            return Mention(
                platform=PLATFORM,
                native_id=str(comment["id"]),
                text=str(snippet.get("textOriginal") or snippet.get("textDisplay") or ""),
                author=str(snippet.get("authorDisplayName") or author_channel or "unknown"),
                created_at=_parse_time(snippet["publishedAt"]),
                url=f"https://www.youtube.com/watch?v={video}&lc={comment['id']}"
                if video
                else None,
                parent_id=parent,
                thread_id=str(thread["id"]),
                author_id=author_channel,
                author_name=snippet.get("authorDisplayName"),
                likes=int(snippet.get("likeCount") or 0),
                replies=0 if parent else int(thread["snippet"].get("totalReplyCount") or 0),
                kind="comment",
                raw=dict(comment),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceUnavailable(
                f"YouTube sent a comment we cannot read ({type(exc).__name__}: {exc})",
                source=self.name,
            ) from exc

    # -- Channel -----------------------------------------------------------------------------
    def _require_write(self) -> None:
        if not self.can_write:
            raise MissingSecret(
                "ESCUCHA_YOUTUBE_REFRESH_TOKEN",
                needed_for=f"replies of source {self.name!r} (an API key can only read)",
            )

    def send(self, message: OutboundMessage) -> SentMessage:
        if message.kind == "private_message":
            raise SourceError(
                "YouTube has no private messages",
                source=self.name,
                hint=f"send the private message through the configured private channel "
                f"({self.private_channel}) and invite the customer there in the public reply",
            )
        self._require_write()
        if not message.in_reply_to:
            raise SourceError("a YouTube reply needs in_reply_to (a comment id)", source=self.name)
        found = self.find_sent(message)
        if found is not None:
            return found
        parent = message.in_reply_to.split(".", 1)[0]  # replies hang off the top-level comment
        body = {"snippet": {"parentId": parent, "textOriginal": message.text}}
        comments = self.service.comments()
        try:
            made = self._execute(lambda: comments.insert(part="snippet", body=body), COST_INSERT,
                                 "YouTube comments.insert", write=True)  # fmt: skip
        except SourceUnavailable:
            found = self.find_sent(message)
            if found is not None:
                return found
            raise
        return self._sent(made)

    def _sent(self, comment: Mapping[str, Any]) -> SentMessage:
        video = (comment.get("snippet") or {}).get("videoId")
        url = f"https://www.youtube.com/watch?v={video}&lc={comment['id']}" if video else None
        return SentMessage(platform_id=str(comment["id"]), url=url)

    def find_sent(self, message: OutboundMessage) -> SentMessage | None:
        """Our earlier reply with the same text under the same comment (1 quota unit)."""
        if message.kind == "private_message" or not message.in_reply_to:
            return None
        parent = message.in_reply_to.split(".", 1)[0]
        comments = self.service.comments()
        body = self._execute(
            lambda: comments.list(part="snippet", parentId=parent, maxResults=100,
                                  textFormat="plainText"),
            COST_LIST, "YouTube comments.list",
        )  # fmt: skip
        for comment in body.get("items") or []:
            snippet = comment.get("snippet") or {}
            if (snippet.get("textOriginal") or snippet.get("textDisplay")) == message.text:
                return self._sent(comment)
        return None

    def poll_private(
        self, cursor: Mapping[str, Any] | None
    ) -> tuple[list[InboundMessage], Mapping[str, Any] | None]:
        """Nothing to read: private conversations happen in the configured private channel."""
        return [], cursor


def build_service(
    api_key: str | None, credentials: Any | None, base_url: str | None, timeout: float
) -> Any:
    from googleapiclient import discovery

    return discovery.build(
        "youtube",
        "v3",
        developerKey=api_key,
        http=google_http(credentials, timeout),
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": base_url} if base_url else None,
    )


def from_settings(source: SourceSettings, settings: Settings) -> YouTubeConnector:
    options = parse_options(YouTubeOptions, source)
    if not (options.channel_id or options.channel_ids or options.video_ids):
        raise ConfigError(
            "nothing to read: set `channel_id`, `channel_ids` or `video_ids`",
            key=f"sources.{source.name}.channel_id",
        )
    api_key = settings.optional_source_secret(source.name, "YOUTUBE_API_KEY")
    credentials = google_credentials(settings, source, "YOUTUBE", token_uri=options.token_uri)
    if not api_key and credentials is None:
        raise MissingSecret(
            "ESCUCHA_YOUTUBE_API_KEY", needed_for=f"the YouTube source {source.name!r}"
        )
    service = build_service(
        api_key, credentials, source.api_base_url, options.timeout.total_seconds()
    )
    channel = settings.private_channel
    return YouTubeConnector(
        source, options, service, can_write=credentials is not None,
        private_channel=f"{channel.kind}: {channel.address}",
    )  # fmt: skip
