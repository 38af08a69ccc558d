"""A fake WhatsApp Business Cloud API: the messages endpoint (text and templates, with the 24-hour
customer-service window enforced as WhatsApp does), message templates, Meta's error bodies (429
throttling, code 190 expired token), and webhook deliveries signed like Meta signs them.

pywa calls https://graph.facebook.com/v<version>/...; the connector's ``api_base_url`` sends that
here. The fake's clock (``now``) decides the window, so a test can move past 24 hours.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.base import FakeServer, Request, Response

TOKEN = "fake-whatsapp-token"
APP_SECRET = "fake-app-secret"
VERIFY_TOKEN = "fake-verify-token"
PHONE_NUMBER_ID = "1100220033"
WABA_ID = "5566778899"
DISPLAY_NUMBER = "+34 600 000 000"
WINDOW = timedelta(hours=24)
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def meta_error(code: int, message: str, *, subcode: int | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {
        "message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Afake",
    }  # fmt: skip
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    """The ``X-Hub-Signature-256`` header Meta sends with a delivery."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class FakeWhatsApp(FakeServer):
    def __init__(self, *, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.now = T0
        self.next_id = 0
        self.sent: list[dict[str, Any]] = []  # every message our side sent, as received
        self.last_inbound: dict[str, datetime] = {}  # wa_id -> when they last wrote
        self.templates: list[dict[str, Any]] = [
            self.template("caso_actualizacion", "Hola {{1}}, te escribimos por tu caso {{2}}."),
            self.template("oferta", "Descuentos para ti", status="REJECTED"),
        ]
        self.route("POST", r"/v[\d.]+/(?P<phone>\d+)/messages", self.post_message)
        self.route("GET", r"/v[\d.]+/(?P<waba>\d+)/message_templates", self.list_templates)

    # -- seeding and webhooks ------------------------------------------------------------------
    @staticmethod
    def template(name: str, body: str, *, status: str = "APPROVED") -> dict[str, Any]:
        return {
            "id": str(abs(hash(name)) % 10**12), "name": name, "language": "es",
            "status": status, "category": "UTILITY", "parameter_format": "POSITIONAL",
            "components": [{"type": "BODY", "text": body,
                            "example": {"body_text": [["Ana", "C-000001"][: body.count("{{")]]}}],
        }  # fmt: skip

    def _wamid(self) -> str:
        self.next_id += 1
        return f"wamid.FAKE{self.next_id:06d}"

    def customer_writes(
        self,
        wa_id: str,
        text: str,
        *,
        name: str = "Ana",
        at: datetime | None = None,
        context: str | None = None,
        phone_number_id: str = PHONE_NUMBER_ID,
    ) -> tuple[bytes, str]:
        """A customer's message: it opens the window, and comes back as a signed delivery
        (body, signature) the way Meta posts it to the webhook."""
        when = at or self.now
        with self.lock:
            self.last_inbound[wa_id] = when
            wamid = self._wamid()
        message: dict[str, Any] = {
            "from": wa_id, "id": wamid, "timestamp": str(int(when.timestamp())), "type": "text",
            "text": {"body": text},
        }  # fmt: skip
        if context:
            message["context"] = {"from": DISPLAY_NUMBER, "id": context}
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": DISPLAY_NUMBER,
                         "phone_number_id": phone_number_id},
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [message],
        }  # fmt: skip
        return self.delivery(value)

    def status_update(
        self, wamid: str, status: str, *, at: datetime | None = None, error: int | None = None
    ) -> tuple[bytes, str]:
        """What became of a message we sent, as Meta reports it (signed delivery)."""
        entry: dict[str, Any] = {
            "id": wamid, "status": status, "timestamp": str(int((at or self.now).timestamp())),
            "recipient_id": next((m["to"] for m in self.sent if m["id"] == wamid), ""),
        }  # fmt: skip
        if error is not None:
            entry["errors"] = [{"code": error, "title": "Message undeliverable"}]
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": DISPLAY_NUMBER,
                         "phone_number_id": PHONE_NUMBER_ID},
            "statuses": [entry],
        }  # fmt: skip
        return self.delivery(value)

    @staticmethod
    def delivery(value: dict[str, Any]) -> tuple[bytes, str]:
        payload = {
            "object": "whatsapp_business_account",
            "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}],
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        return body, sign(body)

    # -- protocol ----------------------------------------------------------------------------
    def error_body(self, status: int) -> Any:
        if status == 429:
            return meta_error(130429, "(#130429) Rate limit hit")
        return meta_error(1 if status >= 500 else 100, f"fake error {status}")

    def unauthorized(self, request: Request) -> Response:
        body = meta_error(190, "Error validating access token: Session has expired", subcode=463)
        return Response(401, body)

    def authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {TOKEN}"

    def post_message(self, request: Request) -> Response:
        payload = request.json()
        to = str(payload.get("to", ""))
        kind = payload.get("type")
        if request.match is None or request.match["phone"] != PHONE_NUMBER_ID:
            return Response(400, meta_error(100, "Invalid phone number id"))
        if kind == "text":
            last = self.last_inbound.get(to)
            if last is None or self.now - last >= WINDOW:
                body = meta_error(
                    131047,
                    "Re-engagement message: more than 24 hours have passed since the recipient"
                    " last replied",
                )
                return Response(400, body)
        elif kind == "template":
            name = payload.get("template", {}).get("name")
            known = next((t for t in self.templates if t["name"] == name), None)
            if known is None or known["status"] != "APPROVED":
                return Response(404, meta_error(132001, "Template name does not exist"))
        else:
            return Response(400, meta_error(131051, "Unsupported message type"))
        wamid = self._wamid()
        self.sent.append({"id": wamid, **payload})
        return Response(200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}],
            "messages": [{"id": wamid}],
        })  # fmt: skip

    def list_templates(self, request: Request) -> Response:
        wanted = request.query.get("status")
        found = [t for t in self.templates if not wanted or t["status"] in wanted.split(",")]
        return Response(200, {
            "data": found,
            "summary": {"total_count": len(found), "message_template_count": len(found),
                        "message_template_limit": 250, "are_translations_complete": True},
            "paging": {"cursors": {"before": "b", "after": "a"}},
        })  # fmt: skip


def whatsapp_settings(settings: Any, url: str, *, name: str = "wa", **options: Any) -> Any:
    """``settings`` with a WhatsApp source pointed at the fake at ``url`` and WhatsApp as the
    private channel (our number in ``private_channel.address``)."""
    from pydantic import SecretStr

    from pipeline.settings import PrivateChannelSettings, SourceSettings

    source = SourceSettings.model_validate({
        "name": name, "platform": "whatsapp", "api_base_url": url,
        "phone_number_id": PHONE_NUMBER_ID, "waba_id": WABA_ID,
        "template": "caso_actualizacion", "retry_backoff": "0.01s", **options,
    })  # fmt: skip
    secrets = {
        "ESCUCHA_WHATSAPP_TOKEN": TOKEN, "ESCUCHA_META_APP_SECRET": APP_SECRET,
        "ESCUCHA_META_VERIFY_TOKEN": VERIFY_TOKEN,
    }  # fmt: skip
    return settings.model_copy(update={
        "sources": [source],
        "secrets": {k: SecretStr(v) for k, v in secrets.items()},
        "private_channel": PrivateChannelSettings(kind="whatsapp", address=DISPLAY_NUMBER),
    })  # fmt: skip
