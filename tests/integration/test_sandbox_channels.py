"""A sandbox Facebook complaint taken to WhatsApp (and to e-mail) through the real Service: the
acknowledgement posts the invitation, the simulated customer writes there and joins the case,
the agent's private messages are answered there, and the case closes publicly on Facebook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawlers.sandbox import SandboxPlatform, load_corpus
from pipeline.care.cases import ActionRequest
from pipeline.service import Service
from pipeline.settings import PrivateChannelSettings
from pipeline.stages.triage import triage_pending
from tests.conftest import seed_scored

AGENT = ActionRequest(actor="lucia")


def facebook_complaint(lang: str):
    return next(
        i for i in load_corpus()
        if i.platform == "facebook" and i.lang == lang and i.parent_id == i.thread_id
        and i.expected["complaint"] and i.expected["brand"] == "Orbita"
        and i.expected["urgency_level"] in (1, 2)
    )  # fmt: skip


@pytest.fixture
def world(tmp_path, store, example_settings, request):
    kind, address = request.param
    settings = example_settings.model_copy(
        update={"private_channel": PrivateChannelSettings(kind=kind, address=address)}
    )
    item = facebook_complaint("es")
    now = [datetime.now(UTC)]
    sandbox = SandboxPlatform(
        [item], tmp_path / "sandbox", clock=lambda: now[0], history=1.0, reply_delay=20,
        csat_templates=[t.csat for t in settings.templates.values() if t.csat],
    )  # fmt: skip
    seed_scored(store, native_id=item.id, text=item.text, author=item.author, platform="facebook",
                author_id=item.author_id, lang="es", source="sandbox", urgency_level=2)  # fmt: skip
    (case_id,) = triage_pending(store, settings).opened
    service = Service(settings, store, sources={"sandbox": sandbox}, clock=lambda: now[0])

    def step(seconds: float = 1) -> None:
        now[0] += timedelta(seconds=seconds)
        service.outbox.run_once()
        service.poll_private_messages()

    yield service, sandbox, item, case_id, step
    service.stop()


@pytest.mark.parametrize("world", [("whatsapp", "+34 600 000 000")], indirect=True)
def test_a_facebook_complaint_goes_to_whatsapp_and_closes_publicly_on_facebook(world):
    service, sandbox, item, case_id, step = world
    assert "whatsapp" in service.cases.detail(case_id)["case"]["channels"]
    service.cases.act(case_id, "acknowledge", ActionRequest(actor="lucia", channel="whatsapp"))
    step()
    (ack,) = sandbox.posts()
    assert (ack.kind, ack.platform, ack.in_reply_to) == ("public_reply", "facebook", item.id)
    assert f"https://wa.me/34600000000?text=Caso%20{case_id}" in ack.text

    step(20)  # the customer taps the link and writes on WhatsApp
    detail = service.cases.detail(case_id)
    number = detail["case"]["private_conversation"]
    assert detail["case"]["private_channel"] == "whatsapp" and number.startswith("346")
    (tapped,) = [m for m in detail["messages"] if m["direction"] == "inbound"]
    assert tapped["platform"] == "whatsapp" and tapped["text"].startswith(f"Caso {case_id}.")

    service.cases.act(case_id, "private_message", AGENT)  # within the 24-hour window
    step()
    private = sandbox.posts()[-1]
    assert (private.kind, private.private_channel, private.recipient) == (
        "private_message", "whatsapp", number,
    )  # fmt: skip
    assert service.cases.detail(case_id)["case"]["sla_paused_at"] is not None
    step(20)  # the customer answers on WhatsApp
    detail = service.cases.detail(case_id)
    answers = [m for m in detail["messages"] if m["direction"] == "inbound"]
    assert len(answers) == 2 and answers[-1]["platform"] == "whatsapp"
    assert "número de cliente" in answers[-1]["text"]
    assert detail["case"]["sla_paused_at"] is None

    service.cases.act(case_id, "resolve", AGENT)
    service.cases.act(case_id, "close_public", AGENT)
    step()
    closing = sandbox.posts()[-1]
    assert (closing.kind, closing.platform, closing.in_reply_to) == (
        "public_close", "facebook", item.id,
    )  # fmt: skip
    assert service.cases.detail(case_id)["case"]["status"] == "closed_public"

    service.cases.act(case_id, "close", AGENT)  # the survey goes on WhatsApp, and is answered
    step()
    step(20)
    detail = service.cases.detail(case_id)
    assert sandbox.posts()[-1].private_channel == "whatsapp"
    assert detail["case"]["csat_score"] in {1, 2, 3, 4, 5}
    assert all(o["status"] == "sent" for o in detail["outbox"])
    before = len(sandbox.posts())
    step(60)
    assert len(sandbox.posts()) == before  # nothing posted twice


@pytest.mark.parametrize("world", [("email", "ayuda@orbita.example")], indirect=True)
def test_a_facebook_complaint_goes_to_email_with_the_reference_in_the_subject(world):
    service, sandbox, _, case_id, step = world
    service.cases.act(case_id, "acknowledge", ActionRequest(actor="lucia", channel="email"))
    step()
    assert f"[{case_id}]" in sandbox.posts()[-1].text
    step(20)  # the customer writes to the care address
    case = service.cases.detail(case_id)["case"]
    assert case["private_channel"] == "email"
    assert case["private_conversation"].endswith("@correo.example")
    service.cases.act(case_id, "private_message", AGENT)
    step()
    step(20)
    messages = service.cases.detail(case_id)["messages"]
    inbound = [m for m in messages if m["direction"] == "inbound"]
    assert [m["platform"] for m in inbound] == ["email", "email"]
    assert "número de cliente" in inbound[-1]["text"]
