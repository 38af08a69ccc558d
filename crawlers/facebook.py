"""Facebook Pages (Graph API over httpx): the page's feed, comments and replies, and posts that
tag the page as a Source; public replies, hiding, private replies and Messenger as a Channel;
page webhooks (``feed`` changes, Messenger events) as a WebhookReceiver.

Cursor: ``feed`` and ``tagged`` keep ``{"since", "ids"}``, the newest ``created_time`` read and
the ids at that second, moved after a complete walk; ``posts`` keeps, per post whose comments are
polled (created within ``comment_window``, newest ``max_posts``), the same pair for its comments,
read oldest first with ``since`` so each page commits its own high-water mark. ``since`` is
inclusive: the ids at the mark are dropped, so nothing read is returned twice.
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
    InboundMessage,
    Mention,
    Page,
    WebhookEvents,
)
from pipeline.settings import Settings, SourceSettings

logger = logging.getLogger(__name__)

PLATFORM = "facebook"
POST_FIELDS = "id,message,created_time,from{id,name},permalink_url"
COMMENT_FIELDS = (
    "id,message,created_time,from{id,name},parent{id},permalink_url,like_count,comment_count,"
    "is_hidden"
)


class FacebookOptions(MetaOptions):
    """Keys of a ``facebook`` source."""

    page_id: str  # the page's numeric id
    feed: bool = True  # the page's feed: visitor posts, and the posts whose comments are read
    tagged: bool = True  # posts by others that tag the page


class FacebookConnector(MetaConnector):
    """Reads a page's conversations and answers in them, in private replies and in Messenger."""

    platform = PLATFORM
    label = "Facebook"
    conversations = "messenger"
    hide_field = "is_hidden"
    reply_edge = "comments"
    reply_fields = "id,message,from{id,name}"
    text_field = "message"
    token_name = "FACEBOOK_PAGE_TOKEN"  # noqa: S105 - the name of a secret, not a secret
    options: FacebookOptions

    @property
    def page_id(self) -> str:
        return str(self.account)

    # -- Source ------------------------------------------------------------------------------
    def fetch(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        state: dict[str, Any] = copy.deepcopy(dict(cursor or {}))
        state.setdefault("posts", {})
        floor = unix(self.clock() - self.options.backfill)
        if self.options.feed:
            yield from self._walk_posts("feed", state, floor)
        if self.options.tagged:
            yield from self._walk_posts("tagged", state, floor)
        self._prune(state)
        for post_id in self._tracked(state):
            yield from self._walk_comments(post_id, state)

    def _page(self, mentions: list[Mention], state: Mapping[str, Any]) -> Page:
        return Page(tuple(mentions), cursor=copy.deepcopy(dict(state)),
                    rate_limit=self.client.last_usage or None)  # fmt: skip

    def _walk_posts(self, edge: str, state: dict[str, Any], floor: int) -> Iterator[Page]:
        """Posts of ``feed`` (visitor posts become mentions; every post is tracked for its
        comments) or ``tagged`` (mentions of the page), newest first, since the mark."""
        saved = state.get(edge) or {"since": floor, "ids": []}
        seen: list[tuple[datetime, str]] = []
        mentions: list[Mention] = []
        for data in self.client.pages(
            f"{self.page_id}/{edge}", fields=POST_FIELDS, since=saved["since"]
        ):
            for post in data:
                moment = parse_time(post.get("created_time"))
                ident = str(post["id"])
                if not fresh(moment, ident, saved):
                    continue
                seen.append((moment, ident))
                author = Actor.model_validate(post.get("from") or {"id": "unknown"})
                if edge == "feed":
                    stamp = unix(moment)
                    state["posts"].setdefault(ident, {"created": stamp, "since": stamp, "ids": []})
                if author.id != self.page_id:
                    mentions.append(self._post(post))
        if self.client.walk_complete:  # a walk cut by max_pages keeps the old mark
            state[edge] = mark(seen, saved)
        yield self._page(mentions, state)

    def _prune(self, state: dict[str, Any]) -> None:
        oldest = unix(self.clock() - self.options.comment_window)
        state["posts"] = {
            k: v for k, v in state["posts"].items() if int(v.get("created") or 0) >= oldest
        }

    def _tracked(self, state: Mapping[str, Any]) -> list[str]:
        posts = state["posts"]
        newest = sorted(posts, key=lambda k: int(posts[k].get("created") or 0), reverse=True)
        return newest[: self.options.max_posts]

    def _walk_comments(self, post_id: str, state: dict[str, Any]) -> Iterator[Page]:
        """Comments and replies of one post (``filter=stream``), oldest first: each page moves
        the post's mark, so a walk cut short resumes where it stopped."""
        for data in self.client.pages(
            f"{post_id}/comments", fields=COMMENT_FIELDS, filter="stream", order="chronological",
            since=state["posts"][post_id]["since"],
        ):  # fmt: skip
            saved = state["posts"][post_id]
            new = [c for c in data if fresh(parse_time(c["created_time"]), str(c["id"]), saved)]
            moved = mark([(parse_time(c["created_time"]), str(c["id"])) for c in new], saved)
            state["posts"][post_id] = {**saved, **moved}
            mentions = [
                self._comment(c, post_id)
                for c in new
                if (c.get("from") or {}).get("id") != self.page_id  # our own replies
            ]
            yield self._page(mentions, state)

    def _post(self, post: Mapping[str, Any]) -> Mention:
        try:
            author = Actor.model_validate(post.get("from") or {"id": "unknown"})
            return Mention(
                platform=PLATFORM, native_id=str(post["id"]), text=str(post.get("message") or ""),
                author=author.handle, author_id=author.id, author_name=author.name,
                created_at=parse_time(post["created_time"]), url=post.get("permalink_url"),
                thread_id=str(post["id"]), kind="post", source=self.name, raw=dict(post),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceUnavailable(f"Facebook sent a post we cannot read ({exc})",
                                    source=self.name) from exc  # fmt: skip

    def _comment(self, comment: Mapping[str, Any], post_id: str) -> Mention:
        try:
            author = Actor.model_validate(comment.get("from") or {"id": "unknown"})
            parent = (comment.get("parent") or {}).get("id")
            return Mention(
                platform=PLATFORM, native_id=str(comment["id"]),
                text=str(comment.get("message") or ""), author=author.handle,
                author_id=author.id, author_name=author.name,
                created_at=parse_time(comment["created_time"]),
                url=comment.get("permalink_url") or f"https://www.facebook.com/{comment['id']}",
                parent_id=str(parent or post_id), thread_id=post_id,
                likes=int(comment.get("like_count") or 0),
                replies=int(comment.get("comment_count") or 0),
                kind="comment", source=self.name, raw=dict(comment),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceUnavailable(f"Facebook sent a comment we cannot read ({exc})",
                                    source=self.name) from exc  # fmt: skip

    # -- Channel -----------------------------------------------------------------------------
    def reply_url(self, reply_id: str) -> str | None:
        return f"https://www.facebook.com/{reply_id}"

    def _reply_listing(self) -> dict[str, str]:
        return {"fields": self.reply_fields, "filter": "stream"}

    def parse_webhook(self, body: bytes) -> WebhookEvents:
        """``object: page`` deliveries: Messenger events and ``feed`` changes (new or edited
        posts and comments become mentions; removed ones are listed as deleted)."""
        parsed = parse_body(body, expected="page", source=self.name)
        mentions: list[Mention] = []
        messages: list[InboundMessage] = []
        statuses: list[Any] = []
        deleted: list[str] = []
        for entry in parsed.entry:
            got, status, gone = messaging_events(PLATFORM, entry.id, entry.messaging)
            messages += got
            statuses += status
            deleted += gone
            for change in entry.changes:
                if change.field != "feed":
                    continue
                value = change.value
                item, verb = value.get("item"), value.get("verb")
                ident = value.get("comment_id") if item == "comment" else value.get("post_id")
                if not ident or item not in ("comment", "post", "status", "photo", "video"):
                    continue
                if verb == "remove":
                    deleted.append(str(ident))
                elif verb in ("add", "edited"):
                    mention = self._from_change(value, str(ident), entry.time)
                    if mention is not None:
                        mentions.append(mention)
        return WebhookEvents(tuple(mentions), tuple(messages), tuple(statuses), tuple(deleted))

    def _from_change(
        self, value: Mapping[str, Any], ident: str, entry_time: float | None
    ) -> Mention | None:
        author = Actor.model_validate(value.get("from") or {"id": "unknown"})
        if author.id == self.page_id:
            return None
        post_id = str(value.get("post_id") or ident)
        is_comment = value.get("item") == "comment"
        return Mention(
            platform=PLATFORM, native_id=ident, text=str(value.get("message") or ""),
            author=author.handle, author_id=author.id, author_name=author.name,
            created_at=parse_time(value.get("created_time") or entry_time or time.time()),
            url=f"https://www.facebook.com/{ident}",
            parent_id=str(value.get("parent_id") or post_id) if is_comment else None,
            thread_id=post_id, kind="comment" if is_comment else "post", source=self.name,
            raw=dict(value),
        )  # fmt: skip


def from_settings(source: SourceSettings, settings: Settings) -> FacebookConnector:
    options = parse_options(FacebookOptions, source, docs="docs/facebook.md")
    connector: FacebookConnector = FacebookConnector.connect(
        source, settings, options, options.page_id
    )
    return connector
