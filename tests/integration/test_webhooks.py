"""Webhooks done right: the handshake, signatures, one row per delivery however often it is
retried, nothing lost when the service dies between receiving and processing, and a bad delivery
set aside without blocking the others."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from pipeline.api.app import create_app
from pipeline.errors import ClassifierError
from pipeline.service import Service
from pipeline.stages.triage import triage_pending
from pipeline.store import Store
from pipeline.store import webhooks as webhooks_q
from tests.conftest import seed_scored
from tests.fakes.whatsapp import VERIFY_TOKEN, FakeWhatsApp, sign, whatsapp_settings

WA_ID = "34611222333"


def no_model():
    raise ClassifierError("no model in this test")


@pytest.fixture
def fake():
    with FakeWhatsApp() as server:
        yield server


@pytest.fixture
def settings(fake, example_settings):
    return whatsapp_settings(example_settings, fake.url)


@pytest.fixture
def client(settings, store):
    return TestClient(create_app(Service(settings, store, classifier_factory=no_model)))


def post(client: TestClient, body: bytes, signature: str | None, source: str = "wa"):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return client.post(f"/webhooks/{source}", content=body, headers=headers)


def inbox(store: Store) -> dict[str, int]:
    with store.read() as cur:
        return webhooks_q.counts(cur)


def test_the_handshake_answers_the_challenge_only_with_the_right_token(client):
    hub = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
    answer = client.get("/webhooks/wa", params={**hub, "hub.verify_token": VERIFY_TOKEN})
    assert answer.status_code == 200
    assert answer.text == "1158201444"
    assert answer.headers["content-type"].startswith("text/plain")
    wrong = client.get("/webhooks/wa", params={**hub, "hub.verify_token": "guess"})
    assert wrong.status_code == 403
    assert "1158201444" not in wrong.text
    assert client.get("/webhooks/nope", params={**hub, "hub.verify_token": VERIFY_TOKEN}
                      ).status_code == 404  # fmt: skip


def test_a_forged_or_unsigned_delivery_is_refused_and_nothing_is_stored(client, store, fake):
    body, _signature = fake.customer_writes(WA_ID, "hola")
    assert post(client, body, sign(body, "not-the-app-secret")).status_code == 403
    assert post(client, body, None).status_code == 401
    tampered = body.replace(b"hola", b"HOLA")
    assert post(client, tampered, sign(body)).status_code == 403
    assert inbox(store) == {"pending": 0, "processed": 0, "set_aside": 0}


def test_a_delivery_the_platform_retries_is_stored_once(client, store, fake):
    body, signature = fake.customer_writes(WA_ID, "hola")
    assert post(client, body, signature).json() == {"status": "stored"}
    assert post(client, body, signature).json() == {"status": "duplicate"}
    assert inbox(store)["pending"] == 1
    with store.read() as cur:
        assert webhooks_q.status_of(cur, webhooks_q.digest(body))["deliveries"] == 2


def test_a_delivery_stored_before_a_crash_is_processed_after_restart(settings, store, fake):
    seed_scored(
        store, native_id="yt-9", text="Mi pedido no llega", author="Ana", platform="youtube"
    )
    (case_id,) = triage_pending(store, settings).opened
    first = Service(settings, store, classifier_factory=no_model)
    body, signature = fake.customer_writes(WA_ID, f"Hola, Caso {case_id}")
    assert post(TestClient(create_app(first)), body, signature).status_code == 200
    # The process dies here (SIGKILL): nothing but the committed row survives. A new service
    # on the same database runs its cycle.
    del first
    restarted = Service(settings, store, classifier_factory=no_model)
    report = restarted.run_cycle(force=True)
    assert report.webhooks == 1
    texts = [m["text"] for m in restarted.cases.detail(case_id)["messages"]]
    assert f"Hola, Caso {case_id}" in texts
    assert inbox(store) == {"pending": 0, "processed": 1, "set_aside": 0}
    assert restarted.run_cycle(force=True).webhooks == 0  # processed once


def test_a_delivery_that_cannot_be_parsed_is_set_aside_and_the_others_go_on(
    client, store, settings, fake
):
    seed_scored(
        store, native_id="yt-7", text="Mi pedido no llega", author="Ana", platform="youtube"
    )
    (case_id,) = triage_pending(store, settings).opened
    bad = b'{"object": "page", "entry": []}'
    assert post(client, bad, sign(bad)).status_code == 200
    good, signature = fake.customer_writes(WA_ID, f"Caso {case_id}")
    assert post(client, good, signature).status_code == 200
    service: Service = client.app.state.service
    service.process_webhooks()
    assert inbox(store) == {"pending": 0, "processed": 1, "set_aside": 1}
    with store.read() as cur:
        held = webhooks_q.status_of(cur, webhooks_q.digest(bad))
    assert "not a WhatsApp webhook delivery" in held["reason"]
    assert service.cases.detail(case_id)["case"]["private_conversation"] == WA_ID


def test_an_oversized_delivery_is_refused(client, store):
    body = b'{"object": "whatsapp_business_account", "pad": "' + b"x" * 1_100_000 + b'"}'
    assert post(client, body, sign(body)).status_code == 413
    assert inbox(store)["pending"] == 0


def test_a_customer_who_wrote_has_opted_in(client, store, fake):
    body, signature = fake.customer_writes(WA_ID, "hola, ¿abrís el domingo?")
    post(client, body, signature)
    client.app.state.service.process_webhooks()
    with store.read() as cur:
        assert webhooks_q.opted_in(cur, "whatsapp", WA_ID)
        assert not webhooks_q.opted_in(cur, "whatsapp", "34999999999")
