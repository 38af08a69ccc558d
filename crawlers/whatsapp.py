"""WhatsApp Business Cloud API (through pywa): private messages and approved templates as a
Channel; inbound messages and delivery states by webhook, as a WebhookReceiver.

WhatsApp has no public posts, so ``fetch`` reads nothing; customers reach us by writing (from the
click-to-chat link of a public acknowledgement), and their messages and our messages' statuses
arrive as signed webhook deliveries that the service stores and hands to ``parse_webhook``.
pywa's synchronous ``WhatsApp`` client sends; its ``httpx.Client`` gets a transport that points
``https://graph.facebook.com`` at ``api_base_url`` (a gateway or a test fake), so pywa runs as is.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pywa.client import WhatsApp
from pywa.errors import AuthorizationError, ThrottlingError, WhatsAppError
from pywa.types.templates import BodyText, TemplateLanguage, TemplateStatus

from crawlers.http import call_with_retries
from crawlers.options import ConnectorOptions, parse_options
from pipeline.errors import (
    AuthError,
    ConfigError,
    RateLimited,
    SourceError,
    SourceUnavailable,
)
from pipeline.records import (
    DeliveryStatus,
    InboundMessage,
    OutboundMessage,
    Page,
    SentMessage,
    WebhookEvents,
)
from pipeline.settings import Settings, SourceSettings

logger = logging.getLogger(__name__)

PLATFORM = "whatsapp"
REAL_HOST = "graph.facebook.com"
DOCS = "docs/whatsapp.md"
# Cloud API error codes met when sending (developers.facebook.com/docs/whatsapp/cloud-api/support)
EXPIRED_TOKEN = 190
OUTSIDE_WINDOW = 131047  # "re-engagement message": more than 24 h since the customer wrote
DEFAULT_RETRY_AFTER = 60.0  # seconds, when a throttling answer says nothing of when to retry


class WhatsAppOptions(ConnectorOptions):
    """Keys of a ``whatsapp`` source."""

    phone_number_id: str = Field(min_length=1)  # the business number's id (not the number)
    waba_id: str | None = None  # the WhatsApp Business Account id: needed to list templates
    template: str | None = None  # approved template sent outside the 24-hour window
    template_language: str = "es"  # its language code, as approved (es, en_US, pt_BR...)
    api_version: str | None = None  # Graph API version; pywa's default when unset


# -- the webhook payload (only what we read; Meta adds fields freely) -----------------------------
class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Text(_Model):
    body: str = ""


class _Media(_Model):
    caption: str | None = None
    filename: str | None = None


class _Context(_Model):
    id: str | None = None  # the message of ours this one answers


class _Message(_Model):
    sender: str = Field(alias="from")
    id: str
    timestamp: int
    type: str
    text: _Text | None = None
    image: _Media | None = None
    document: _Media | None = None
    video: _Media | None = None
    context: _Context | None = None
    button: dict[str, Any] | None = None
    interactive: dict[str, Any] | None = None


class _StatusError(_Model):
    code: int | None = None
    title: str | None = None


class _Status(_Model):
    id: str
    status: str
    timestamp: int
    errors: list[_StatusError] = []


class _Metadata(_Model):
    phone_number_id: str | None = None


class _Profile(_Model):
    name: str | None = None


class _Contact(_Model):
    wa_id: str | None = None
    profile: _Profile = _Profile()


class _Value(_Model):
    metadata: _Metadata = _Metadata()
    contacts: list[_Contact] = []  # the senders' profile names
    messages: list[_Message] = []
    statuses: list[_Status] = []


class _Change(_Model):
    field: str
    value: _Value


class _Entry(_Model):
    changes: list[_Change] = []


class _Payload(_Model):
    object: Literal["whatsapp_business_account"]
    entry: list[_Entry] = []


def _text_of(message: _Message) -> str:
    """What the customer sent, as text: the body, a caption, a button's title, or its kind."""
    if message.text is not None:
        return message.text.body
    media = message.image or message.document or message.video
    if media is not None:
        label = media.filename or message.type
        return f"[{label}] {media.caption}" if media.caption else f"[{label}]"
    if message.button is not None:
        return str(message.button.get("text", "[button]"))
    if message.interactive is not None:
        for key in ("button_reply", "list_reply"):
            reply = message.interactive.get(key)
            if isinstance(reply, Mapping) and "title" in reply:
                return str(reply["title"])
    return f"[{message.type}]"


class _Rewrite(httpx.HTTPTransport):
    """Sends pywa's requests for graph.facebook.com to ``target`` (a gateway or a fake)."""

    def __init__(self, target: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = httpx.URL(target.rstrip("/"))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == REAL_HOST:
            prefix = self.target.raw_path.rstrip(b"/")
            request.url = request.url.copy_with(
                scheme=self.target.scheme,
                host=self.target.host,
                port=self.target.port,
                raw_path=prefix + request.url.raw_path,
            )
            request.headers["Host"] = request.url.netloc.decode("ascii")
        return super().handle_request(request)


class WhatsAppConnector:
    """A ``whatsapp`` source: Channel, WebhookReceiver, and a Source that reads nothing."""

    platform = PLATFORM

    def __init__(
        self,
        name: str,
        options: WhatsAppOptions,
        client: WhatsApp,
        *,
        settings: Settings,
    ) -> None:
        self.name = name
        self.options = options
        self.client = client
        self.settings = settings

    # -- Source ---------------------------------------------------------------------------------
    def fetch(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        """WhatsApp has no public posts: everything arrives by webhook."""
        return iter(())

    # -- WebhookReceiver ------------------------------------------------------------------------
    def webhook_secret(self) -> str:
        return self.settings.source_secret(
            self.name, "META_APP_SECRET", needed_for=f"webhooks of source {self.name!r}"
        )

    def verify_token(self) -> str:
        return self.settings.source_secret(
            self.name, "META_VERIFY_TOKEN", needed_for=f"the webhook handshake of {self.name!r}"
        )

    def parse_webhook(self, body: bytes) -> WebhookEvents:
        """Inbound messages and delivery states of our number; other numbers' are left out."""
        try:
            payload = _Payload.model_validate_json(body)
        except ValidationError as exc:
            where = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})[:5]
            raise SourceError(
                f"not a WhatsApp webhook delivery (problems at: {', '.join(where)})",
                source=self.name,
            ) from None
        messages: list[InboundMessage] = []
        statuses: list[DeliveryStatus] = []
        for entry in payload.entry:
            for change in entry.changes:
                if change.field != "messages":
                    continue
                number = change.value.metadata.phone_number_id
                if number is not None and number != self.options.phone_number_id:
                    continue
                names = {c.wa_id: c.profile.name for c in change.value.contacts if c.wa_id}
                for message in change.value.messages:
                    context = message.context.id if message.context else None
                    messages.append(
                        InboundMessage(
                            platform=PLATFORM,
                            native_id=message.id,
                            sender=message.sender,
                            text=_text_of(message),
                            created_at=datetime.fromtimestamp(message.timestamp, UTC),
                            conversation_id=message.sender,
                            raw={
                                "type": message.type,
                                "references": [context] if context else [],
                                "name": names.get(message.sender),
                            },
                        )
                    )
                for status in change.value.statuses:
                    if status.status not in ("sent", "delivered", "read", "failed"):
                        continue
                    error = next(
                        (f"{e.code}: {e.title}" for e in status.errors if e.code is not None), None
                    )
                    statuses.append(
                        DeliveryStatus(
                            platform=PLATFORM,
                            platform_id=status.id,
                            status=status.status,  # type: ignore[arg-type]
                            at=datetime.fromtimestamp(status.timestamp, UTC),
                            error=error,
                        )
                    )
        return WebhookEvents(messages=tuple(messages), statuses=tuple(statuses))

    # -- Channel --------------------------------------------------------------------------------
    def send(self, message: OutboundMessage) -> SentMessage:
        """A free-form text message; WhatsApp takes it within 24 hours of the customer's last
        message only (outside it the intent is composed as a template, ``send_template``)."""
        to = self._recipient(message)
        sent = self._call(
            lambda: self.client.send_message(
                to=to, text=message.text, tracker=message.idempotency_key
            ),
            what="send a WhatsApp message",
        )
        return SentMessage(platform_id=str(sent.id))

    def send_template(self, message: OutboundMessage, variables: Mapping[str, str]) -> SentMessage:
        """The approved template (``template`` option), its body's variables filled with the
        customer's name ({{1}}) and the case reference ({{2}})."""
        to = self._recipient(message)
        name = self.options.template
        if not name:
            raise ConfigError(
                "no approved template is configured for messages outside WhatsApp's 24-hour window",
                key=f"sources.{self.name}.template",
                hint=f"name an approved template (see {DOCS})",
            )
        values = [variables.get("customer_name", ""), variables.get("case_id", "")]
        sent = self._call(
            lambda: self.client.send_template(
                to=to,
                name=name,
                language=TemplateLanguage(self.options.template_language),
                params=[BodyText.params(*values)],  # type: ignore[arg-type]
                tracker=message.idempotency_key,
            ),
            what="send a WhatsApp template",
        )
        return SentMessage(platform_id=str(sent.id))

    def templates(self) -> list[dict[str, Any]]:
        """The approved templates of the business account: name, language and body text."""
        if not self.options.waba_id:
            raise ConfigError(
                "listing templates needs the WhatsApp Business Account id",
                key=f"sources.{self.name}.waba_id",
                hint=f"see {DOCS}",
            )
        found = call_with_retries(
            lambda: list(self.client.get_templates(statuses=[TemplateStatus.APPROVED])),
            classify=self._classify,
            policy=self.options.policy(),
            what="list WhatsApp templates",
        )
        listed = []
        for template in found:
            body = next((_body_text(c) for c in template.components if _body_text(c)), None)
            listed.append(
                {"name": template.name, "language": str(template.language.value), "body": body}
            )
        return listed

    def find_sent(self, message: OutboundMessage) -> SentMessage | None:
        """The Cloud API cannot list sent messages, so an earlier post cannot be looked up; the
        idempotency key travels as the message's tracker and comes back in its statuses."""
        return None

    def poll_private(
        self, cursor: Mapping[str, Any] | None
    ) -> tuple[list[InboundMessage], Mapping[str, Any] | None]:
        """Nothing to poll: messages arrive by webhook."""
        return [], cursor

    # -- plumbing -------------------------------------------------------------------------------
    def _recipient(self, message: OutboundMessage) -> str:
        if message.kind != "private_message":
            raise SourceError(
                "WhatsApp has no public posts to reply to; only private messages go there",
                source=self.name,
            )
        to = (message.recipient or "").strip().lstrip("+")
        if not to.isdigit():
            raise SourceError(
                "the customer has not written to us on WhatsApp yet (no WhatsApp number on the"
                " case)",
                source=self.name,
                hint="the acknowledgement's click-to-chat link invites them to write first",
            )
        return to

    def _call(self, fn: Any, *, what: str) -> Any:
        # A send is never retried blindly: a 5xx may hide a message that went out.
        return call_with_retries(
            fn,
            classify=self._classify,
            policy=self.options.policy(),
            what=what,
            retry_unavailable=False,
        )

    def _classify(self, exc: Exception) -> SourceError | None:
        """Map pywa's and httpx's errors to ours, in one place."""
        if isinstance(exc, httpx.TimeoutException | httpx.TransportError):
            return SourceUnavailable(f"WhatsApp could not be reached ({type(exc).__name__})",
                                     source=self.name)  # fmt: skip
        if not isinstance(exc, WhatsAppError):
            return None
        status = exc.status_code
        said = f"code {exc.code}: {exc.message}"
        if exc.code == EXPIRED_TOKEN:
            return AuthError(
                f"the WhatsApp access token has expired or was revoked ({said})",
                source=self.name,
                hint="create a new system-user token and set ESCUCHA_WHATSAPP_TOKEN",
            )
        if isinstance(exc, AuthorizationError) or status in (401, 403):
            return AuthError(f"WhatsApp refused our credentials ({said})", source=self.name)
        if isinstance(exc, ThrottlingError) or status == 429:
            return RateLimited(
                f"WhatsApp asks us to slow down ({said})",
                retry_after=_retry_after(exc.raw_response),
                source=self.name,
            )
        if exc.code == OUTSIDE_WINDOW:
            return SourceError(
                "more than 24 hours have passed since the customer's last message, so WhatsApp"
                f" takes only an approved template now ({said})",
                source=self.name,
                hint="send the private message without text: it goes as the approved template",
            )
        if status is not None and status >= 500:
            return SourceUnavailable(f"WhatsApp failed ({status}, {said})", source=self.name)
        return SourceError(f"WhatsApp refused the request ({said})", source=self.name)


def _body_text(component: object) -> str | None:
    """A template component's body text (pywa leaves what it cannot parse as a dict)."""
    if isinstance(component, BodyText):
        return component.text
    if isinstance(component, Mapping) and component.get("type") == "BODY":
        return str(component.get("text") or "") or None
    return None


def _retry_after(response: httpx.Response | None) -> float:
    header = response.headers.get("retry-after") if response is not None else None
    try:
        return max(float(header), 0.0) if header else DEFAULT_RETRY_AFTER
    except ValueError:
        return DEFAULT_RETRY_AFTER


def from_settings(source: SourceSettings, settings: Settings) -> WhatsAppConnector:
    options = parse_options(WhatsAppOptions, source, docs=DOCS)
    token = settings.source_secret(
        source.name, "WHATSAPP_TOKEN", needed_for=f"WhatsApp source {source.name!r}"
    )
    timeout = options.timeout.total_seconds()
    transport = (
        _Rewrite(source.api_base_url) if source.api_base_url else httpx.HTTPTransport(retries=0)
    )
    session = httpx.Client(transport=transport, timeout=timeout)
    kwargs: dict[str, Any] = {"session": session, "waba_id": options.waba_id}
    if options.api_version:
        kwargs["api_version"] = options.api_version
    client = WhatsApp(phone_id=options.phone_number_id, token=token, **kwargs)
    logger.info(
        "WhatsApp source %s: on: messages, statuses by webhook%s", source.name,
        "" if options.template else "; off: templates (no `template` option)",
    )  # fmt: skip
    return WhatsAppConnector(source.name, options, client, settings=settings)
