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
    by_mail, _ = sandbox.channel_for("email").poll_private(None)
    assert [m.sender for m in on_x] == ["lucia_mtz"]
    assert on_reviews == []  # a message sent by e-mail is answered by e-mail
    assert [m.platform for m in by_mail] == ["email"]


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


# -- Facebook and Instagram, WhatsApp and e-mail --------------------------------------------------
PSID = "6123456789012345"
SOCIAL = [
    CorpusItem(id="111_222", platform="facebook", text="Orbita, llevo 3 días sin fibra",
               author="Laura García", author_id=PSID, author_name="Laura García", offset_s=0,
               lang="es", kind="comment", parent_id="999_111", thread_id="999_111",
               expected={"complaint": True, "topic": "outage"}),
    CorpusItem(id="17855500000000001", platform="instagram", text="Orbita charged me twice",
               author="greg.cooper", author_id="17844400000000002", author_name="Greg Cooper",
               offset_s=30, lang="en", kind="comment", parent_id="17900000000000000",
               thread_id="17900000000000000", expected={"complaint": True, "topic": "billing"}),
]  # fmt: skip
ACK_WA = ("Hola Laura García, sentimos lo ocurrido. Escríbenos por WhatsApp para seguir por "
          "privado: https://wa.me/34600000000?text=Caso%20C-000123")  # fmt: skip
ACK_WA_EN = ("Hi greg.cooper, we're sorry about this. Message us on WhatsApp so we can continue "
             "in private: https://wa.me/34600000000?text=Case%20C-000124")  # fmt: skip
ACK_MAIL = ("Hola Laura García, sentimos lo ocurrido. Escríbenos a ayuda@orbita.example con "
            "«[C-000125]» en el asunto para seguir por privado.")  # fmt: skip


def social(folder, clock, seed=7):
    return SandboxPlatform([*CORPUS, *SOCIAL], folder, clock=clock, seed=seed,
                           reply_delay=timedelta(seconds=20), csat_templates=[CSAT_ES, CSAT_EN])  # fmt: skip


def ack(key: str, platform: str, comment: str, text: str) -> OutboundMessage:
    return OutboundMessage("public_reply", platform, text, key, in_reply_to=comment,
                           case_id=key.split(":")[0])  # fmt: skip


def on(channel: str, key: str, to: str, text: str, case: str = "C-000123") -> OutboundMessage:
    """A private message of a Facebook case continued on ``channel`` (no source of its own)."""
    return OutboundMessage("private_message", "facebook", text, key, recipient=to,
                           private_channel=channel, case_id=case)  # fmt: skip


def test_a_click_to_chat_link_is_tapped_and_the_customer_writes_on_whatsapp(tmp_path):
    clock = Clock()
    sandbox = social(tmp_path, clock)
    sandbox.send(ack("C-000123:public_reply:1", "facebook", "111_222", ACK_WA))
    sandbox.send(ack("C-000124:public_reply:1", "instagram", "17855500000000001", ACK_WA_EN))
    assert sandbox.poll_private(None)[0] == []  # they take reply_delay to write
    clock.now += timedelta(seconds=20)
    (laura, greg), cursor = sandbox.poll_private(None)
    assert (laura.platform, greg.platform) == ("whatsapp", "whatsapp")
    assert laura.text.startswith("Caso C-000123. Hola")  # the prefilled text, then their problem
    assert "Facebook" in laura.text and "sin conexión" in laura.text
    assert greg.text.startswith("Case C-000124. Hi") and "charge" in greg.text
    assert laura.sender.isdigit() and laura.sender.startswith("346") and len(laura.sender) == 11
    assert greg.sender.isdigit() and greg.sender.startswith("447")
    assert laura.created_at == START + timedelta(seconds=20)
    assert laura.conversation_id == f"whatsapp:{laura.sender}"
    # The same author always has the same number; nothing is written twice.
    sandbox.send(ack("C-000123:public_reply:2", "facebook", "111_222", ACK_WA))
    clock.now += timedelta(minutes=1)
    assert sandbox.poll_private(cursor)[0] == []
    restarted = social(tmp_path, clock).poll_private(None)[0]
    assert [m.sender for m in restarted] == [laura.sender, greg.sender]
    assert [m.platform for m in sandbox.channel_for("whatsapp").poll_private(None)[0]] == [
        "whatsapp", "whatsapp"
    ]  # fmt: skip
    assert sandbox.channel_for("facebook").poll_private(None)[0] == []


def test_an_email_invitation_gets_an_email_with_the_reference_in_the_subject(tmp_path):
    clock = Clock()
    sandbox = social(tmp_path, clock)
    sandbox.send(ack("C-000125:public_reply:1", "facebook", "111_222", ACK_MAIL))
    sandbox.send(ack("C-000126:public_reply:1", "facebook", "111_222", "Hola, lo vemos."))
    clock.now += timedelta(seconds=20)
    (mail,), _ = sandbox.poll_private(None)
    assert mail.platform == "email"
    assert mail.raw["subject"] == "Mi caso [C-000125]"
    assert mail.sender.endswith("@correo.example") and mail.sender.startswith("laura.garcia")
    assert "Laura García" in mail.text and "sin conexión" in mail.text


def test_whatsapp_and_email_messages_are_answered_there_like_dms(tmp_path):
    clock = Clock()
    sandbox = social(tmp_path, clock)
    sandbox.send(ack("C-000123:public_reply:1", "facebook", "111_222", ACK_WA))
    clock.now += timedelta(seconds=20)
    (tapped,), cursor = sandbox.poll_private(None)
    number = tapped.sender
    sandbox.send(on("whatsapp", "C-000123:private_message:1", number,
                    "Hola Laura García, ¿nos das tu número de cliente?"))  # fmt: skip
    sandbox.send(on("whatsapp", "C-000123:private_message:2", number, "¿Ya funciona?"))
    sandbox.send(on("whatsapp", "C-000123:csat:1", number, CSAT_ES))
    sandbox.send(on("email", "C-000123:private_message:3", "laura@correo.example",
                    "Te escribimos también por correo."))  # fmt: skip
    clock.now += timedelta(seconds=20)
    details, thanks, score, mail = sandbox.poll_private(cursor)[0]
    assert {details.platform, thanks.platform, score.platform} == {"whatsapp"}
    assert {details.sender, thanks.sender, score.sender} == {number}
    # They said what was wrong when they wrote: now the account number.
    assert "número de cliente" in details.text and "arriba" in details.text
    assert "ya funciona" in thanks.text.lower()
    assert any(ch in score.text for ch in "12345")
    assert (mail.platform, mail.sender) == ("email", "laura@correo.example")
    assert mail.raw["subject"] == "Re: [C-000123] Tu caso"


def test_a_private_reply_reaches_the_page_scoped_id_and_the_dm_answers_come_from_it(tmp_path):
    clock = Clock()
    sandbox = social(tmp_path, clock)
    private_reply = OutboundMessage("private_message", "facebook", "Hola, ¿nos das tu número?",
                                    "C-000127:private_message:1", in_reply_to="111_222",
                                    recipient="Laura García", private_channel="private_reply")  # fmt: skip
    sent = sandbox.send(private_reply)
    assert sent.recipient_id == PSID
    assert sandbox.find_sent(private_reply) == sent
    sandbox.send(OutboundMessage("private_message", "facebook", "¿Ya funciona?",
                                 "C-000127:private_message:2", recipient=PSID,
                                 private_channel="messenger"))  # fmt: skip
    clock.now += timedelta(seconds=20)
    details, thanks = sandbox.poll_private(None)[0]
    assert (details.platform, details.sender) == ("facebook", PSID)
    assert "número de cliente" in details.text and "sin conexión" in details.text
    assert (thanks.platform, thanks.sender) == ("facebook", PSID)  # the same conversation
    assert "ya funciona" in thanks.text.lower()


def test_channel_answers_are_deterministic_with_the_seed(tmp_path):
    runs = []
    for folder in ("a", "b"):
        clock = Clock()
        sandbox = social(tmp_path / folder, clock, seed=3)
        sandbox.send(ack("C-000124:public_reply:1", "instagram", "17855500000000001", ACK_WA_EN))
        sandbox.send(on("whatsapp", "C-000124:private_message:1", "447700900123", "Hi, account?",
                        case="C-000124"))  # fmt: skip
        clock.now += timedelta(minutes=1)
        runs.append([(m.sender, m.text) for m in sandbox.poll_private(None)[0]])
    assert runs[0] == runs[1] and len(runs[0]) == 2
