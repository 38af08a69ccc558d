"""X (API v2 through tweepy): recent search and mentions as a Source; replies and DMs as a Channel.

Cursor, per stream (``search``, ``mentions``): ``{"since_id": ..}`` once a walk is complete. While
a walk is under way each stored page also commits ``run = {"newest", "until"}``: the walk's first
``newest_id`` and the oldest id stored so far, so an interrupted walk resumes with ``until_id``
(ids are durable; pagination tokens are not) and ``since_id`` moves only after the last page. A
page with a ``next_token`` but no tweets (X filters pages after cutting them) does not end a walk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import requests
from pydantic import Field

from crawlers.http import TimeoutAdapter, call_with_retries, seconds_until
from crawlers.options import ConnectorOptions, parse_options
from crawlers.platform_query import X_QUERY_LIMIT, x_query
from pipeline.errors import (
    AuthError,
    ConfigError,
    MissingSecret,
    RateLimited,
    SourceError,
    SourceUnavailable,
)
from pipeline.records import InboundMessage, Mention, OutboundMessage, Page, SentMessage, utc
from pipeline.settings import Settings, SourceSettings

logger = logging.getLogger(__name__)

PLATFORM = "x"
REAL_HOST = "https://api.twitter.com"
# note_tweet: the full text of a post over 280 characters (``text`` holds only its start).
TWEET_FIELDS = [
    "created_at", "author_id", "conversation_id", "lang", "public_metrics", "referenced_tweets",
    "note_tweet",
]  # fmt: skip
USER_FIELDS = ["username", "name", "public_metrics"]
DM_FIELDS = ["id", "text", "created_at", "sender_id", "dm_conversation_id", "event_type"]
USER_SECRETS = ("X_CONSUMER_KEY", "X_CONSUMER_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")
T = TypeVar("T")


class XOptions(ConnectorOptions):
    """Keys of an ``x`` source."""

    query: str | None = None  # X search syntax; default built from the brand's keywords/handles
    user_id: str | None = None  # our account's numeric id: mentions timeline, our DMs and tweets
    search: bool = True
    mentions: bool = True
    max_results: int = Field(100, ge=10, le=100)
    query_limit: int = Field(X_QUERY_LIMIT, ge=1)  # characters; 4096 on enterprise access


def brand_query(
    settings: Settings, source: SourceSettings, limit: int = X_QUERY_LIMIT
) -> str | None:
    """An X query from the source's brand (its boolean query, or keywords and X handles)."""
    index = next((i for i, b in enumerate(settings.brands) if b.name == source.brand), None)
    if index is None:
        index = 0 if settings.brands else None
    if index is None:
        return None
    return x_query(settings.brands[index], key=f"brands.{index}.query", limit=limit)


def full_text(tweet: Mapping[str, Any]) -> str:
    """A tweet's whole text: ``note_tweet.text`` for a post over 280 characters, else ``text``."""
    note = tweet.get("note_tweet")
    if isinstance(note, Mapping) and isinstance(note.get("text"), str) and note["text"]:
        return str(note["text"])
    return str(tweet["text"])


def _reset_epoch(exc: Any) -> float | None:
    """The ``x-rate-limit-reset`` header of a 429 (every tweepy release keeps ``.response``)."""
    response = getattr(exc, "response", None)
    value = getattr(response, "headers", {}).get("x-rate-limit-reset")
    try:
        return float(value) if value else None
    except (TypeError, ValueError):
        return None


def _reason(exc: Any) -> str:
    messages = getattr(exc, "api_messages", None) or []
    return "; ".join(str(m) for m in messages) or str(exc)


class XConnector:
    """Reads brand mentions from X and answers there (public replies and direct messages)."""

    platform = PLATFORM

    def __init__(
        self,
        source: SourceSettings,
        options: XOptions,
        client: Any,
        *,
        query: str | None = None,
        write_secrets_missing: Sequence[str] = (),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = source.name
        self.source = source
        self.options = options
        self.client = client
        self.query = options.query or query
        self.write_secrets_missing = tuple(write_secrets_missing)
        self.sleep = sleep
        self.rate: dict[str, dict[str, int]] = {}
        self._stream = "other"
        self._user_ids: dict[str, str] = {}
        self._me: str | None = options.user_id
        client.session.hooks["response"].append(self._remember_rate)
        self._announce()

    def _announce(self) -> None:
        """Say once, at start-up, what this source can do on X and why the rest is off."""
        on: list[str] = []
        off: list[str] = []
        if not self.options.search:
            off.append("search (`search = false`)")
        elif not self.query:
            off.append("search (no `query` and the brand has no keywords)")
        else:
            on.append("search")
        if not self.options.mentions:
            off.append("mentions timeline (`mentions = false`)")
        elif not self.options.user_id:
            off.append("mentions timeline (no `user_id`)")
        else:
            on.append("mentions timeline")
        if self.write_secrets_missing:
            unset = ", ".join(self.write_secrets_missing)
            off.append(f"public replies and direct messages ({unset} not set)")
        else:
            on.append("public replies and direct messages")
        logger.info(
            "X source %s: on: %s; off: %s", self.name, ", ".join(on) or "nothing",
            "; ".join(off) or "nothing", extra={"source": self.name},
        )  # fmt: skip

    # -- errors: the one place tweepy and requests exceptions become ours --------------------
    def _classify(self, exc: Exception) -> SourceError | None:
        import tweepy

        where = {"source": self.name}
        if isinstance(exc, tweepy.TooManyRequests):
            retry = seconds_until(_reset_epoch(exc))
            if retry is None:
                return RateLimited(
                    "X answered 429 without an x-rate-limit-reset header",
                    retry_after=None, **where,
                    hint="not retried at once; the source waits for its next scheduled poll",
                )  # fmt: skip
            return RateLimited(f"X rate limit reached ({_reason(exc)})", retry_after=retry, **where)
        if isinstance(exc, tweepy.Unauthorized):
            return AuthError(
                "X refused the credentials (401): the token is invalid, revoked or expired",
                **where,
                hint="create new tokens in the X developer portal and set ESCUCHA_X_BEARER_TOKEN "
                "(and ESCUCHA_X_ACCESS_TOKEN/_SECRET for replies and DMs)",
            )
        if isinstance(exc, tweepy.Forbidden):
            return AuthError(
                f"X refused the request (403): {_reason(exc)}", **where,
                hint="check the app's permissions (read and write, DMs) and its access tier",
            )  # fmt: skip
        if isinstance(exc, tweepy.TwitterServerError):
            return SourceUnavailable(f"X server error: {_reason(exc)}", **where)
        if isinstance(exc, tweepy.HTTPException):
            return SourceError(f"X rejected the request: {_reason(exc)}", **where)
        if isinstance(exc, requests.exceptions.JSONDecodeError | ValueError):
            return SourceUnavailable(f"X sent a response that is not valid JSON ({exc})", **where)
        if isinstance(exc, requests.exceptions.RequestException):
            return SourceUnavailable(f"cannot reach X ({type(exc).__name__}: {exc})", **where)
        return None

    def _call(self, fn: Callable[[], T], what: str, *, write: bool = False) -> T:
        policy = self.options.policy()
        if write:  # a 5xx after a post may hide a success: never re-post blindly
            return call_with_retries(
                fn, classify=self._classify, policy=policy, sleep=self.sleep, what=what,
                retry_unavailable=False,
            )  # fmt: skip
        return call_with_retries(
            fn, classify=self._classify, policy=policy, sleep=self.sleep, what=what
        )

    def _remember_rate(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        headers = response.headers
        if "x-rate-limit-remaining" in headers:
            try:
                self.rate[self._stream] = {
                    "limit": int(headers.get("x-rate-limit-limit", 0)),
                    "remaining": int(headers["x-rate-limit-remaining"]),
                    "reset": int(headers.get("x-rate-limit-reset", 0)),
                }
            except ValueError:
                logger.debug("unreadable x-rate-limit headers", extra={"source": self.name})

    # -- Source ------------------------------------------------------------------------------
    def fetch(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        state: dict[str, Any] = {k: v for k, v in (cursor or {}).items() if isinstance(v, dict)}
        if self.options.search and self.query:
            yield from self._walk("search", state)
        if self.options.mentions and self.options.user_id:
            yield from self._walk("mentions", state)

    def _request_page(self, stream: str, params: dict[str, Any], token: str | None) -> Any:
        common: dict[str, Any] = {
            "tweet_fields": TWEET_FIELDS, "expansions": ["author_id"], "user_fields": USER_FIELDS,
            "max_results": self.options.max_results,
        }  # fmt: skip
        common.update({k: v for k, v in params.items() if v is not None})
        self._stream = stream
        if stream == "search":
            return self._call(
                lambda: self.client.search_recent_tweets(self.query, next_token=token, **common),
                "X recent search",
            )
        return self._call(
            lambda: self.client.get_users_mentions(
                self.options.user_id, pagination_token=token, **common
            ),
            "X mentions timeline",
        )

    def _walk(self, stream: str, state: dict[str, Any]) -> Iterator[Page]:
        saved = state.get(stream) or {}
        since: str | None = saved.get("since_id")
        run = saved.get("run") or {}
        newest: str | None = run.get("newest")
        start_until: str | None = run.get("until")  # resuming: only what is older than stored
        oldest = start_until
        token: str | None = None
        for _ in range(self.options.max_pages):
            body = self._request_page(stream, {"since_id": since, "until_id": start_until}, token)
            meta = body.get("meta") or {}
            tweets = body.get("data") or []
            newest = newest or meta.get("newest_id")
            users = {u["id"]: u for u in (body.get("includes") or {}).get("users", [])}
            mentions = tuple(self._mention(t, users) for t in tweets)
            token = meta.get("next_token")
            if tweets:
                oldest = str(min(int(t["id"]) for t in tweets))
            if not token:
                state[stream] = {"since_id": newest or since} if (newest or since) else {}
            elif newest and oldest:
                progress: dict[str, Any] = {"run": {"newest": newest, "until": oldest}}
                state[stream] = progress | ({"since_id": since} if since else {})
            # else: a page with a token but nothing stored yet; the saved cursor stays as it is.
            if tweets or not token:
                yield Page(mentions, cursor=dict(state), rate_limit=dict(self.rate))
            if not token:
                return
        logger.info(
            "X %s: page budget spent; the walk resumes next poll",
            stream,
            extra={"source": self.name},
        )

    def _mention(self, tweet: Mapping[str, Any], users: Mapping[str, Any]) -> Mention:
        try:
            author_id = str(tweet.get("author_id") or "")
            user = users.get(author_id) or {}
            username = user.get("username") or author_id or "unknown"
            metrics = tweet.get("public_metrics") or {}
            refs = tweet.get("referenced_tweets") or []
            parent = next((str(r["id"]) for r in refs if r.get("type") == "replied_to"), None)
            lang = tweet.get("lang")
            return Mention(
                platform=PLATFORM,
                native_id=str(tweet["id"]),
                text=full_text(tweet),
                author=username,
                created_at=utc(datetime.fromisoformat(str(tweet["created_at"]))),
                url=f"https://x.com/{username}/status/{tweet['id']}",
                lang=None if lang in (None, "und", "zxx") else str(lang),
                parent_id=parent,
                thread_id=str(tweet.get("conversation_id") or tweet["id"]),
                author_id=author_id or None,
                author_name=user.get("name"),
                author_followers=(user.get("public_metrics") or {}).get("followers_count"),
                likes=int(metrics.get("like_count", 0)),
                replies=int(metrics.get("reply_count", 0)),
                shares=int(metrics.get("retweet_count", 0)) + int(metrics.get("quote_count", 0)),
                kind="comment" if parent else "post",
                raw=dict(tweet),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceUnavailable(
                f"X sent a tweet we cannot read ({type(exc).__name__}: {exc})", source=self.name
            ) from exc

    # -- Channel -----------------------------------------------------------------------------
    def _require_write(self) -> None:
        if self.write_secrets_missing:
            raise MissingSecret(
                self.write_secrets_missing[0],
                needed_for=f"replies and DMs of source {self.name!r}",
            )

    def _my_id(self) -> str:
        if self._me is None:
            body = self._call(lambda: self.client.get_me(user_auth=True), "X users/me")
            self._me = str(body["data"]["id"])
        return self._me

    def _user_id(self, recipient: str) -> str:
        handle = recipient.lstrip("@")
        if handle.isdigit():
            return handle
        if handle not in self._user_ids:
            body = self._call(lambda: self.client.get_user(username=handle), "X user lookup")
            if not body.get("data"):
                raise SourceError(f"no X user named @{handle}", source=self.name)
            self._user_ids[handle] = str(body["data"]["id"])
        return self._user_ids[handle]

    def send(self, message: OutboundMessage) -> SentMessage:
        self._require_write()
        found = self.find_sent(message)  # send is safe to retry: look for an earlier post first
        if found is not None:
            return found
        if message.kind == "private_message":
            return self._send_dm(message)
        if not message.in_reply_to:
            raise SourceError(
                "a public reply on X needs in_reply_to (the tweet id)", source=self.name
            )
        try:
            body = self._call(
                lambda: self.client.create_tweet(
                    text=message.text, in_reply_to_tweet_id=message.in_reply_to, user_auth=True
                ),
                "X reply",
                write=True,
            )
        except SourceError as exc:
            # "duplicate content" (403) or a 5xx after the post: it may already be there.
            found = self.find_sent(message)
            if found is not None:
                logger.info("X reply already posted", extra={"key": message.idempotency_key})
                return found
            raise exc
        tid = str(body["data"]["id"])
        return SentMessage(platform_id=tid, url=f"https://x.com/i/web/status/{tid}")

    def _send_dm(self, message: OutboundMessage) -> SentMessage:
        if not message.recipient:
            raise SourceError("a private message on X needs a recipient", source=self.name)
        participant = self._user_id(message.recipient)
        try:
            body = self._call(
                lambda: self.client.create_direct_message(
                    participant_id=participant, text=message.text, user_auth=True
                ),
                "X direct message",
                write=True,
            )
        except SourceUnavailable:
            found = self.find_sent(message)
            if found is not None:
                return found
            raise
        data = body["data"]
        return SentMessage(
            platform_id=str(data["dm_event_id"]),
            url=f"https://x.com/messages/{data.get('dm_conversation_id', '')}",
        )

    def find_sent(self, message: OutboundMessage) -> SentMessage | None:
        """Our earlier post with the same text in the same place (X has no idempotency keys)."""
        me = self._my_id()
        if message.kind == "private_message":
            if not message.recipient:
                return None
            participant = self._user_id(message.recipient)
            body = self._call(
                lambda: self.client.get_direct_message_events(
                    participant_id=participant, dm_event_fields=DM_FIELDS,
                    event_types="MessageCreate", max_results=100, user_auth=True,
                ),
                "X DM lookup",
            )  # fmt: skip
            for event in body.get("data") or []:
                if str(event.get("sender_id")) == me and event.get("text") == message.text:
                    conversation = event.get("dm_conversation_id", "")
                    return SentMessage(
                        platform_id=str(event["id"]), url=f"https://x.com/messages/{conversation}"
                    )
            return None
        body = self._call(
            lambda: self.client.get_users_tweets(
                me, tweet_fields=TWEET_FIELDS, max_results=100, user_auth=True
            ),
            "X own tweets lookup",
        )
        for tweet in body.get("data") or []:
            refs = tweet.get("referenced_tweets") or []
            answered = {str(r.get("id")) for r in refs if r.get("type") == "replied_to"}
            if (
                "text" in tweet
                and full_text(tweet) == message.text
                and (message.in_reply_to is None or message.in_reply_to in answered)
            ):
                tid = str(tweet["id"])
                return SentMessage(platform_id=tid, url=f"https://x.com/i/web/status/{tid}")
        return None

    def poll_private(
        self, cursor: Mapping[str, Any] | None
    ) -> tuple[list[InboundMessage], Mapping[str, Any] | None]:
        """Direct messages newer than ``cursor["last_event_id"]``, oldest first; ours left out.

        Without the user-context secrets DMs are off (said once at start-up): nothing is read.
        """
        if self.write_secrets_missing:
            return [], cursor
        me = self._my_id()
        last = int((cursor or {}).get("last_event_id") or 0)
        events: list[dict[str, Any]] = []
        users: dict[str, Any] = {}
        token: str | None = None
        for _ in range(self.options.max_pages * 5):  # bounded: DMs have no since parameter
            self._stream = "dm"
            body = self._call(
                lambda token=token: self.client.get_direct_message_events(  # type: ignore[misc]
                    dm_event_fields=DM_FIELDS, event_types="MessageCreate",
                    expansions=["sender_id"], user_fields=["username"], max_results=100,
                    pagination_token=token, user_auth=True,
                ),
                "X DM events",
            )  # fmt: skip
            users.update({u["id"]: u for u in (body.get("includes") or {}).get("users", [])})
            page = body.get("data") or []
            fresh = [e for e in page if int(e["id"]) > last]
            events.extend(fresh)
            token = (body.get("meta") or {}).get("next_token")
            if len(fresh) < len(page) or not token:
                break
        messages = [
            InboundMessage(
                platform=PLATFORM,
                native_id=str(e["id"]),
                sender=(users.get(str(e["sender_id"])) or {}).get("username")
                or str(e["sender_id"]),
                text=str(e.get("text", "")),
                created_at=utc(datetime.fromisoformat(str(e["created_at"]))),
                conversation_id=e.get("dm_conversation_id"),
                raw=dict(e),
            )
            for e in sorted(events, key=lambda e: int(e["id"]))
            if str(e.get("sender_id")) != me
        ]
        newest = max((int(e["id"]) for e in events), default=last)
        return messages, ({"last_event_id": str(newest)} if newest else cursor)


def build_client(bearer: str, user: Mapping[str, str | None], base_url: str | None,
                 timeout: float) -> Any:  # fmt: skip
    """A tweepy Client; ``base_url`` points it at a gateway or fake instead of api.twitter.com."""
    import tweepy

    client = tweepy.Client(
        bearer_token=bearer,
        consumer_key=user.get("X_CONSUMER_KEY"),
        consumer_secret=user.get("X_CONSUMER_SECRET"),
        access_token=user.get("X_ACCESS_TOKEN"),
        access_token_secret=user.get("X_ACCESS_TOKEN_SECRET"),
        return_type=dict,
        wait_on_rate_limit=False,  # we wait ourselves, bounded, and never on a missing reset
    )
    adapter = TimeoutAdapter(timeout=timeout, real=REAL_HOST, target=base_url)
    client.session.mount(REAL_HOST + "/", adapter)
    return client


def from_settings(source: SourceSettings, settings: Settings) -> XConnector:
    options = parse_options(XOptions, source)
    bearer = settings.source_secret(
        source.name, "X_BEARER_TOKEN", needed_for=f"the X source {source.name!r}"
    )
    user = {name: settings.optional_source_secret(source.name, name) for name in USER_SECRETS}
    missing = [f"ESCUCHA_{n}" for n, v in user.items() if not v]
    query = options.query or (
        brand_query(settings, source, options.query_limit) if options.search else None
    )
    if query and len(query) > options.query_limit:
        raise ConfigError(
            f"the X query is {len(query)} characters, over X's limit of {options.query_limit}",
            key=f"sources.{source.name}.query",
            hint="shorten it, or raise `query_limit` if your X access level allows more",
        )
    if not (options.search and query) and not (options.mentions and options.user_id):
        raise ConfigError(
            "nothing to read: set `query` (or a brand with keywords) or `user_id`",
            key=f"sources.{source.name}.query",
        )
    client = build_client(bearer, user, source.api_base_url, options.timeout.total_seconds())
    return XConnector(source, options, client, query=query, write_secrets_missing=missing)
