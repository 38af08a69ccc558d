"""E-mail against real local servers: dovecot (IMAP, a Maildir) and an aiosmtpd SMTP sink. Replies
thread into the right case, HTML mail is shown as text, attachments are listed, and our answers
go out by SMTP with the case reference in the subject."""

from __future__ import annotations

import email
import shutil
import tempfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from pydantic import SecretStr

from crawlers.email import EmailConnector, from_settings, html_to_text
from pipeline.care.cases import ActionRequest
from pipeline.errors import ClassifierError
from pipeline.service import Service
from pipeline.settings import PrivateChannelSettings, SourceSettings
from pipeline.stages.triage import triage_pending
from tests.conftest import seed_scored
from tests.fakes.mail import PASSWORD, USER, Dovecot, SmtpSink

CUSTOMER = "ana@example.com"


def no_model():
    raise ClassifierError("no model in this test")


@pytest.fixture
def dovecot():
    # dovecot must be installed (apt-get install -y dovecot-imapd): a missing one fails here,
    # with that instruction, rather than skipping the e-mail tests silently. Its folder is
    # outside pytest's (private to the user), so dovecot's own users can read it when run as root.
    root = Path(tempfile.mkdtemp(prefix="escucha-dovecot-"))
    server = Dovecot(root)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def settings(example_settings, dovecot, smtp):
    source = SourceSettings.model_validate({
        "name": "mail", "platform": "email", "address": USER, "from_name": "Orbita",
        "imap_host": "127.0.0.1", "imap_port": dovecot.port, "imap_security": "none",
        "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_security": "none",
        "timeout": "10s",
    })  # fmt: skip
    return example_settings.model_copy(update={
        "sources": [source],
        "secrets": {"ESCUCHA_EMAIL_IMAP_PASSWORD": SecretStr(PASSWORD)},
        "private_channel": PrivateChannelSettings(kind="email", address=USER),
    })  # fmt: skip


@pytest.fixture
def service(settings, store):
    return Service(settings, store, classifier_factory=no_model)


def connector(settings) -> EmailConnector:
    return from_settings(settings.sources[0], settings)


def mail(subject: str, body: str = "", *, html: str | None = None, **headers: str):
    message = EmailMessage()
    message["From"] = f"Ana García <{CUSTOMER}>"
    message["To"] = USER
    message["Subject"] = subject
    message["Message-ID"] = headers.pop("message_id", email.utils.make_msgid())
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body or "(html)")
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def open_case(store, settings, native_id: str = "yt-1", author: str = "Ana García") -> str:
    seed_scored(store, native_id=native_id, text="Orbita me cobra de más", author=author,
                platform="youtube")  # fmt: skip
    (case_id,) = triage_pending(store, settings).opened
    return case_id


def test_the_acknowledgement_offers_the_address_with_the_case_reference(service, store, settings):
    case_id = open_case(store, settings)
    text = service.cases.preview(case_id, "acknowledge").text
    assert USER in text and f"[{case_id}]" in text


def test_a_new_mail_with_the_reference_joins_the_case_and_our_answer_goes_by_smtp(
    service, store, settings, dovecot, smtp
):
    case_id = open_case(store, settings)
    dovecot.deliver(mail(f"Re: [{case_id}] mi factura", "Me cobrasteis dos veces."))
    assert service.poll_private_messages() == 1
    detail = service.cases.detail(case_id)
    assert detail["case"]["private_channel"] == "email"
    assert detail["case"]["private_conversation"] == CUSTOMER
    assert detail["messages"][-1]["text"] == "Me cobrasteis dos veces."
    service.cases.act(case_id, "private_message", ActionRequest("mateo", text="Lo revisamos"))
    assert service.outbox.run_once().sent == 1
    (raw,) = smtp.received
    sent = email.message_from_bytes(raw)
    assert sent["To"] == CUSTOMER and f"[{case_id}]" in sent["Subject"]
    assert "Lo revisamos" in sent.get_payload(decode=True).decode()


def test_a_reply_threads_into_the_case_of_the_message_it_answers(
    service, store, settings, dovecot, smtp
):
    first = open_case(store, settings, "yt-1")
    second = open_case(store, settings, "yt-2", "ana_g")  # her second account's case
    dovecot.deliver(mail(f"[{first}] hola", "uno"))
    dovecot.deliver(mail(f"[{second}] hola", "dos"))
    service.poll_private_messages()
    service.cases.act(first, "private_message", ActionRequest("mateo", text="Sobre el cobro"))
    service.outbox.run_once()
    ours = email.message_from_bytes(smtp.received[-1])["Message-ID"]
    # The reply's subject lost the reference; In-Reply-To names our message.
    dovecot.deliver(mail("Re: Tu caso", "Gracias, era eso", In_Reply_To=ours, References=ours))
    service.poll_private_messages()
    assert service.cases.detail(first)["messages"][-1]["text"] == "Gracias, era eso"
    assert "Gracias, era eso" not in [m["text"] for m in service.cases.detail(second)["messages"]]


def test_html_mail_is_shown_as_text_and_attachments_are_listed(settings, dovecot):
    message = mail(
        "Consulta", html="<html><head><style>p{color:red}</style></head><body>"
        "<p>Hola <b>equipo</b> &amp; co</p><script>alert(1)</script><p>Gracias</p></body></html>",
    )  # fmt: skip
    message.clear_content()
    message.set_content("<p>Hola <b>equipo</b> &amp; co</p><script>alert(1)</script>",
                        subtype="html")  # fmt: skip
    message.add_attachment(b"%PDF-1.4 " + b"x" * 2048, maintype="application", subtype="pdf",
                           filename="factura.pdf")  # fmt: skip
    dovecot.deliver(message)
    (inbound,), cursor = connector(settings).poll_private(None)
    assert inbound.text.startswith("Hola equipo & co")
    assert "<" not in inbound.text and "alert" not in inbound.text
    assert "[Attachments: factura.pdf (2.0 KB)]" in inbound.text
    assert inbound.raw["attachments"][0]["name"] == "factura.pdf"
    # The next poll reads only what is new.
    assert connector(settings).poll_private(cursor)[0] == []


def test_html_to_text_strips_tags_with_a_parser():
    assert html_to_text("<div>a<br>b</div><style>x</style>&lt;c&gt;") == "a\nb\n<c>"


def test_a_wrong_imap_password_is_an_auth_error(settings):
    from pipeline.errors import AuthError

    wrong = settings.model_copy(
        update={"secrets": {"ESCUCHA_EMAIL_IMAP_PASSWORD": SecretStr("nope")}}
    )
    with pytest.raises(AuthError, match="IMAP"):
        connector(wrong).poll_private(None)
