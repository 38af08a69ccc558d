"""E-mail: the care inbox read over IMAP (imap-tools, polling by UID) and replies sent over SMTP
(smtplib), as a Channel. Mail is turned into safe plain text: HTML is never rendered, its tags
are stripped with a parser; attachments are listed by name and size, never stored.

Cursor: ``{"uidvalidity": V, "uid": U}``: the highest UID read in that mailbox generation. A
new UIDVALIDITY (the mailbox was rebuilt) reads the mailbox again; messages already recorded are
dropped by their Message-ID. Threading is done by the service: a reply's In-Reply-To/References
name a Message-ID we sent, or its subject carries the case reference ``[C-000123]``.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from html.parser import HTMLParser
from typing import Any, Literal

from imap_tools import AND, MailBox, MailBoxStartTls, MailBoxUnencrypted, U
from imap_tools.errors import MailboxLoginError
from pydantic import Field

from crawlers.options import ConnectorOptions, parse_options
from pipeline.errors import AuthError, SourceError, SourceUnavailable
from pipeline.records import InboundMessage, OutboundMessage, Page, SentMessage
from pipeline.settings import Settings, SourceSettings

logger = logging.getLogger(__name__)

PLATFORM = "email"
DOCS = "docs/email.md"
Security = Literal["ssl", "starttls", "none"]
_SKIPPED = frozenset({"script", "style", "head", "title", "template", "noscript"})
_BLOCKS = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table",
     "ul", "ol", "hr", "section", "article"}
)  # fmt: skip


class EmailOptions(ConnectorOptions):
    """Keys of an ``email`` source."""

    address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")  # the care address customers write to
    from_name: str | None = None  # shown beside it in replies
    imap_host: str
    imap_port: int | None = None  # 993 with ssl, else 143
    imap_security: Security = "ssl"
    imap_user: str | None = None  # default: address
    mailbox: str = "INBOX"
    smtp_host: str
    smtp_port: int | None = None  # 465 with ssl, 587 with starttls, else 25
    smtp_security: Security = "starttls"
    smtp_user: str | None = None  # default: address; no login when no SMTP password is set
    subject: str = "[{case}] Tu caso"  # replies' subject; {case} is the case reference
    batch: int = Field(100, ge=1, le=1000)  # messages read per poll


class _TextOfHtml(HTMLParser):
    """Collects the text of an HTML document: no rendering, scripts and styles dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of an HTML body: tags stripped by a parser, entities decoded, blank runs
    collapsed."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()


def _size(size: int) -> str:
    return f"{size} B" if size < 1024 else f"{size / 1024:.1f} KB"


def _ids(value: str) -> list[str]:
    """Message-IDs in a header (In-Reply-To, References), each with its angle brackets."""
    return [f"<{part.strip('<>')}>" for part in value.replace(",", " ").split() if part.strip("<>")]


class EmailConnector:
    """An ``email`` source: reads the care inbox, sends replies. No public mentions."""

    platform = PLATFORM

    def __init__(
        self,
        name: str,
        options: EmailOptions,
        *,
        imap_password: str,
        smtp_password: str | None,
    ) -> None:
        self.name = name
        self.options = options
        self._imap_password = imap_password
        self._smtp_password = smtp_password

    # -- Source ---------------------------------------------------------------------------------
    def fetch(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        """E-mail carries no public mentions: the inbox is read by ``poll_private``."""
        return iter(())

    # -- Channel: reading -----------------------------------------------------------------------
    def poll_private(
        self, cursor: Mapping[str, Any] | None
    ) -> tuple[list[InboundMessage], Mapping[str, Any] | None]:
        """Mail newer than the cursor's UID, oldest first, leaving out our own."""
        options = self.options
        try:
            with self._mailbox() as box:
                status = box.folder.status(options.mailbox, ["UIDVALIDITY"])
                validity = int(status["UIDVALIDITY"])
                last = 0
                if cursor and int(cursor.get("uidvalidity", -1)) == validity:
                    last = int(cursor.get("uid", 0))
                found = box.fetch(
                    AND(uid=U(str(last + 1), "*")), mark_seen=False, bulk=True, limit=options.batch
                )
                messages: list[InboundMessage] = []
                newest = last
                for mail in found:
                    uid = int(mail.uid or 0)
                    if uid <= last:  # "N:*" always returns the newest message
                        continue
                    newest = max(newest, uid)
                    if mail.from_.lower() == options.address.lower():
                        continue
                    messages.append(self._inbound(mail, uid))
        except MailboxLoginError as exc:
            raise AuthError(
                "the IMAP server refused our login",
                source=self.name,
                hint="check ESCUCHA_EMAIL_IMAP_PASSWORD and the imap_user option",
            ) from exc
        except (OSError, ssl.SSLError) as exc:
            raise SourceUnavailable(
                f"the IMAP server could not be reached ({type(exc).__name__})", source=self.name
            ) from exc
        except Exception as exc:  # imap-tools raises its own errors for bad answers
            raise SourceUnavailable(
                f"reading the mailbox failed ({type(exc).__name__})", source=self.name
            ) from exc
        logger.debug("email source %s read %d messages", self.name, len(messages))
        return messages, {"uidvalidity": validity, "uid": newest}

    def _inbound(self, mail: Any, uid: int) -> InboundMessage:
        headers = {k.lower(): v for k, v in mail.headers.items()}
        message_id = (headers.get("message-id") or (f"<uid-{uid}@{self.name}>",))[0].strip()
        references = _ids(" ".join(headers.get("in-reply-to", ())))
        references += [
            r for r in _ids(" ".join(headers.get("references", ()))) if r not in references
        ]
        text = mail.text.strip() if mail.text and mail.text.strip() else html_to_text(mail.html)
        attachments = [
            {"name": part.filename or "(no name)", "size": part.size, "type": part.content_type}
            for part in mail.attachments
        ]
        if attachments:
            listed = ", ".join(f"{a['name']} ({_size(int(a['size']))})" for a in attachments)
            text = f"{text}\n\n[Attachments: {listed}]".strip()
        created = mail.date if mail.date and mail.date.tzinfo else datetime.now(UTC)
        return InboundMessage(
            platform=PLATFORM,
            native_id=message_id,
            sender=mail.from_.lower(),
            text=text,
            created_at=created,
            conversation_id=references[0] if references else message_id,
            raw={
                "subject": mail.subject,
                "references": references,
                "attachments": attachments,
                "name": (mail.from_values.name or None) if mail.from_values else None,
            },
        )

    def _mailbox(self) -> Any:
        options = self.options
        timeout = options.timeout.total_seconds()
        box: Any
        if options.imap_security == "ssl":
            box = MailBox(options.imap_host, options.imap_port or 993, timeout=timeout)
        elif options.imap_security == "starttls":
            box = MailBoxStartTls(options.imap_host, options.imap_port or 143, timeout=timeout)
        else:
            box = MailBoxUnencrypted(options.imap_host, options.imap_port or 143, timeout=timeout)
        user = options.imap_user or options.address
        return box.login(user, self._imap_password, initial_folder=options.mailbox)

    # -- Channel: sending -----------------------------------------------------------------------
    def message_id(self, message: OutboundMessage) -> str:
        """The Message-ID of a reply: the same for the same intent, so a retry is the same mail
        (and a reply to it names it in In-Reply-To)."""
        digest = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
        domain = self.options.address.rsplit("@", 1)[1]
        return f"<{digest}@{domain}>"

    def send(self, message: OutboundMessage) -> SentMessage:
        if message.kind != "private_message":
            raise SourceError("e-mail carries only private messages", source=self.name)
        to = (message.recipient or "").strip()
        if "@" not in to or any(c in to for c in "\r\n,;<>"):
            raise SourceError(
                "the customer has not written to us by e-mail yet (no address on the case)",
                source=self.name,
                hint=f"the acknowledgement invites them to write to {self.options.address}",
            )
        mail = EmailMessage()
        mail["From"] = formataddr((self.options.from_name or "", self.options.address))
        mail["To"] = to
        mail["Subject"] = self.options.subject.format(case=message.case_id or "")
        mail["Date"] = formatdate(localtime=False)
        message_id = self.message_id(message)
        mail["Message-ID"] = message_id
        mail.set_content(message.text)
        try:
            with self._smtp() as smtp:
                smtp.send_message(mail)
        except smtplib.SMTPAuthenticationError as exc:
            raise AuthError(
                "the SMTP server refused our login",
                source=self.name,
                hint="check ESCUCHA_EMAIL_SMTP_PASSWORD and the smtp_user option",
            ) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise SourceError("the SMTP server refused the recipient", source=self.name) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise SourceUnavailable(
                f"the SMTP server failed ({type(exc).__name__})", source=self.name
            ) from exc
        logger.info("email source %s sent a reply", self.name, extra={"case": message.case_id})
        return SentMessage(platform_id=message_id)

    def _smtp(self) -> smtplib.SMTP:
        options = self.options
        timeout = options.timeout.total_seconds()
        smtp: smtplib.SMTP
        if options.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(options.smtp_host, options.smtp_port or 465, timeout=timeout)
        else:
            port = options.smtp_port or (587 if options.smtp_security == "starttls" else 25)
            smtp = smtplib.SMTP(options.smtp_host, port, timeout=timeout)
            if options.smtp_security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if self._smtp_password:
            smtp.login(options.smtp_user or options.address, self._smtp_password)
        return smtp

    def find_sent(self, message: OutboundMessage) -> SentMessage | None:
        """SMTP cannot be asked what it delivered; a retry sends the same Message-ID, which mail
        clients show once."""
        return None


def from_settings(source: SourceSettings, settings: Settings) -> EmailConnector:
    options = parse_options(EmailOptions, source, docs=DOCS)
    imap_password = settings.source_secret(
        source.name, "EMAIL_IMAP_PASSWORD", needed_for=f"e-mail source {source.name!r}"
    )
    smtp_password = settings.optional_source_secret(source.name, "EMAIL_SMTP_PASSWORD")
    return EmailConnector(
        source.name, options, imap_password=imap_password, smtp_password=smtp_password
    )
