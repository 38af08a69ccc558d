"""Replies: what an action posts and where, in the customer's language, from the templates.

Public replies go in the original thread; private messages go by DM where the platform has them,
else by the configured private channel (email, WhatsApp, web form); the CSAT survey is private.
A case the customer continued on WhatsApp or e-mail keeps that channel (``CaseRow.private_channel``)
and its address there (``private_conversation``: the WhatsApp id or the e-mail address).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from pipeline.care import csat, lifecycle, windows
from pipeline.errors import CaseError
from pipeline.settings import Settings
from pipeline.store.cases import CaseRow

DM_PLATFORMS = frozenset({"x", "reddit", "facebook", "instagram"})
# Facebook and Instagram: first the comment's one private reply, then their DMs within a window.
_META_DM = {"facebook": "messenger", "instagram": "instagram_dm"}
_CONTACT_LINE = {
    "es": "Escríbenos a {address} para seguir por privado.",
    "en": "Please write to us at {address} so we can continue in private.",
}
# The deflection names the real channel and carries the case reference, so the customer's first
# message there joins this case (``pipeline.care.cases.CASE_REFERENCE``).
_EMAIL_LINE = {
    "es": "Escríbenos a {address} con «[{case}]» en el asunto para seguir por privado.",
    "en": "Please write to us at {address} with “[{case}]” in the subject so we can continue"
    " in private.",
}
_WHATSAPP_LINE = {
    "es": "Escríbenos por WhatsApp para seguir por privado: {link}",
    "en": "Message us on WhatsApp so we can continue in private: {link}",
}
_WHATSAPP_PREFILL = {"es": "Caso {case}", "en": "Case {case}"}


@dataclass(frozen=True)
class Preview:
    """Exactly what an action will post: kind, visibility, where, to whom, the text, language."""

    action: str
    kind: str
    platform: str
    visibility: str
    where: str
    recipient: str | None
    text: str
    lang: str
    template: bool = False  # WhatsApp outside its window: goes as the approved template
    # Facebook/Instagram: "private_reply" (to the comment, ``in_reply_to`` the mention) or
    # "messenger"/"instagram_dm" (to ``recipient``, the page-scoped id); None elsewhere.
    route: str | None = None


class Replies:
    """Composes the replies of a case from the configured templates."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def private_channel(self, platform: str) -> str:
        return "dm" if platform in DM_PLATFORMS else self.settings.private_channel.kind

    def channels(self, platform: str) -> list[str]:
        """The private channels a case on ``platform`` can move to: the platform's own DMs, the
        configured private channel, and every configured WhatsApp or e-mail source."""
        offered = ["dm"] if platform in DM_PLATFORMS else []
        offered.append(self.settings.private_channel.kind)
        enabled = {s.platform for s in self.settings.sources if s.enabled}
        offered += sorted(enabled & {"email", "whatsapp"})
        if self.settings.private_channel.whatsapp_number and "sandbox" in enabled:
            offered.append("whatsapp")  # the sandbox simulates customers writing there
        return list(dict.fromkeys(offered))

    def channel_of(self, case: CaseRow) -> str:
        """The private channel of ``case``: the one the customer continued on, else the
        platform's (DM) or the configured one."""
        return case.private_channel or self.private_channel(case.platform)

    def click_to_chat(self, case_id: str, lang: str) -> str:
        """The WhatsApp click-to-chat link to our number, prefilled with the case reference."""
        configured = self.settings.private_channel
        number = re.sub(r"\D", "", configured.whatsapp_number or configured.address)
        prefill = _WHATSAPP_PREFILL.get(lang, _WHATSAPP_PREFILL["en"]).format(case=case_id)
        return f"https://wa.me/{number}?text={quote(prefill)}"

    def language(self, case: CaseRow) -> str:
        """The customer's language when there are templates for it, else the default one."""
        lang = case.lang if case.lang in self.settings.templates else None
        return lang or self.settings.default_language

    def fields(self, case: CaseRow) -> dict[str, str]:
        return {
            "author": _mention_name(case.author, case.platform),
            "brand": case.brand or "",
            "address": self.settings.private_channel.address,
        }

    def compose(
        self,
        case: CaseRow,
        action: str,
        text: str | None = None,
        *,
        last_inbound_at: datetime | None = None,
        now: datetime | None = None,
        private_reply_used: bool = False,
    ) -> Preview:
        """What ``action`` would post for ``case``, and where, in the customer's language.

        ``last_inbound_at`` (the customer's last message on the case's channel) and ``now``
        decide WhatsApp's window: free-form text only within 24 hours, else the template; and
        on Facebook/Instagram which private route is open (``_meta_route``), if any."""
        if action not in lifecycle.POSTING_ACTIONS:
            raise CaseError(f"{action!r} does not post anything", case_id=case.id)
        lang = self.language(case)
        template = self.settings.template(lang)
        channel = self.channel_of(case)
        fields = self.fields(case)
        kind = lifecycle.POSTING_ACTIONS[action]
        if text is None:
            source = {
                "acknowledge": template.acknowledge,
                "private_message": template.private,
                "close_public": template.close,
            }[action]
            text = _fill(source, fields)
            if action == "acknowledge" and channel != "dm":
                text += " " + self._contact_line(case, channel, lang, fields)
            free_form = False
        else:
            free_form = True
        if not text.strip():
            raise CaseError("the message is empty", case_id=case.id, hint="write some text")
        if kind == "private_message":
            recipient = case.private_conversation or case.author
            as_template = False
            if channel == "whatsapp":
                as_template = self._whatsapp_window(case, free_form, last_inbound_at, now)
            route = None
            if channel == "dm" and case.platform in _META_DM:
                route, where = self._meta_route(
                    case, last_inbound_at, now or datetime.now(UTC), used=private_reply_used
                )
            else:
                where = self._where(case, channel, recipient)
            return Preview(
                action, kind, case.platform, "private", where, recipient, text, lang, as_template,
                route,
            )  # fmt: skip
        where = f"public reply in the thread of {case.mention_key} on {case.platform}"
        return Preview(action, kind, case.platform, "public", where, None, text, lang)

    def survey(self, case: CaseRow) -> Preview | None:
        """The one-question CSAT survey, privately, once a deflected case is closed."""
        if case.deflected_at is None:
            return None
        lang = self.language(case)
        if not (self.settings.template(lang).csat or self.settings.template(None).csat):
            return None
        text = csat.survey_text(self.settings, lang, **self.fields(case))
        recipient = case.private_conversation or case.author
        where = f"survey to {recipient} ({self.channel_of(case)})"
        return Preview(
            "csat", "private_message", case.platform, "private", where, recipient, text,
            lang,
        )  # fmt: skip

    def _contact_line(self, case: CaseRow, channel: str, lang: str, fields: dict[str, str]) -> str:
        """The acknowledgement's invitation to the private channel, naming it for real."""
        if channel == "email":
            line = _EMAIL_LINE.get(lang, _EMAIL_LINE["en"])
            return line.format(address=fields["address"], case=case.id)
        if channel == "whatsapp":
            line = _WHATSAPP_LINE.get(lang, _WHATSAPP_LINE["en"])
            return line.format(link=self.click_to_chat(case.id, lang))
        return _fill(_CONTACT_LINE.get(lang, _CONTACT_LINE["en"]), fields)

    def _where(self, case: CaseRow, channel: str, recipient: str) -> str:
        address = self.settings.private_channel.address
        if channel == "dm":
            return f"private message to {case.author} on {case.platform}"
        if channel == "email":
            return f"email to {recipient} from {address} (subject [{case.id}])"
        if channel == "whatsapp":
            return f"WhatsApp message to {recipient} from {address}"
        return f"{channel} to {recipient} ({address})"

    def _meta_route(
        self, case: CaseRow, last_inbound_at: datetime | None, now: datetime, *, used: bool
    ) -> tuple[str, str]:
        """Facebook/Instagram: the comment's private reply while it is unused and under 7 days
        old, else a DM within 24 h of the customer's last message (7 days with ``human_agent``);
        refuses, saying why, when neither is open. The comment's time is taken as the case's
        opening (never earlier than it); the platform's own refusal is the final word."""
        reply = windows.private_reply(case.platform, case.opened_at, used=used, now=now)
        if reply is not None and reply.open:
            return "private_reply", f"private reply to {case.author}'s comment on {case.platform}"
        dm = _META_DM[case.platform]
        source = next((s for s in self.settings.sources if s.name == case.source), None)
        human = bool(source is not None and source.options.get("human_agent"))
        window = windows.messaging(dm, last_inbound_at, now=now, human_agent=human)
        if window is not None and window.open:
            return dm, f"{dm.replace('_', ' ')} to {case.author} on {case.platform}"
        raise CaseError(
            f"no private channel is open on {case.platform}: the private reply is "
            f"{reply.reason if reply else 'not available'}, and {dm} is closed "
            f"({window.reason if window else 'no window'})",
            case_id=case.id,
            hint="wait for the customer to write in private, or answer in public",
        )

    def _whatsapp_window(
        self,
        case: CaseRow,
        free_form: bool,
        last_inbound_at: datetime | None,
        now: datetime | None,
    ) -> bool:
        """Whether a WhatsApp private message must go as the approved template; refuses
        free-form text outside the 24-hour customer-service window."""
        if last_inbound_at is None:
            raise CaseError(
                "the customer has not written to us on WhatsApp yet, so nothing can be sent there",
                case_id=case.id,
                hint="the acknowledgement's click-to-chat link invites them; wait for them",
            )
        window = windows.messaging("whatsapp", last_inbound_at, now=now or datetime.now(UTC))
        if window is None or window.open:
            return False
        if free_form:
            raise CaseError(
                f"WhatsApp refuses free-form messages {window.reason}",
                case_id=case.id,
                hint="a template is needed: send the private message without text to use the"
                " approved template",
            )
        return True


def _fill(template: str, fields: dict[str, str]) -> str:
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError) as exc:
        raise CaseError(
            f"reply template {template!r} has an unknown placeholder ({exc})",
            hint="templates may use {author}, {brand} and {address}",
        ) from exc


def _mention_name(author: str, platform: str) -> str:
    if platform == "x" and not author.startswith("@"):
        return "@" + author
    return author
