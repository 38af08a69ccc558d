"""Meta's Graph API over httpx, shared by the Facebook Pages and Instagram connectors: one client
with bounded retries, the one place Graph errors become escucha errors, and typed payloads.

Graph errors (``{"error": {"code", "error_subcode", "message"}}``) map as follows:
HTTP 429 and codes 4, 17, 32, 613, 80001-80014 -> RateLimited (``retry_after`` from the
``X-Business-Use-Case-Usage`` estimate, else from a full ``X-App-Usage``); 190 (token expired or
revoked) and 102 -> AuthError naming the variable to renew; 10 with subcode 2018278 (outside the
messaging window) and 10900 (a comment already answered privately) -> Conflict; other 10 and
200-299 (permission missing) -> AuthError; 5xx, codes 1/2, timeouts, unreadable JSON ->
SourceUnavailable; anything else -> SourceError.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from crawlers.http import call_with_retries
from crawlers.options import ConnectorOptions
from pipeline.errors import (
    AuthError,
    Conflict,
    EscuchaError,
    MissingSecret,
    RateLimited,
    SourceError,
    SourceUnavailable,
)
from pipeline.records import OutboundMessage, SentMessage, utc, utcnow
from pipeline.settings import parse_duration

logger = logging.getLogger(__name__)

GRAPH_VERSION = "v21.0"  # the one place the Graph API version is set
GRAPH_BASE_URL = "https://graph.facebook.com"
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
AUTH_CODES = frozenset({102, 190})
OUTSIDE_WINDOW = (10, 2018278)  # (code, subcode): the messaging/private-reply window is closed
ALREADY_REPLIED = 10900  # a comment's one private reply was already sent
APP_USAGE_WAIT = 300.0  # seconds: X-App-Usage is a rolling hour with no reset time; wait a while


class MetaOptions(ConnectorOptions):
    """Keys every Meta (Facebook, Instagram) source accepts, besides the common ones."""

    page_size: int = Field(50, ge=1, le=100)  # items per Graph request (`limit`)
    backfill: timedelta = timedelta(days=7)  # how far back the first poll reads
    comment_window: timedelta = timedelta(days=14)  # posts/media whose comments are polled
    max_posts: int = Field(50, ge=1)  # posts/media whose comments one poll reads
    human_agent: bool = False  # answer DMs for 7 days with the HUMAN_AGENT tag, not 24 h

    _meta_durations = field_validator("backfill", "comment_window", mode="before")(parse_duration)


# -- typed payloads (pydantic only at this edge) --------------------------------------------------
class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class GraphErrorBody(_Model):
    message: str = ""
    type: str | None = None
    code: int | None = None
    error_subcode: int | None = None
    fbtrace_id: str | None = None


class Cursors(_Model):
    before: str | None = None
    after: str | None = None


class Paging(_Model):
    cursors: Cursors | None = None
    next: str | None = None


class Actor(_Model):
    """``from`` of a post or comment: Facebook gives id and name, Instagram id and username."""

    id: str
    name: str | None = None
    username: str | None = None

    @property
    def handle(self) -> str:
        return self.name or self.username or self.id


class SendResult(_Model):
    """What ``POST /{id}/messages`` answers."""

    recipient_id: str | None = None
    message_id: str


def parse_time(value: Any) -> datetime:
    """Graph times: ``2025-01-02T10:00:00+0000``, ISO 8601, or unix seconds (webhooks)."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value) / (1000 if value > 1e11 else 1), tz=UTC)
    text = str(value)
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def unix(moment: datetime) -> int:
    return int(utc(moment).timestamp())


# -- errors ---------------------------------------------------------------------------------------
def _usage_wait(headers: httpx.Headers) -> float | None:
    """Seconds to wait from Meta's usage headers, when they say."""
    business = headers.get("x-business-use-case-usage")
    if business:
        try:
            usage = json.loads(business)
            minutes = [
                float(item.get("estimated_time_to_regain_access") or 0)
                for items in usage.values()
                for item in items
            ]
        except (ValueError, AttributeError, TypeError):
            minutes = []
        if minutes and max(minutes) > 0:
            return max(minutes) * 60.0
    app = headers.get("x-app-usage")
    if app:
        try:
            percents = [float(v) for v in json.loads(app).values()]
        except (ValueError, AttributeError, TypeError):
            percents = []
        if percents and max(percents) >= 100:
            return APP_USAGE_WAIT
    return None


def usage(headers: httpx.Headers) -> dict[str, Any]:
    """The usage headers as ``Page.rate_limit`` keeps them."""
    found: dict[str, Any] = {}
    for name in ("x-app-usage", "x-business-use-case-usage", "x-page-usage"):
        value = headers.get(name)
        if value:
            try:
                found[name] = json.loads(value)
            except ValueError:
                found[name] = value
    return found


class GraphClient:
    """A small Graph API client: ``get``/``post``/``pages`` with our retries and error map.

    ``platform`` and ``token_variable`` name the source in errors (the variable to renew when
    Meta says the token expired). Writes are never retried after a 5xx: the caller looks for the
    post first (``find_sent``).
    """

    def __init__(
        self,
        http: httpx.Client,
        *,
        source: str,
        platform: str,
        token_variable: str,
        options: MetaOptions,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = http
        self.source = source
        self.platform = platform
        self.token_variable = token_variable
        self.options = options
        self.sleep = sleep
        self.last_usage: dict[str, Any] = {}
        self.walk_complete = True  # whether the last ``pages`` walk reached its end

    # -- error map ----------------------------------------------------------------------------
    def error(self, response: httpx.Response) -> EscuchaError:
        """The escucha error for a Graph error answer."""
        where = {"source": self.source}
        try:
            body = GraphErrorBody.model_validate(response.json().get("error") or {})
        except (ValueError, AttributeError, ValidationError):
            body = GraphErrorBody(message=response.text[:200])
        code, sub = body.code, body.error_subcode
        said = f"{body.message} (code {code}" + (f", subcode {sub}" if sub else "") + ")"
        if response.status_code == 429 or code in RATE_LIMIT_CODES:
            wait = _usage_wait(response.headers)
            return RateLimited(
                f"Meta rate limit reached: {said}", retry_after=wait, **where,
                hint=None if wait else "not retried at once; the source waits for its next poll",
            )  # fmt: skip
        if code in AUTH_CODES or response.status_code == 401:
            return AuthError(
                f"Meta refused the token (expired or revoked): {said}", **where,
                hint=f"create a new long-lived token and set {self.token_variable}",
            )  # fmt: skip
        if (code, sub) == OUTSIDE_WINDOW:
            return Conflict(
                f"{self.platform}: Meta refused the message: the window to write to this person "
                f"is closed ({said})",
                hint="a private reply is possible within 7 days of the comment; a direct message "
                "within 24 h of the customer's last message (7 days with human_agent)",
            )
        if code == ALREADY_REPLIED:
            return Conflict(
                f"{self.platform}: this comment already had its one private reply ({said})",
                hint="continue in direct messages once the customer answers",
            )
        if code == 10 or (code is not None and 200 <= code <= 299):
            return AuthError(
                f"Meta refused the request for lack of a permission: {said}", **where,
                hint="grant the permissions listed in docs/"
                f"{self.platform}.md to the app and create a new token ({self.token_variable})",
            )  # fmt: skip
        if response.status_code >= 500 or code in (1, 2):
            return SourceUnavailable(f"Meta server error {response.status_code}: {said}", **where)
        return SourceError(f"Meta rejected the request ({response.status_code}): {said}", **where)

    # -- calls --------------------------------------------------------------------------------
    def _once(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise SourceUnavailable(
                f"cannot reach the Graph API ({type(exc).__name__}: {exc})", source=self.source
            ) from exc
        self.last_usage = usage(response.headers) or self.last_usage
        if response.status_code >= 400:
            raise self.error(response)
        try:
            body = response.json()
        except ValueError as exc:
            raise SourceUnavailable(
                f"the Graph API sent a response that is not valid JSON ({exc})", source=self.source
            ) from exc
        if not isinstance(body, dict):
            raise SourceUnavailable("the Graph API sent an unexpected answer", source=self.source)
        if "error" in body:  # some batch-style answers carry errors with 200
            raise self.error(response)
        return body

    def call(self, method: str, path: str, *, write: bool = False, **kwargs: Any) -> dict[str, Any]:
        what = f"Graph {method} {path.split('?')[0]}"
        return call_with_retries(
            lambda: self._once(method, path, **kwargs),
            classify=lambda exc: exc if isinstance(exc, SourceError) else None,
            policy=self.options.policy(), sleep=self.sleep, what=what,
            retry_unavailable=not write,
        )  # fmt: skip

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self.call("GET", path, params=params)

    def post(self, path: str, *, json_body: Any = None, **data: Any) -> dict[str, Any]:
        if json_body is not None:
            return self.call("POST", path, write=True, json=json_body)
        return self.call("POST", path, write=True, data=data)

    def pages(self, path: str, **params: Any) -> Iterator[list[dict[str, Any]]]:
        """The ``data`` of each page of an edge, following ``paging.cursors.after`` up to
        ``max_pages`` pages."""
        query = {"limit": self.options.page_size, **params}
        self.walk_complete = False
        for _ in range(self.options.max_pages):
            body = self.get(path, **query)
            data = body.get("data") or []
            paging = Paging.model_validate(body.get("paging") or {})
            after = paging.cursors.after if paging.cursors else None
            last = not (paging.next and after and data)
            self.walk_complete = last
            yield [item for item in data if isinstance(item, dict)]
            if last:
                return
            query["after"] = after

    def send_message(self, account_id: str, payload: Mapping[str, Any]) -> SendResult:
        """``POST /{account}/messages`` (Messenger, Instagram DMs, private replies)."""
        body = self.post(f"{account_id}/messages", json_body=dict(payload))
        try:
            return SendResult.model_validate(body)
        except ValidationError as exc:
            raise SourceUnavailable(
                f"Meta answered a message without its id ({exc.error_count()} errors)",
                source=self.source,
            ) from exc


def build_http(token: str, base_url: str | None, timeout: float) -> httpx.Client:
    """An httpx client for ``{base}/{GRAPH_VERSION}/``, the token in the Authorization header
    (so it never appears in a logged URL)."""
    base = (base_url or GRAPH_BASE_URL).rstrip("/")
    return httpx.Client(
        base_url=f"{base}/{GRAPH_VERSION}/",
        headers={"Authorization": f"Bearer {token}", "User-Agent": "escucha"},
        timeout=timeout,
    )


def require(value: str | None, variable: str, needed_for: str) -> str:
    if not value:
        raise MissingSecret(variable, needed_for=needed_for)
    return value


def token_variable(settings: Any, source: str, name: str) -> str:
    """The variable that holds ``name`` for this source: the per-source one when it is set."""
    from pipeline.settings import secret_variable, source_secret_variable

    per_source = source_secret_variable(source, name)
    return per_source if per_source in settings.secrets else secret_variable(name)


# -- webhooks -------------------------------------------------------------------------------------
class Change(_Model):
    field: str
    value: dict[str, Any] = Field(default_factory=dict)


class Entry(_Model):
    id: str
    time: int | float | None = None
    messaging: list[dict[str, Any]] = Field(default_factory=list)
    changes: list[Change] = Field(default_factory=list)


class WebhookBody(_Model):
    object: str
    entry: list[Entry] = Field(default_factory=list)


def parse_body(body: bytes, *, expected: str, source: str) -> WebhookBody:
    """A webhook delivery for ``expected`` (``page``, ``instagram``), or SourceError."""
    try:
        parsed = WebhookBody.model_validate_json(body)
    except ValidationError as exc:
        raise SourceError(
            f"a webhook delivery we cannot read ({exc.error_count()} errors)", source=source
        ) from exc
    if parsed.object != expected:
        raise SourceError(
            f"a webhook for object {parsed.object!r} reached a {expected!r} source",
            source=source,
            hint="subscribe each app object to its own /webhooks/{source} URL",
        )
    return parsed


def messaging_events(
    platform: str, account_id: str, events: list[dict[str, Any]]
) -> tuple[list[Any], list[Any], list[str]]:
    """Messenger / Instagram messaging events -> (InboundMessage, DeliveryStatus, deleted mids).

    Our own echoes and events from the account itself are left out.
    """
    from pipeline.records import DeliveryStatus, InboundMessage

    messages: list[InboundMessage] = []
    statuses: list[DeliveryStatus] = []
    deleted: list[str] = []
    for event in events:
        sender = str((event.get("sender") or {}).get("id") or "")
        at = parse_time(event.get("timestamp") or 0)
        message = event.get("message") or {}
        if message:
            mid = str(message.get("mid") or "")
            if message.get("is_deleted") and mid:
                deleted.append(mid)
            elif mid and sender and sender != account_id and not message.get("is_echo"):
                messages.append(InboundMessage(
                    platform=platform, native_id=mid, sender=sender,
                    text=str(message.get("text") or ""), created_at=at, conversation_id=sender,
                    raw=event,
                ))  # fmt: skip
        for mid in (event.get("delivery") or {}).get("mids") or []:
            statuses.append(DeliveryStatus(platform, str(mid), "delivered", at))
        read = event.get("read") or {}
        if read.get("mid"):
            statuses.append(DeliveryStatus(platform, str(read["mid"]), "read", at))
    return messages, statuses, deleted


def send_private(
    client: GraphClient, account_id: str, message: Any, *, human_agent: bool
) -> tuple[SendResult, str]:
    """A private message: the one **private reply** to a comment (``in_reply_to``, or
    ``private_channel == "private_reply"``), else a direct message to ``recipient`` (a
    page-scoped or Instagram-scoped id). Returns what Meta answered and which of the two it was.

    Meta enforces the windows; its refusals arrive here as ``Conflict`` with the reason.
    """
    text = {"text": message.text}
    to_comment = message.in_reply_to and not message.recipient
    if message.private_channel == "private_reply" or to_comment:
        if not message.in_reply_to:
            raise SourceError(
                "a private reply needs in_reply_to (the comment id)", source=client.source
            )
        payload = {"recipient": {"comment_id": message.in_reply_to}, "message": text}
        return client.send_message(account_id, payload), "private_reply"
    if not message.recipient:
        raise SourceError(
            "a direct message needs a recipient (the person's page-scoped id)",
            source=client.source,
        )
    dm: dict[str, Any] = {"recipient": {"id": message.recipient}, "message": text}
    if human_agent:
        dm |= {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    else:
        dm["messaging_type"] = "RESPONSE"
    return client.send_message(account_id, dm), "dm"


# -- incremental marks ----------------------------------------------------------------------------
def mark(items: list[tuple[datetime, str]], saved: Mapping[str, Any]) -> dict[str, Any]:
    """The new ``{"since", "ids"}`` after reading ``items`` (time, id) past ``saved``: the newest
    second read and the ids at it (``since`` is inclusive, so those ids are dropped next time)."""
    since = int(saved.get("since") or 0)
    ids = set(saved.get("ids") or [])
    for moment, ident in items:
        stamp = unix(moment)
        if stamp > since:
            since, ids = stamp, {ident}
        elif stamp == since:
            ids.add(ident)
    return {"since": since, "ids": sorted(ids)}


def fresh(moment: datetime, ident: str, saved: Mapping[str, Any]) -> bool:
    """Not read before: newer than the mark, or at it with an id not seen there."""
    since = int(saved.get("since") or 0)
    stamp = unix(moment)
    return stamp > since or (stamp == since and ident not in (saved.get("ids") or []))


MESSAGE_FIELDS = "messages.limit(25){id,message,from,created_time}"


def poll_conversations(
    client: GraphClient,
    account_id: str,
    platform: str,
    graph_platform: str,
    cursor: Mapping[str, Any] | None,
    *,
    floor: datetime,
) -> tuple[list[Any], dict[str, Any]]:
    """Customers' direct messages since the mark, oldest first (``/{id}/conversations``): the
    safety net under the messaging webhook."""
    from pipeline.records import InboundMessage

    saved = dict(cursor or {"since": unix(floor), "ids": []})
    found: list[InboundMessage] = []
    seen: list[tuple[datetime, str]] = []
    for data in client.pages(f"{account_id}/conversations", platform=graph_platform,
                             fields=MESSAGE_FIELDS):  # fmt: skip
        for conversation in data:
            for item in (conversation.get("messages") or {}).get("data") or []:
                moment = parse_time(item["created_time"])
                sender = str((item.get("from") or {}).get("id") or "")
                if sender == account_id or not fresh(moment, str(item["id"]), saved):
                    continue
                seen.append((moment, str(item["id"])))
                found.append(InboundMessage(
                    platform=platform, native_id=str(item["id"]), sender=sender,
                    text=str(item.get("message") or ""), created_at=moment,
                    conversation_id=sender, raw=dict(item),
                ))  # fmt: skip
    found.sort(key=lambda m: m.created_at)
    return found, mark(seen, saved)


class MetaConnector:
    """What a Facebook page and an Instagram account connector share: settings, the Graph client,
    the account that speaks for the brand, hiding comments, DMs read as the webhook's safety net,
    the webhook's secrets, and building from the settings. Subclasses read and answer."""

    platform: str
    label: str  # "Facebook", "Instagram": for people
    conversations: str  # the ``platform`` Graph's conversation listing takes
    hide_field: str  # the field that hides a comment
    reply_edge: str  # where a public reply to a comment is posted and listed
    reply_fields: str  # the fields that list replies with their author and text
    text_field: str  # the field holding a comment's text
    token_name: str  # the secret holding the access token

    def __init__(
        self,
        source: Any,
        options: Any,
        client: GraphClient,
        *,
        account: str,
        app_secret: str | None = None,
        verify_token: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.name = source.name
        self.options = options
        self.client = client
        self.account = account
        self._app_secret = app_secret
        self._verify_token = verify_token
        self.clock = clock

    def reply_url(self, reply_id: str) -> str | None:
        """Where people see a public reply, when the platform gives it an address."""
        return None

    def send(self, message: OutboundMessage) -> SentMessage:
        """A public reply under the comment, or a private message: the comment's one private
        reply, else a direct message within its window."""
        if message.kind == "private_message":
            result, how = send_private(self.client, self.account, message,
                                       human_agent=self.options.human_agent)  # fmt: skip
            logger.info("%s %s sent", self.platform, how, extra={"source": self.name})
            return SentMessage(platform_id=result.message_id, recipient_id=result.recipient_id)
        if not message.in_reply_to:
            raise SourceError(f"a {self.label} reply needs in_reply_to (the comment it answers)",
                              source=self.name)  # fmt: skip
        found = self.find_sent(message)
        if found is not None:
            return found
        try:
            made = self.client.post(f"{message.in_reply_to}/{self.reply_edge}",
                                    message=message.text)  # fmt: skip
        except SourceUnavailable:  # a 5xx may hide a success: look before failing
            found = self.find_sent(message)
            if found is not None:
                return found
            raise
        return SentMessage(platform_id=str(made["id"]), url=self.reply_url(str(made["id"])))

    def find_sent(self, message: OutboundMessage) -> SentMessage | None:
        """Our reply with the same text under the same comment (public kinds only; Meta lists
        no sent private replies)."""
        if message.kind == "private_message" or not message.in_reply_to:
            return None
        path = f"{message.in_reply_to}/{self.reply_edge}"
        for data in self.client.pages(path, **self._reply_listing()):
            for reply in data:
                mine = (reply.get("from") or {}).get("id") == self.account
                if mine and reply.get(self.text_field) == message.text:
                    return SentMessage(platform_id=str(reply["id"]),
                                       url=self.reply_url(str(reply["id"])))  # fmt: skip
        return None

    def _reply_listing(self) -> dict[str, str]:
        return {"fields": self.reply_fields}

    def hide(self, comment_id: str, *, hidden: bool = True) -> None:
        """Hide (or show again) a comment: hidden from everyone but its author."""
        self.client.post(comment_id, **{self.hide_field: "true" if hidden else "false"})
        logger.info("%s comment %s %s", self.platform, comment_id,
                    "hidden" if hidden else "shown", extra={"source": self.name})  # fmt: skip

    def poll_private(self, cursor: Mapping[str, Any] | None) -> tuple[list[Any], Any]:
        """Direct messages since the mark (the safety net under the webhook)."""
        return poll_conversations(self.client, self.account, self.platform, self.conversations,
                                  cursor, floor=self.clock() - self.options.backfill)  # fmt: skip

    def webhook_secret(self) -> str:
        return require(self._app_secret, "ESCUCHA_META_APP_SECRET",
                       f"webhooks of source {self.name!r}")  # fmt: skip

    def verify_token(self) -> str:
        return require(self._verify_token, "ESCUCHA_META_VERIFY_TOKEN",
                       f"webhooks of source {self.name!r}")  # fmt: skip

    @classmethod
    def connect(cls, source: Any, settings: Any, options: Any, account: str) -> Any:
        """The connector of ``source`` with its Graph client and webhook secrets."""
        needed_for = f"the {cls.label} source {source.name!r}"
        token = settings.source_secret(source.name, cls.token_name, needed_for=needed_for)
        client = GraphClient(
            build_http(token, source.api_base_url, options.timeout.total_seconds()),
            source=source.name, platform=cls.platform, options=options,
            token_variable=token_variable(settings, source.name, cls.token_name),
        )  # fmt: skip
        return cls(
            source, options, client, account=account,
            app_secret=settings.optional_source_secret(source.name, "META_APP_SECRET"),
            verify_token=settings.optional_source_secret(source.name, "META_VERIFY_TOKEN"),
        )  # fmt: skip
