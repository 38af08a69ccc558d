"""Simulated customers: they answer private messages after the delay, in their language, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crawlers.sandbox import CorpusItem, SandboxPlatform, guess_lang, is_csat
from pipeline.records import OutboundMessage

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CSAT_ES = "¿Cómo valoras la atención recibida, del 1 al 5?"
CSAT_EN = "How would you rate the help you received, from 1 to 5?"
CORPUS = [
    CorpusItem(id="es1", platform="x", text="Orbita sin fibra", author="lucia_mtz", offset_s=0,
               lang="es", expected={"complaint": True, "topic": "outage"}),
    CorpusItem(id="en1", platform="x", text="Orbita billing", author="tom_h", offset_s=60,
               lang="en", expected={"complaint": True, "topic": "billing"}),
    CorpusItem(id="g1", platform="google_reviews", text="Orbita shop", author="tom_h",
               offset_s=90, lang="en"),
]  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def make(folder, clock, seed=7):
    return SandboxPlatform(CORPUS, folder, clock=clock, reply_delay=timedelta(seconds=20),
                           seed=seed, csat_templates=[CSAT_ES, CSAT_EN])  # fmt: skip


def dm(key: str, to: str, text: str) -> OutboundMessage:
    return OutboundMessage("private_message", "x", text, key, recipient=to, private_channel="dm")


def test_a_customer_answers_after_the_delay_in_their_language_and_only_once(tmp_path):
    clock = Clock()
    sandbox = make(tmp_path, clock)
    sandbox.send(
        dm("c1:dm1", "lucia_mtz", "Hola lucia_mtz, somos el equipo de Orbita. ¿Nos cuentas?")
    )
    sandbox.send(dm("c2:dm1", "@Tom_H", "Hi tom_h, this is the Orbita team. What happened?"))
    messages, cursor = sandbox.poll_private(None)
    assert messages == []
    clock.now += timedelta(seconds=20)
    messages, cursor = sandbox.poll_private(cursor)
    assert [(m.sender, m.raw["lang"]) for m in messages] == [("lucia_mtz", "es"), ("@Tom_H", "en")]
    spanish, english = messages
    assert "número de cliente" in spanish.text
    assert "sin conexión" in spanish.text
    assert "account number" in english.text
    assert "charge" in english.text
    assert spanish.created_at == START + timedelta(seconds=20)
    assert spanish.platform == "x"
    assert spanish.conversation_id == "x:lucia_mtz"
    again, cursor = sandbox.poll_private(cursor)
    assert again == []
    restarted, _ = make(tmp_path, clock).poll_private(cursor)  # a restart repeats nothing
    assert restarted == []


def test_the_conversation_goes_details_then_thanks_then_a_score(tmp_path):
    clock = Clock()
    sandbox = make(tmp_path, clock)
    sandbox.send(dm("k1", "lucia_mtz", "Hola, ¿nos das tu número de cliente?"))
    sandbox.send(dm("k2", "lucia_mtz", "Ya lo hemos reparado, ¿nos confirmas que funciona?"))
    sandbox.send(dm("k3", "lucia_mtz", CSAT_ES))
    sandbox.send(dm("k4", "lucia_mtz", "¡Gracias por tu valoración!"))
    clock.now += timedelta(minutes=1)
    messages, _ = sandbox.poll_private(None)
    texts = [m.text for m in messages]
    assert len(texts) == 3  # nothing more to say after the thanks
    assert "número de cliente" in texts[0]
    assert "ya funciona" in texts[1].lower()
    assert any(ch in texts[2] for ch in "12345")


def test_answers_are_deterministic_with_the_seed(tmp_path):
    texts = []
    for folder in ("a", "b"):
        clock = Clock()
        sandbox = make(tmp_path / folder, clock, seed=11)
        sandbox.send(dm("k1", "tom_h", "Hi, could you share your account number?"))
        clock.now += timedelta(minutes=5)
        texts.append([m.text for m in sandbox.poll_private(None)[0]])
    assert texts[0] == texts[1]
    assert texts[0]


def test_answers_wait_in_order_for_their_time(tmp_path):
    clock = Clock()
    sandbox = make(tmp_path, clock)
    sandbox.send(dm("k1", "lucia_mtz", "Hola, ¿nos cuentas qué pasa?"))
    clock.now += timedelta(seconds=15)
    sandbox.send(dm("k2", "tom_h", "Hi, what happened?"))
    clock.now += timedelta(seconds=10)
    first, cursor = sandbox.poll_private(None)
    assert [m.sender for m in first] == ["lucia_mtz"]
    clock.now += timedelta(seconds=10)
    second, cursor = sandbox.poll_private(cursor)
    assert [m.sender for m in second] == ["tom_h"]


def test_a_platform_channel_polls_only_its_platform(tmp_path):
    clock = Clock()
    sandbox = make(tmp_path, clock)
    sandbox.send(dm("k1", "lucia_mtz", "Hola, ¿nos cuentas?"))
    sandbox.send(OutboundMessage("private_message", "google_reviews", "Hi tom_h, tell us more?",
                                 "k2", recipient="tom_h", private_channel="email"))  # fmt: skip
    clock.now += timedelta(minutes=1)
    on_x, _ = sandbox.channel_for("x").poll_private(None)
    on_reviews, _ = sandbox.channel_for("google_reviews").poll_private(None)
    assert [m.sender for m in on_x] == ["lucia_mtz"]
    assert [(m.sender, m.platform) for m in on_reviews] == [("tom_h", "google_reviews")]


def test_unknown_recipients_answer_in_the_language_they_were_written_in(tmp_path):
    clock = Clock()
    sandbox = make(tmp_path, clock)
    sandbox.send(dm("k1", "stranger", "Hi there, this is the Orbita team. Could you tell us more?"))
    clock.now += timedelta(minutes=1)
    (answer,), _ = sandbox.poll_private(None)
    assert answer.raw["lang"] == "en"
    assert "account number" in answer.text


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Hola {author}, sentimos lo ocurrido. Te escribimos por privado para ayudarte.", "es"),
        ("Hi there, we're sorry about this. We've sent you a private message to help.", "en"),
        ("¡Gracias! Lo hemos resuelto por privado.", "es"),
        ("Thanks! We sorted this out in private.", "en"),
    ],
)
def test_guess_lang_reads_the_reply_templates(text, lang):
    assert guess_lang(text) == lang


def test_csat_is_recognised_from_the_templates_or_the_scale():
    assert is_csat(CSAT_ES, [CSAT_ES])
    assert is_csat("Hola {author}, ¿qué nota nos das?".replace("{author}", "ana"),
                   ["Hola {author}, ¿qué nota nos das?"])  # fmt: skip
    assert is_csat("Rate us from 1 to 5?")
    assert not is_csat("Hola, ¿nos das tu número de cliente?")
