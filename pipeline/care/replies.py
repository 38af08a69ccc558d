"""Replies: what an action posts and where, in the customer's language, from the templates.

Public replies go in the original thread; private messages go by DM where the platform has them,
else by the configured private channel (email, WhatsApp, web form); the CSAT survey is private.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.care import csat, lifecycle
from pipeline.errors import CaseError
from pipeline.settings import Settings
from pipeline.store.cases import CaseRow

DM_PLATFORMS = frozenset({"x", "reddit"})
_CONTACT_LINE = {
    "es": "Escríbenos a {address} para seguir por privado.",
    "en": "Please write to us at {address} so we can continue in private.",
}


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


class Replies:
    """Composes the replies of a case from the configured templates."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def private_channel(self, platform: str) -> str:
        return "dm" if platform in DM_PLATFORMS else self.settings.private_channel.kind

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

    def compose(self, case: CaseRow, action: str, text: str | None = None) -> Preview:
        """What ``action`` would post for ``case``, and where, in the customer's language."""
        if action not in lifecycle.POSTING_ACTIONS:
            raise CaseError(f"{action!r} does not post anything", case_id=case.id)
        lang = self.language(case)
        template = self.settings.template(lang)
        channel = self.private_channel(case.platform)
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
                text += " " + _fill(_CONTACT_LINE.get(lang, _CONTACT_LINE["en"]), fields)
        if not text.strip():
            raise CaseError("the message is empty", case_id=case.id, hint="write some text")
        if kind == "private_message":
            where = (
                f"private message to {case.author} on {case.platform}"
                if channel == "dm"
                else f"{channel} to {case.author} ({self.settings.private_channel.address})"
            )
            return Preview(action, kind, case.platform, "private", where, case.author, text, lang)
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
        where = f"survey to {case.author} ({self.private_channel(case.platform)})"
        return Preview(
            "csat", "private_message", case.platform, "private", where, case.author, text,
            lang,
        )  # fmt: skip


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
