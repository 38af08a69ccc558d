"""WhatsApp Business Cloud API: real pywa against the loopback fake, deliveries through the real
webhook endpoint, cases joined by reference, delivery states, the 24-hour window and templates,
and the platform's errors made clear."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from crawlers.whatsapp import WhatsAppConnector, from_settings
from pipeline.api.app import create_app
from pipeline.care.cases import ActionRequest
from pipeline.errors import AuthError, CaseError, ClassifierError, RateLimited
from pipeline.records import OutboundMessage
from pipeline.service import Service
from pipeline.stages.triage import triage_pending
from tests.conftest import seed_scored
from tests.fakes.base import Fault
from tests.fakes.whatsapp import T0, FakeWhatsApp, meta_error, whatsapp_settings

WA_ID = "34611222333"
AGENT = ActionRequest(actor="mateo")


def no_model():
    raise ClassifierError("no model in this test")


@pytest.fixture
def fake():
    with FakeWhatsApp() as server:
        yield server


@pytest.fixture
def world(fake, store, example_settings):
    """A YouTube complaint with its case, WhatsApp as the private channel, the service on the
    fake's clock and its API."""
    settings = whatsapp_settings(example_settings, fake.url)
    seed_scored(store, native_id="yt-1", text="Mi pedido no llega", author="Ana García",
                platform="youtube")  # fmt: skip
    (case_id,) = triage_pending(store, settings).opened
    clock = [T0]
    service = Service(settings, store, classifier_factory=no_model, clock=lambda: clock[0])
    client = TestClient(create_app(service))
    return service, client, case_id, clock


def deliver(client: TestClient, delivery: tuple[bytes, str], source: str = "wa") -> int:
    body, signature = delivery
    answer = client.post(
        f"/webhooks/{source}", content=body,
        headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"},
    )  # fmt: skip
    return answer.status_code


def connector(fake: FakeWhatsApp, example_settings, **options) -> WhatsAppConnector:
    settings = whatsapp_settings(example_settings, fake.url, retries=0, **options)
    return from_settings(settings.sources[0], settings)


def test_the_acknowledgement_offers_a_click_to_chat_link_with_the_case_reference(world):
    service, _client, case_id, _clock = world
    preview = service.cases.preview(case_id, "acknowledge")
    link = f"https://wa.me/34600000000?text={quote('Caso ' + case_id)}"
    assert link in preview.text


def test_an_inbound_chat_with_the_reference_joins_that_case_and_answers_go_there(world, fake):
    service, client, case_id, clock = world
    service.cases.act(case_id, "acknowledge", AGENT)
    assert deliver(client, fake.customer_writes(WA_ID, f"Hola! Caso {case_id}")) == 200
    service.process_webhooks()
    detail = service.cases.detail(case_id)
    assert detail["case"]["private_channel"] == "whatsapp"
    assert detail["case"]["private_conversation"] == WA_ID
    inbound = [m for m in detail["messages"] if m["direction"] == "inbound"]
    assert [(m["platform"], m["text"]) for m in inbound] == [("whatsapp", f"Hola! Caso {case_id}")]
    # An agent's answer goes to the customer's WhatsApp, not to YouTube.
    clock[0] = T0 + timedelta(hours=1)
    fake.now = clock[0]
    service.cases.act(case_id, "private_message", ActionRequest("mateo", text="¿Tu número?"))
    service.outbox.run_once()
    assert [(m["to"], m["text"]["body"]) for m in fake.sent] == [(WA_ID, "¿Tu número?")]
    # Later messages from the same number join the same case without a reference.
    assert deliver(client, fake.customer_writes(WA_ID, "Es el 4411", at=clock[0])) == 200
    service.process_webhooks()
    texts = [m["text"] for m in service.cases.detail(case_id)["messages"]]
    assert texts[-1] == "Es el 4411"


def test_delivery_states_are_shown_on_the_message_and_never_go_back(world, fake):
    service, client, case_id, _clock = world
    deliver(client, fake.customer_writes(WA_ID, f"Caso {case_id}"))
    service.process_webhooks()
    service.cases.act(case_id, "private_message", ActionRequest("mateo", text="Lo miramos"))
    service.outbox.run_once()
    wamid = fake.sent[-1]["id"]
    for status in ("delivered", "read", "sent"):  # a late "sent" arrives after "read"
        deliver(client, fake.status_update(wamid, status))
    service.process_webhooks()
    (message,) = [m for m in service.cases.detail(case_id)["messages"] if m["native_id"] == wamid]
    assert message["delivery_status"] == "read"


def test_a_failed_delivery_is_shown_with_its_reason(world, fake):
    service, client, case_id, _clock = world
    deliver(client, fake.customer_writes(WA_ID, f"Caso {case_id}"))
    service.process_webhooks()
    service.cases.act(case_id, "private_message", ActionRequest("mateo", text="Hola"))
    service.outbox.run_once()
    deliver(client, fake.status_update(fake.sent[-1]["id"], "failed", error=131026))
    service.process_webhooks()
    detail = service.cases.detail(case_id)
    (message,) = [m for m in detail["messages"] if m["delivery_status"]]
    assert message["delivery_status"] == "failed"
    assert "131026" in message["delivery_error"]
    assert any(e["action"] == "delivery_failed" for e in detail["events"])


def test_free_form_is_refused_outside_24_hours_and_the_template_goes_instead(world, fake):
    service, client, case_id, clock = world
    deliver(client, fake.customer_writes(WA_ID, f"Caso {case_id}"))
    service.process_webhooks()
    clock[0] = fake.now = T0 + timedelta(hours=25)
    with pytest.raises(CaseError, match="24 h") as refused:
        service.cases.act(case_id, "private_message", ActionRequest("mateo", text="¿Sigues?"))
    assert "template" in str(refused.value)
    service.cases.act(case_id, "private_message", AGENT)  # no text: the approved template
    run = service.outbox.run_once()
    assert run.sent == 1
    (sent,) = fake.sent
    assert sent["type"] == "template"
    assert sent["template"]["name"] == "caso_actualizacion"
    values = [p["text"] for p in sent["template"]["components"][0]["parameters"]]
    assert values == ["Ana García", case_id]


def test_nothing_is_sent_on_whatsapp_before_the_customer_writes(world):
    service, _client, case_id, _clock = world
    with pytest.raises(CaseError, match="not written to us on WhatsApp"):
        service.cases.act(case_id, "private_message", ActionRequest("mateo", text="Hola"))


def test_the_connector_lists_only_approved_templates(fake, example_settings):
    listed = connector(fake, example_settings).templates()
    assert [(t["name"], t["language"]) for t in listed] == [("caso_actualizacion", "es")]
    assert "{{1}}" in listed[0]["body"]


def test_the_platform_refusing_free_form_outside_the_window_is_explained(fake, example_settings):
    conn = connector(fake, example_settings)
    message = OutboundMessage("private_message", "whatsapp", "hola", "C-000001:x:1",
                              recipient=WA_ID, case_id="C-000001")  # fmt: skip
    with pytest.raises(Exception, match="approved template") as refused:
        conn.send(message)
    assert "131047" in str(refused.value)


def test_429_becomes_rate_limited_with_retry_after(fake, example_settings):
    fake.customer_writes(WA_ID, "hola")
    fake.faults.append(Fault(status=429, body=meta_error(130429, "Rate limit hit"),
                             headers={"Retry-After": "42"}))  # fmt: skip
    message = OutboundMessage("private_message", "whatsapp", "hola", "k:private_message:1",
                              recipient=WA_ID)  # fmt: skip
    with pytest.raises(RateLimited) as limited:
        connector(fake, example_settings).send(message)
    assert limited.value.retry_after == 42
    assert fake.sent == []


def test_an_expired_token_becomes_an_auth_error_naming_the_variable(fake, example_settings):
    fake.expired = True
    with pytest.raises(AuthError, match="expired") as refused:
        connector(fake, example_settings).templates()
    assert "ESCUCHA_WHATSAPP_TOKEN" in str(refused.value)


def test_the_outbox_keeps_a_rate_limited_message_for_later(world, fake):
    service, client, case_id, _clock = world
    deliver(client, fake.customer_writes(WA_ID, f"Caso {case_id}"))
    service.process_webhooks()
    service.cases.act(case_id, "private_message", ActionRequest("mateo", text="Hola"))
    fake.faults.append(Fault(status=429, headers={"Retry-After": "600"}))
    assert service.outbox.run_once().retried == 1
    assert fake.sent == []
