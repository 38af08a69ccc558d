"""Webhooks the platforms call (Meta's Graph webhooks, WhatsApp Cloud): the subscription
handshake, and deliveries verified by their signature and stored before they are answered.

Both routes are public (the platform cannot sign in); a delivery is accepted only when its
``X-Hub-Signature-256`` is the HMAC-SHA256 of the raw body under the source's app secret. The raw
body is committed to the webhook inbox before the 200, so a crash between receiving and processing
loses nothing; the service's cycle parses it later. Bodies, phone numbers and texts are never
logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from pipeline.api.deps import ServiceDep
from pipeline.errors import EscuchaError, NotFound
from pipeline.ports import WebhookReceiver
from pipeline.service import Service

logger = logging.getLogger(__name__)

router = APIRouter()

MAX_WEBHOOK_BYTES = 1_000_000  # as the app's cap on every body; Meta's deliveries are far smaller
SIGNATURE_HEADER = "x-hub-signature-256"
Param = Annotated[str | None, Query(max_length=1000)]


def _receiver(service: Service, source: str) -> WebhookReceiver:
    receiver = service.webhook_receiver(source)
    if receiver is None:
        raise NotFound(f"no source {source!r} takes webhooks here")
    return receiver


def _refuse(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


@router.get("/webhooks/{source}", response_class=PlainTextResponse, response_model=None)
def handshake(
    source: str,
    service: ServiceDep,
    mode: Annotated[str | None, Query(alias="hub.mode", max_length=100)] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token", max_length=1000)] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=1000)] = None,
) -> Response:
    """Meta's subscription check: answer ``hub.challenge`` when the verify token matches."""
    receiver = _receiver(service, source)
    try:
        expected = receiver.verify_token()
    except EscuchaError:
        logger.warning("webhook handshake for %s: no verify token is configured", source)
        return _refuse(403, "this source has no verify token configured")
    if (
        mode != "subscribe"
        or token is None
        or challenge is None
        or not hmac.compare_digest(token.encode(), expected.encode())
    ):
        logger.warning("webhook handshake for %s refused", source)
        return _refuse(403, "the verify token does not match")
    logger.info("webhook subscription for %s verified", source)
    return PlainTextResponse(challenge)


@router.post("/webhooks/{source}", response_model=None)
async def deliver(source: str, request: Request, service: ServiceDep) -> JSONResponse:
    """A delivery: verified by its signature, stored once (by its body's SHA-256), then 200."""
    receiver = _receiver(service, source)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            return _refuse(413, f"the request body is over {MAX_WEBHOOK_BYTES:,} bytes")
    header = request.headers.get(SIGNATURE_HEADER)
    if not header or not header.startswith("sha256="):
        logger.warning("webhook for %s refused: no signature", source)
        return _refuse(401, f"sign the body: {SIGNATURE_HEADER} is missing")
    try:
        secret = receiver.webhook_secret()
    except EscuchaError:
        logger.warning("webhook for %s refused: no app secret is configured", source)
        return _refuse(403, "this source has no app secret configured to verify deliveries")
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), header.strip().lower().encode()):
        logger.warning("webhook for %s refused: bad signature", source)
        return _refuse(403, "the signature does not match the body")
    new = await run_in_threadpool(service.receive_webhook, source, body)
    logger.info(
        "webhook for %s %s", source, "stored" if new else "was a repeat",
        extra={"webhook_bytes": len(body)},
    )  # fmt: skip
    return JSONResponse({"status": "stored" if new else "duplicate"})
