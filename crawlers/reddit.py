"""Reddit (praw): search and subreddit comment/submission listings as a Source; replies, private
messages and the inbox as a Channel.

Cursor, per stream (``search``, ``comments:<sub>``, ``submissions:<sub>``): ``{"hw": created_utc}``
of the newest item once a walk is complete; mid-walk pages commit ``run = {"newest", "after"}``
(``after`` is the fullname of the oldest stored item), so an interrupted walk resumes where it
stopped. Walks stop at ``hw - overlap`` because the search index lags; re-read items are dropped
by key on ingest. praw's own stream de-duplication lives in memory only, so it is not used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import requests
from pydantic import Field, field_validator

from crawlers.http import call_with_retries
from crawlers.options import ConnectorOptions, parse_options
from pipeline.errors import (
    AuthError,
    ConfigError,
    MissingSecret,
    RateLimited,
    SourceError,
    SourceUnavailable,
)
from pipeline.records import InboundMessage, Mention, OutboundMessage, Page, SentMessage
from pipeline.settings import Settings, SourceSettings, parse_duration

logger = logging.getLogger(__name__)

PLATFORM = "reddit"
SITE = "https://www.reddit.com"
MARKER = "[](#escucha:{key})"  # an empty Markdown link: invisible, but searchable by us
T = TypeVar("T")
# What Reddit shows instead of a body or self-text its author deleted or a moderator removed.
GONE = frozenset({"[deleted]", "[removed]"})


class RedditOptions(ConnectorOptions):
    """Keys of a ``reddit`` source."""

    query: str | None = None  # Reddit search syntax; default: the brand's keywords OR-ed
    subreddits: list[str] = Field(
        default_factory=list
    )  # search within these (default: all); streams read these
    search: bool = True
    streams: list[Literal["comments", "submissions"]] = Field(
        default_factory=list
    )  # every item of the subreddits
    overlap: timedelta = timedelta(minutes=15)  # re-read below the high-water (index lag)
    backfill: timedelta = timedelta(days=1)  # how far back the first poll reads
    page_size: int = Field(100, ge=1, le=100)
    user_agent: str = "escucha/0.1 (self-hosted social listening)"
    message_subject: str = "About your message"

    _more = field_validator("overlap", "backfill", mode="before")(parse_duration)


def brand_query(settings: Settings, source: SourceSettings) -> str | None:
    brands = [b for b in settings.brands if b.name == source.brand] or settings.brands[:1]
    if not brands or not brands[0].keywords:
        return None
    return " OR ".join(f'"{k}"' if " " in k else k for k in brands[0].keywords)


def _data(thing: Any) -> dict[str, Any]:
    """The payload praw parsed, read without triggering praw's lazy fetches."""
    return {k: v for k, v in vars(thing).items() if not k.startswith("_")}


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, str | int | float | bool | type(None)) else str(v)
        for k, v in data.items()
        if not isinstance(v, dict | list)
    }


def marker(key: str) -> str:
    return MARKER.format(key=quote(key, safe=""))


class RedditConnector:
    """Reads brand mentions on Reddit and answers there (comment replies, private messages)."""

    platform = PLATFORM

    def __init__(
        self,
        source: SourceSettings,
        options: RedditOptions,
        reddit: Any,
        *,
        query: str | None = None,
        username: str | None = None,
        write_secret_missing: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = source.name
        self.options = options
        self.reddit = reddit
        self.query = options.query or query
        self.username = username
        self.write_secret_missing = write_secret_missing
        self.sleep = sleep
        self.clock = clock

    # -- errors: the one place praw/prawcore exceptions become ours --------------------------
    def _classify(self, exc: Exception) -> SourceError | None:
        import praw.exceptions
        import prawcore.exceptions as pc

        where = {"source": self.name}
        if isinstance(exc, pc.TooManyRequests):
            headers = exc.response.headers
            wait = headers.get("retry-after") or headers.get("x-ratelimit-reset")
            retry = float(wait) + 0.1 if wait else None
            hint = None if retry else "no reset header: not retried at once"
            return RateLimited("Reddit rate limit reached (429)", retry_after=retry, **where,
                               hint=hint)  # fmt: skip
        if isinstance(exc, pc.OAuthException):
            return AuthError(
                f"Reddit refused the app's credentials ({exc})", **where,
                hint="check ESCUCHA_REDDIT_CLIENT_ID/_CLIENT_SECRET (and _USERNAME/_PASSWORD)",
            )  # fmt: skip
        if isinstance(exc, pc.InvalidToken | pc.Forbidden | pc.InsufficientScope):
            status = exc.response.status_code
            return AuthError(
                f"Reddit refused the request ({status}): the token is invalid or expired, or "
                "the account may not do this",
                **where,
                hint="check ESCUCHA_REDDIT_* credentials and that the account can post there",
            )
        if isinstance(exc, pc.ServerError):
            return SourceUnavailable(f"Reddit server error ({exc.response.status_code})", **where)
        if isinstance(exc, pc.BadJSON):
            return SourceUnavailable("Reddit sent a response that is not valid JSON", **where)
        if isinstance(exc, pc.RequestException):
            return SourceUnavailable(f"cannot reach Reddit ({exc.original_exception})", **where)
        if isinstance(exc, pc.ResponseException):
            return SourceError(f"Reddit rejected the request ({exc.response.status_code})", **where)
        if isinstance(exc, praw.exceptions.RedditAPIException):
            return SourceError(f"Reddit refused: {exc}", **where)
        if isinstance(exc, requests.exceptions.RequestException | ValueError):
            return SourceUnavailable(f"Reddit answer unreadable ({exc})", **where)
        return None

    def _call(self, fn: Callable[[], T], what: str, *, write: bool = False) -> T:
        return call_with_retries(
            fn, classify=self._classify, policy=self.options.policy(), sleep=self.sleep,
            what=what, retry_unavailable=not write,
        )  # fmt: skip

    def _rate(self) -> dict[str, Any]:
        limits = dict(getattr(self.reddit.auth, "limits", {}) or {})
        return {k: v for k, v in limits.items() if v is not None}

    # -- Source ------------------------------------------------------------------------------
    def _streams(self) -> list[tuple[str, str, dict[str, Any]]]:
        streams: list[tuple[str, str, dict[str, Any]]] = []
        subs = "+".join(self.options.subreddits) or "all"
        if self.options.search and self.query:
            params = {"q": self.query, "sort": "new", "t": "all", "syntax": "lucene",
                      "restrict_sr": "on" if self.options.subreddits else "off"}  # fmt: skip
            streams.append(("search", f"r/{subs}/search/", params))
        for kind in self.options.streams:
            for sub in self.options.subreddits:
                path = f"r/{sub}/comments/" if kind == "comments" else f"r/{sub}/new/"
                streams.append((f"{kind}:{sub}", path, {}))
        return streams

    def fetch(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        state: dict[str, Any] = {k: v for k, v in (cursor or {}).items() if isinstance(v, dict)}
        for stream, path, params in self._streams():
            yield from self._walk(stream, path, params, state)

    def _walk(
        self, stream: str, path: str, params: dict[str, Any], state: dict[str, Any]
    ) -> Iterator[Page]:
        saved = state.get(stream) or {}
        hw: float | None = saved.get("hw")
        run = saved.get("run") or {}
        newest: float | None = run.get("newest")
        after: str | None = run.get("after")
        if hw is not None:
            floor = hw - self.options.overlap.total_seconds()
        else:
            floor = self.clock() - self.options.backfill.total_seconds()
        for _ in range(self.options.max_pages):
            query = {**params, "limit": self.options.page_size}
            if after:
                query["after"] = after
            listing = self._call(lambda q=query: self.reddit.get(path, params=q), f"Reddit {path}")  # type: ignore[misc]
            items = [_data(thing) for thing in listing]
            fresh = [d for d in items if float(d.get("created_utc", 0)) >= floor]
            mentions = tuple(self._mention(d) for d in fresh)
            if items:
                newest = max(newest or 0.0, *(float(d.get("created_utc", 0)) for d in items))
                after = str(items[-1].get("name") or after)
            more = bool(getattr(listing, "after", None)) and len(fresh) == len(items) and items
            if more:
                progress: dict[str, Any] = {"run": {"newest": newest, "after": after}}
                state[stream] = progress | ({"hw": hw} if hw is not None else {})
            else:
                top = max(x for x in (hw, newest) if x is not None) if (hw or newest) else None
                state[stream] = {"hw": top} if top is not None else {}
            yield Page(mentions, cursor=dict(state), rate_limit=self._rate())
            if not more:
                return

    def _mention(self, data: Mapping[str, Any]) -> Mention:
        try:
            fullname = str(data["name"])
            is_post = fullname.startswith("t3_")
            author = str(data.get("author") or "[deleted]")
            title = data.get("title") if is_post else None
            body = data.get("selftext") if is_post else data["body"]
            text = str(body or title or "") if is_post else str(body)
            return Mention(
                platform=PLATFORM,
                native_id=fullname,
                text=text,
                author=author,
                created_at=datetime.fromtimestamp(float(data["created_utc"]), UTC),
                url=SITE + str(data["permalink"]) if data.get("permalink") else None,
                title=str(title) if title else None,
                parent_id=None if is_post else data.get("parent_id"),
                thread_id=fullname if is_post else data.get("link_id"),
                author_id=data.get("author_fullname"),
                author_name=author,
                likes=int(data.get("score") or 0),
                replies=int(data.get("num_comments") or 0),
                kind="post" if is_post else "comment",
                raw=_jsonable(data) | {"subreddit": str(data.get("subreddit", ""))},
                deleted=str(body or "").strip() in GONE
                or data.get("removed_by_category") in ("deleted", "author"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SourceUnavailable(
                f"Reddit sent an item we cannot read ({type(exc).__name__}: {exc})",
                source=self.name,
            ) from exc

    # -- Channel -----------------------------------------------------------------------------
    def _require_write(self) -> str:
        if self.write_secret_missing or not self.username:
            raise MissingSecret(
                self.write_secret_missing or "ESCUCHA_REDDIT_USERNAME",
                needed_for=f"replies and private messages of source {self.name!r}",
            )
        return self.username

    def send(self, message: OutboundMessage) -> SentMessage:
        self._require_write()
        found = self.find_sent(message)  # send is safe to retry: the marker shows an earlier post
        if found is not None:
            return found
        body = f"{message.text}\n\n{marker(message.idempotency_key)}"
        try:
            if message.kind == "private_message":
                if not message.recipient:
                    raise SourceError(
                        "a Reddit private message needs a recipient", source=self.name
                    )
                recipient = message.recipient.removeprefix("u/")
                self._call(
                    lambda: self.reddit.redditor(recipient).message(
                        subject=self.options.message_subject, message=body
                    ),
                    "Reddit compose",
                    write=True,
                )
                found = self.find_sent(message)
                return found or SentMessage(platform_id=f"compose:{message.idempotency_key}")
            target = message.in_reply_to or ""
            if not target.startswith(("t1_", "t3_")):
                raise SourceError(
                    f"a Reddit reply needs the fullname it answers (t1_/t3_), got {target!r}",
                    source=self.name,
                )
            thing = (
                self.reddit.comment(target[3:])
                if target.startswith("t1_")
                else self.reddit.submission(target[3:])
            )
            comment = self._call(lambda: thing.reply(body), "Reddit reply", write=True)
            data = _data(comment)
            permalink = data.get("permalink")
            return SentMessage(
                platform_id=str(data.get("name") or f"t1_{data.get('id')}"),
                url=SITE + str(permalink) if permalink else None,
            )
        except SourceUnavailable:
            # The post may have gone through before the failure: look before the outbox retries.
            found = self.find_sent(message)
            if found is not None:
                return found
            raise

    def find_sent(self, message: OutboundMessage) -> SentMessage | None:
        """Our earlier post carrying this message's invisible idempotency marker."""
        me = self._require_write()
        tag = marker(message.idempotency_key)
        path = "message/sent/" if message.kind == "private_message" else f"user/{me}/comments/"
        listing = self._call(
            lambda: self.reddit.get(path, params={"limit": 100}), "Reddit sent lookup"
        )
        for thing in listing:
            data = _data(thing)
            if tag in str(data.get("body", "")):
                permalink = data.get("permalink")
                return SentMessage(
                    platform_id=str(data.get("name")),
                    url=SITE + str(permalink) if permalink else None,
                )
        return None

    def poll_private(
        self, cursor: Mapping[str, Any] | None
    ) -> tuple[list[InboundMessage], Mapping[str, Any] | None]:
        """Private messages in the inbox newer than the cursor, oldest first; ours left out."""
        me = self._require_write()
        saved = dict(cursor or {})
        hw = float(saved.get("hw") or 0.0)
        seen = set(saved.get("seen") or [])
        found: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(self.options.max_pages):
            params: dict[str, Any] = {"limit": 100}
            if after:
                params["after"] = after
            listing = self._call(
                lambda p=params: self.reddit.get("message/inbox/", params=p),  # type: ignore[misc]
                "Reddit inbox",
            )
            items = [_data(thing) for thing in listing]
            found += [d for d in items if float(d.get("created_utc", 0)) >= hw]
            after = getattr(listing, "after", None)
            if not after or not items or float(items[-1].get("created_utc", 0)) < hw:
                break
        fresh = [
            d for d in found
            if str(d.get("name", "")).startswith("t4_") and d.get("name") not in seen
        ]  # fmt: skip
        messages = [
            InboundMessage(
                platform=PLATFORM,
                native_id=str(d["name"]),
                sender=str(d.get("author") or "[deleted]"),
                text=str(d.get("body", "")),
                created_at=datetime.fromtimestamp(float(d["created_utc"]), UTC),
                conversation_id=str(d.get("first_message_name") or d["name"]),
                raw=_jsonable(d),
            )
            for d in sorted(fresh, key=lambda d: float(d["created_utc"]))
            if str(d.get("author") or "").lower() != me.lower()
        ]
        top = max([hw, *(float(d["created_utc"]) for d in found)])
        keep = {str(d["name"]) for d in found if float(d["created_utc"]) >= top} | (
            seen if top == hw else set()
        )
        return messages, {"hw": top, "seen": sorted(keep)}


def build_reddit(
    credentials: Mapping[str, str | None], options: RedditOptions, base_url: str | None
) -> Any:
    """A praw Reddit; ``base_url`` replaces both oauth.reddit.com and www.reddit.com."""
    import praw

    kwargs: dict[str, Any] = {}
    if base_url:
        base = base_url.rstrip("/")
        kwargs = {"oauth_url": base, "reddit_url": base, "short_url": base}
    return praw.Reddit(
        client_id=credentials["REDDIT_CLIENT_ID"],
        client_secret=credentials["REDDIT_CLIENT_SECRET"],
        username=credentials.get("REDDIT_USERNAME"),
        password=credentials.get("REDDIT_PASSWORD"),
        user_agent=options.user_agent,
        check_for_updates=False,
        timeout=int(max(1, options.timeout.total_seconds())),
        **kwargs,
    )


def from_settings(source: SourceSettings, settings: Settings) -> RedditConnector:
    options = parse_options(RedditOptions, source)
    needed = f"the Reddit source {source.name!r}"
    credentials: dict[str, str | None] = {
        name: settings.source_secret(source.name, name, needed_for=needed)
        for name in ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET")
    }
    for name in ("REDDIT_USERNAME", "REDDIT_PASSWORD"):
        credentials[name] = settings.optional_source_secret(source.name, name)
    missing = next(
        (f"ESCUCHA_{n}" for n in ("REDDIT_USERNAME", "REDDIT_PASSWORD") if not credentials[n]),
        None,
    )
    query = options.query or brand_query(settings, source)
    if not (options.search and query) and not (options.streams and options.subreddits):
        raise ConfigError(
            "nothing to read: set `query` (or a brand with keywords), or `streams` with "
            "`subreddits`",
            key=f"sources.{source.name}.query",
        )
    reddit = build_reddit(credentials, options, source.api_base_url)
    return RedditConnector(
        source, options, reddit, query=query, username=credentials["REDDIT_USERNAME"],
        write_secret_missing=missing,
    )  # fmt: skip
