"""One customer across channels: the WhatsApp number or e-mail address a customer wrote from about
a case becomes an account of theirs, suggested for linking to the case's author; once an agent
links them, their next complaint is deflected where they can be reached now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.care import customers
from pipeline.care.cases import ActionRequest
from pipeline.records import InboundMessage
from pipeline.service import Service
from pipeline.settings import SourceSettings
from pipeline.stages.triage import triage_pending
from pipeline.store import rows
from tests.conftest import seed_scored

WA_ID = "34600111222"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(store, example_settings, clock):
    settings = example_settings.model_copy(
        update={
            "sources": [
                SourceSettings(name="wa", platform="whatsapp"),
                SourceSettings(name="mail", platform="email"),
            ]
        }
    )
    built = Service(settings, store, sources={}, clock=clock)
    yield built
    built.stop()


def complaint(service: Service, native_id: str, text: str) -> str:
    seed_scored(service.store, native_id=native_id, text=text, author="Ana Gómez",
                platform="facebook", author_id="psid-ana", urgency_level=1)  # fmt: skip
    (case_id,) = triage_pending(service.store, service.settings, cases=service.cases).opened
    return case_id


def writes(service: Service, platform: str, sender: str, text: str, at: datetime, **raw) -> None:
    message = InboundMessage(platform=platform, native_id=f"{platform}-{at.timestamp()}",
                             sender=sender, text=text, created_at=at, raw=raw)  # fmt: skip
    assert service._record_message(message)


def linked_on_whatsapp(service: Service, clock: Clock) -> str:
    """Ana's first complaint, her WhatsApp message about it, the agent linking the number to her,
    and the case closed; her author key."""
    first = complaint(service, "c1", "Orbita me ha cobrado dos veces")
    author = service.cases.detail(first)["case"]["author_key"]
    writes(service, "whatsapp", WA_ID, f"Hola, Caso {first}", clock.now)
    customers.decide_link(service.store, author, f"whatsapp:{WA_ID}", decision="linked",
                          actor="lucia")  # fmt: skip
    service.cases.act(first, "dismiss", ActionRequest(actor="lucia", reason="solved by phone"))
    return str(author)


def sent(service: Service) -> list[dict[str, object]]:
    with service.store.read() as cur:
        return rows(cur, "SELECT case_id, platform, recipient FROM outbox"
                         " WHERE kind = 'private_message' ORDER BY id")  # fmt: skip


def test_a_whatsapp_number_that_wrote_about_a_case_is_suggested_as_the_same_customer(
    service, clock
) -> None:
    case_id = complaint(service, "c1", "Orbita me ha cobrado dos veces")
    author = service.cases.detail(case_id)["case"]["author_key"]
    writes(service, "whatsapp", WA_ID, f"Hola, Caso {case_id}", clock.now, name="Ana G")
    (suggested,) = customers.suggestions(service.store, accounts=[author])
    assert {suggested.a, suggested.b} == {author, f"whatsapp:{WA_ID}"}
    assert suggested.confidence >= 0.9 and "same_case" in suggested.signals
    assert any(case_id in sentence for sentence in suggested.evidence)
    # Rejected by an agent, it is not suggested again.
    customers.decide_link(service.store, author, f"whatsapp:{WA_ID}", decision="rejected",
                          actor="lucia")  # fmt: skip
    assert customers.suggestions(service.store, accounts=[author]) == []


def test_a_linked_customer_is_written_where_they_can_be_reached_now(service, clock) -> None:
    linked_on_whatsapp(service, clock)

    # Two hours later the same person complains again on Facebook: WhatsApp is open, so the
    # deflection goes there without asking them to write first.
    clock.now += timedelta(hours=2)
    second = complaint(service, "c2", "Y ahora no tengo línea")
    reach = service.cases.detail(second)["case"]["reachable"]
    assert reach["channel"] == "whatsapp" and reach["address"] == WA_ID
    assert not reach["template_only"]
    preview = service.cases.preview(second, "private_message")
    assert WA_ID in preview.where
    # Chosen in the composer, WhatsApp goes to the number they can be reached at.
    assert service.cases.preview(second, "private_message", "whatsapp").recipient == WA_ID
    service.cases.act(second, "private_message", ActionRequest(actor="lucia", text="Hola Ana"))
    assert sent(service)[-1] == {"case_id": second, "platform": "whatsapp", "recipient": WA_ID}


def test_outside_whatsapps_window_email_is_preferred_then_templates(service, clock) -> None:
    author = linked_on_whatsapp(service, clock)
    clock.now += timedelta(hours=30)  # the 24-hour window has closed
    reach = customers.reachable(service.store, author, clock.now)
    assert reach is not None and reach.channel == "whatsapp" and reach.template_only

    second = complaint(service, "c2", "Sigo sin línea")
    writes(service, "email", "ana.gomez@example.com", f"Caso {second}: sigo sin línea",
           clock.now, subject=f"[{second}] Sin línea", name="Ana Gómez")  # fmt: skip
    customers.decide_link(service.store, author, "email:ana.gomez@example.com",
                          decision="linked", actor="lucia")  # fmt: skip
    reach = customers.reachable(service.store, author, clock.now)
    assert reach is not None and (reach.channel, reach.address) == (
        "email", "ana.gomez@example.com")  # fmt: skip


def test_a_customer_with_no_other_channel_keeps_the_platforms_own_route(service) -> None:
    case_id = complaint(service, "c1", "Orbita me ha cobrado dos veces")
    assert service.cases.detail(case_id)["case"]["reachable"] is None
    service.cases.act(case_id, "acknowledge", ActionRequest(actor="lucia"))
    case = service.cases.detail(case_id)["case"]
    assert case["private_channel"] in (None, "dm")
