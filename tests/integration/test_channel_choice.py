"""An agent chooses where a public complaint continues in private: the platform's own private
route, the configured channel, or a WhatsApp or e-mail source; the case shows the channel's
window and the customer's first message there joins the case."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.care.cases import ActionRequest
from pipeline.errors import CaseError
from pipeline.records import InboundMessage
from pipeline.service import Service
from pipeline.settings import SourceSettings
from pipeline.stages.triage import triage_pending
from pipeline.store import rows
from tests.conftest import seed_scored


@pytest.fixture
def service(store, example_settings):
    settings = example_settings.model_copy(
        update={"sources": [SourceSettings(name="wa", platform="whatsapp")]}
    )
    seed_scored(store, native_id="c1", text="Orbita me ha cobrado dos veces", author="Ana",
                platform="facebook", author_id="psid-ana", urgency_level=1)  # fmt: skip
    triage_pending(store, settings)
    built = Service(settings, store, sources={})
    yield built
    built.stop()


def _case_id(service: Service) -> str:
    with service.store.read() as cur:
        (found,) = rows(cur, "SELECT id FROM cases")
    return str(found["id"])


def test_the_case_offers_its_channels_and_shows_the_private_reply_deadline(service) -> None:
    case = service.cases.detail(_case_id(service))["case"]
    assert case["channels"] == ["dm", "email", "whatsapp"]
    (reply,) = [w for w in case["windows"] if w["kind"] == "private_reply"]
    assert reply["open"] and reply["closes_at"] > datetime.now(UTC)
    messenger = [w for w in case["windows"] if w["channel"] == "messenger"]
    assert messenger and not messenger[0]["open"]  # the customer has not written in Messenger


def test_a_facebook_comment_is_taken_to_whatsapp_and_the_customer_joins_it_there(service):
    case_id = _case_id(service)
    preview = service.cases.preview(case_id, "acknowledge", "whatsapp")
    assert "https://wa.me/" in preview.text and f"C-{case_id[2:]}" in preview.text
    service.cases.act(case_id, "acknowledge", ActionRequest(actor="lucia", channel="whatsapp"))
    with pytest.raises(CaseError, match="has not written to us on WhatsApp"):
        service.cases.act(case_id, "private_message", ActionRequest(actor="lucia"))
    written = InboundMessage(platform="whatsapp", native_id="wamid.1", sender="34600111222",
                             text=f"Hola, Caso {case_id}: dos cargos", created_at=datetime.now(UTC))  # fmt: skip
    assert service._record_message(written)
    case = service.cases.detail(case_id)["case"]
    assert case["private_channel"] == "whatsapp" and case["private_conversation"] == "34600111222"
    (window,) = [w for w in case["windows"] if w["channel"] == "whatsapp"]
    assert window["open"] and not window["template_only"]
    service.cases.act(
        case_id, "private_message", ActionRequest(actor="lucia", text="¿Nos das tu DNI?")
    )
    with service.store.read() as cur:
        sent = rows(cur, "SELECT platform, source, recipient, private_channel FROM outbox"
                         " WHERE kind = 'private_message'")  # fmt: skip
    assert sent == [{"platform": "whatsapp", "source": "wa", "recipient": "34600111222",
                     "private_channel": "whatsapp"}]  # fmt: skip


def test_a_channel_the_case_does_not_offer_is_refused(service) -> None:
    case_id = _case_id(service)
    with pytest.raises(CaseError, match="not a private channel of this case"):
        service.cases.act(case_id, "acknowledge", ActionRequest(actor="lucia", channel="web_form"))
    with pytest.raises(CaseError, match="when acknowledging or messaging"):
        service.cases.act(case_id, "assign", ActionRequest(actor="lucia", assignee="mateo",
                                                           channel="whatsapp"))  # fmt: skip
