"""Instagram business/creator accounts (Graph API over httpx): comments and replies on the
account's media and media that tag it as a Source; public replies, hiding, private replies and
Instagram DMs as a Channel; ``object: instagram`` webhooks as a WebhookReceiver.

Cursor: each poll lists the media of the last ``comment_window`` (one or two requests) with their
``comments_count``; ``media`` keeps per medium ``{"count", "since", "ids"}`` and its comments are
read only when the count changed (Instagram's comments edge has no ``since``), newer than the
mark. ``tags`` keeps ``{"since", "ids"}`` of the newest tagging media read.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from crawlers.meta_graph import (
    Actor,
    MetaConnector,
    MetaOptions,
    fresh,
    mark,
    messaging_events,
    parse_body,
    parse_time,
    unix,
)
from crawlers.options import parse_options
from pipeline.errors import SourceUnavailable
from pipeline.records import (
    DeliveryStatus,
    InboundMessage,
    Mention,
    Page,
    WebhookEvents,
)
from pipeline.settings import Settings, SourceSettings

logger = logging.getLogger(__name__)

PLATFORM = "instagram"
MEDIA_FIELDS = "id,caption,timestamp,permalink,comments_count,username"
_COMMENT = "id,text,timestamp,username,from{id,username},like_count,parent_id"
COMMENT_FIELDS = f"{_COMMENT},replies{{{_COMMENT}}}"


class InstagramOptions(MetaOptions):
    """Keys of an ``instagram`` source."""

    ig_user_id: str  # the Instagram professional account's id (not the Facebook page's)
    media: bool = True  # comments and replies on the account's media
    tags: bool = True  # media by others that tag the account


class InstagramConnector(MetaConnector):
    """Reads comments on an Instagram account and answers them, privately too."""

    platform = PLATFORM
    label = "Instagram"
    conversations = "instagram"
    hide_field = "hide"
    reply_edge = "replies"
    reply_fields = "id,text,from{id,username}"
    text_field = "text"
    token_name = "INSTAGRAM_TOKEN"  # noqa: S105 - the name of a secret, not a secret
    options: InstagramOptions

    # -- Source ------------------------------------------------------------------------------
    def fetch(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        state: dict[str, Any] = copy.deepcopy(dict(cursor or {}))
        if self.options.tags:
            yield from self._walk_tags(state)
        if self.options.media:
            yield from self._walk_media(state)

    def _page(self, mentions: list[Mention], state: Mapping[str, Any] | None) -> Page:
        saved = copy.deepcopy(dict(state)) if state is not None else None
        return Page(tuple(mentions), cursor=saved, rate_limit=self.client.last_usage or None)

    def _walk_tags(self, state: dict[str, Any]) -> Iterator[Page]:
        floor = unix(self.clock() - self.options.backfill)
        saved = state.get("tags") or {"since": floor, "ids": []}
        seen: list[tuple[datetime, str]] = []
        mentions: list[Mention] = []
        for data in self.client.pages(f"{self.account}/tags", fields=MEDIA_FIELDS):
            older = False
            for media in data:
                moment = parse_time(media["timestamp"])
                if not fresh(moment, str(media["id"]), saved):
                    older = older or unix(moment) < int(saved["since"])
                    continue
                seen.append((moment, str(media["id"])))
                mentions.append(self._tagged(media))
            if older:  # newest first: the rest was read before
                self.client.walk_complete = True
                break
        if self.client.walk_complete:
            state["tags"] = mark(seen, saved)
        yield self._page(mentions, state)

    def _walk_media(self, state: dict[str, Any]) -> Iterator[Page]:
        """The media of the comment window with their counts; comments of those that changed."""
        since = unix(self.clock() - self.options.comment_window)
        known: dict[str, Any] = state.get("media") or {}
        current: dict[str, Any] = {}
        changed: list[tuple[str, str | None, int]] = []
        for data in self.client.pages(f"{self.account}/media", fields=MEDIA_FIELDS, since=since):
            for media in data:
                ident = str(media["id"])
                count = int(media.get("comments_count") or 0)
                created = unix(parse_time(media["timestamp"]))
                entry = known.get(ident) or {"count": 0, "since": created, "ids": []}
                current[ident] = {**entry, "created": created}
                if count != entry.get("count"):
                    changed.append((ident, media.get("permalink"), count))
        state["media"] = current
        if not changed:
            yield self._page([], state)
        for ident, permalink, count in changed[: self.options.max_posts]:
            yield from self._walk_comments(ident, permalink, count, state)

    def _walk_comments(
        self, media_id: str, permalink: str | None, count: int, state: dict[str, Any]
    ) -> Iterator[Page]:
        saved = state["media"][media_id]
        seen: list[tuple[datetime, str]] = []
        pages: list[list[Mention]] = []
        for data in self.client.pages(f"{media_id}/comments", fields=COMMENT_FIELDS):
            found: list[Mention] = []
            for comment in data:
                items = [comment, *((comment.get("replies") or {}).get("data") or [])]
                for item in items:
                    moment = parse_time(item["timestamp"])
                    ident = str(item["id"])
                    if not fresh(moment, ident, saved):
                        continue
                    seen.append((moment, ident))
                    if (item.get("from") or {}).get("id") == self.account:
                        continue  # our own replies
                    parent = item.get("parent_id") or (
                        comment["id"] if item is not comment else None
                    )
                    found.append(self._comment(item, media_id, parent, permalink))
            pages.append(found)
        if self.client.walk_complete:  # only a whole walk moves the mark and the count
            entry = state["media"][media_id]
            entry.update(mark(seen, saved))
            entry["count"] = count
        for i, found in enumerate(pages):
            yield self._page(found, state if i == len(pages) - 1 else None)

    def _tagged(self, media: Mapping[str, Any]) -> Mention:
        try:
            return Mention(
                platform=PLATFORM, native_id=str(media["id"]), text=str(media.get("caption") or ""),
                author=str(media.get("username") or "unknown"),
                created_at=parse_time(media["timestamp"]), url=media.get("permalink"),
                thread_id=str(media["id"]), kind="post", source=self.name, raw=dict(media),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceUnavailable(f"Instagram sent a medium we cannot read ({exc})",
                                    source=self.name) from exc  # fmt: skip

    def _comment(
        self, item: Mapping[str, Any], media_id: str, parent: Any, permalink: str | None
    ) -> Mention:
        try:
            author = Actor.model_validate(item.get("from") or {"id": item.get("username") or "?"})
            handle = str(item.get("username") or author.handle)
            return Mention(
                platform=PLATFORM, native_id=str(item["id"]), text=str(item.get("text") or ""),
                author=handle, author_id=author.id, author_name=handle,
                created_at=parse_time(item["timestamp"]), url=permalink,
                parent_id=str(parent or media_id), thread_id=media_id,
                likes=int(item.get("like_count") or 0), kind="comment", source=self.name,
                raw=dict(item),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceUnavailable(f"Instagram sent a comment we cannot read ({exc})",
                                    source=self.name) from exc  # fmt: skip

    # -- Channel -----------------------------------------------------------------------------
    def parse_webhook(self, body: bytes) -> WebhookEvents:
        """``object: instagram`` deliveries: DMs (an unsent DM is listed as deleted) and
        ``comments`` changes (new comments become mentions)."""
        parsed = parse_body(body, expected="instagram", source=self.name)
        mentions: list[Mention] = []
        messages: list[InboundMessage] = []
        statuses: list[DeliveryStatus] = []
        deleted: list[str] = []
        for entry in parsed.entry:
            got, status, gone = messaging_events(PLATFORM, entry.id, entry.messaging)
            messages += got
            statuses += status
            deleted += gone
            for change in entry.changes:
                if change.field not in ("comments", "live_comments"):
                    continue
                value = change.value
                author = Actor.model_validate(value.get("from") or {"id": "unknown"})
                if not value.get("id") or author.id == self.account:
                    continue
                media_id = str((value.get("media") or {}).get("id") or "")
                handle = author.username or author.handle
                mentions.append(Mention(
                    platform=PLATFORM, native_id=str(value["id"]),
                    text=str(value.get("text") or ""), author=handle, author_id=author.id,
                    author_name=handle,
                    created_at=parse_time(entry.time or time.time()),
                    parent_id=str(value.get("parent_id") or media_id) or None,
                    thread_id=media_id or None, kind="comment", source=self.name, raw=dict(value),
                ))  # fmt: skip
        return WebhookEvents(tuple(mentions), tuple(messages), tuple(statuses), tuple(deleted))


def from_settings(source: SourceSettings, settings: Settings) -> InstagramConnector:
    options = parse_options(InstagramOptions, source, docs="docs/instagram.md")
    connector: InstagramConnector = InstagramConnector.connect(
        source, settings, options, options.ig_user_id
    )
    return connector
