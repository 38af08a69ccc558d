"""``SandboxPlatform``: the replayed demo platform, a Source and a Channel for every platform in it.

It streams the bundled corpus as if live (``fetch``), accepts public replies and private messages
(``send``, de-duplicated by idempotency key in an fsync'ed log), and answers private messages as
simulated customers would (``poll_private``): on the platform, or on WhatsApp or e-mail when the
brand invited them there or wrote to them there. ``channel_for(platform)`` gives a Channel bound
to one platform name ("x", "facebook", "whatsapp", ...); the object itself is a Channel for all.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pipeline.errors import InputError, SourceError
from pipeline.records import (
    InboundMessage,
    OutboundMessage,
    Page,
    SentMessage,
    utc,
    utcnow,
)

from .corpus import BASE_URL, CorpusItem, load_corpus
from .customers import (
    customer_reply,
    email_address,
    email_subject,
    first_message,
    guess_lang,
    is_csat,
    phone_number,
    with_account,
)
from .postlog import PostLog, SandboxPost
from .replay import Timeline, load_or_fix_epoch, parse_epoch

logger = logging.getLogger(__name__)

PAGE_SIZE = 200
PRIVATE_CHANNELS = frozenset({"email", "whatsapp", "web_form", "dm"})
# Private channels with their own platform: a message sent there is answered there.
OWN_CHANNELS = frozenset({"email", "whatsapp"})
# Platforms whose private reply to a comment names the commenter's page-scoped id.
META_PLATFORMS = frozenset({"facebook", "instagram"})
_KINDS = frozenset({"public_reply", "private_message", "public_close"})
# Invitations in a public reply (pipeline/care/replies.py words them): a click-to-chat link
# prefilled with the case reference, or an address to write to with "[C-000123]" in the subject.
_CASE = re.compile(r"\bC-\d{6}\b")
_WHATSAPP_LINK = re.compile(r"https://wa\.me/\d+\?\S+")
_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SUBJECT_CASE = re.compile(r"\[(C-\d{6})\]")


@dataclass(frozen=True, slots=True)
class Person:
    """A simulated customer: an author of the corpus, and what they would say."""

    platform: str
    handle: str
    author_id: str | None
    name: str
    lang: str
    topic: str | None  # of their latest complaint

    @property
    def phone(self) -> str:
        return phone_number(self.platform, self.handle, self.lang)

    @property
    def email(self) -> str:
        return email_address(self.platform, self.handle, self.name, self.lang)


class SandboxPlatform:
    """The replayed demo platform (Source ``platform = "sandbox"``; mentions keep their own)."""

    platform = "sandbox"

    def __init__(
        self,
        corpus: Sequence[CorpusItem] | None,
        state_dir: Path | str,
        clock: Callable[[], datetime] = utcnow,
        speed: float = 60.0,
        reply_delay: timedelta | float = timedelta(seconds=20),
        seed: int = 7,
        *,
        name: str = "sandbox",
        history: float = 0.65,
        page_size: int = PAGE_SIZE,
        csat_templates: Sequence[str] = (),
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0 corpus seconds per real second")
        if not 0.0 <= history <= 1.0:
            raise ValueError("history must be a share between 0 and 1")
        if not 1 <= page_size <= PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {PAGE_SIZE}")
        items = tuple(corpus) if corpus is not None else load_corpus()
        self.corpus: tuple[CorpusItem, ...] = tuple(sorted(items, key=lambda i: (i.offset_s, i.id)))
        if not self.corpus:
            raise ValueError("the sandbox needs at least one corpus item")
        self.name = name
        self.clock = clock
        self.speed = float(speed)
        self.reply_delay = (
            reply_delay if isinstance(reply_delay, timedelta) else timedelta(seconds=reply_delay)
        )
        self.seed = seed
        self.history = history
        self.page_size = page_size
        self.csat_templates = tuple(csat_templates)
        self.state_dir = Path(state_dir)
        self._offsets = [item.offset_s for item in self.corpus]
        self._by_id = {item.id: item for item in self.corpus}
        self.platforms: frozenset[str] = frozenset(item.platform for item in self.corpus)
        self._people = _people(self.corpus)
        self._contacts = {
            address: person
            for person in self._people.values()
            for address in (person.phone, person.email)
        }
        self._epoch: datetime | None = None
        _prepare_folder(self.state_dir)
        self.log = PostLog(self.state_dir)

    # -- Source ---------------------------------------------------------------------------
    @property
    def epoch(self) -> datetime:
        """When the replay started (fixed once per state folder)."""
        if self._epoch is None:
            self._epoch = load_or_fix_epoch(self.state_dir, self.clock())
        return self._epoch

    def timeline(self, epoch: datetime | None = None) -> Timeline:
        return Timeline.build(self._offsets, epoch or self.epoch, self.speed, self.history)

    def fetch(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        """Pages of at most ``page_size`` mentions whose replay time has come, in order."""
        position, epoch = self._read_cursor(cursor)
        timeline = self.timeline(epoch)
        due = timeline.due(self._offsets, self.clock())
        epoch_text = timeline.epoch.isoformat()
        for start in range(position, due, self.page_size):
            stop = min(start + self.page_size, due)
            mentions = tuple(
                item.to_mention(timeline.at(item.offset_s), self.name)
                for item in self.corpus[start:stop]
            )
            yield Page(mentions=mentions, cursor={"position": stop, "epoch": epoch_text})

    def remaining(self, cursor: Mapping[str, Any] | None) -> int:
        """How many mentions are due now but not yet fetched after ``cursor`` (the backlog)."""
        position, epoch = self._read_cursor(cursor)
        return max(self.timeline(epoch).due(self._offsets, self.clock()) - position, 0)

    def upcoming(self, cursor: Mapping[str, Any] | None) -> int:
        """How many corpus mentions have not reached their replay time yet."""
        position, epoch = self._read_cursor(cursor)
        due = self.timeline(epoch).due(self._offsets, self.clock())
        return len(self.corpus) - max(due, position)

    def _read_cursor(self, cursor: Mapping[str, Any] | None) -> tuple[int, datetime]:
        if not cursor:
            return 0, self.epoch
        position = cursor.get("position", 0)
        if isinstance(position, bool) or not isinstance(position, int):
            raise InputError(f"sandbox cursor position must be an integer, not {position!r}")
        if not 0 <= position <= len(self.corpus):
            raise InputError(
                f"sandbox cursor position {position} is outside the corpus (0..{len(self.corpus)})",
                hint="the corpus changed; delete the sandbox source's cursor to replay again",
            )
        epoch = cursor.get("epoch")
        return position, parse_epoch(epoch, where="cursor") if epoch is not None else self.epoch

    # -- Channel --------------------------------------------------------------------------
    def channel_for(self, platform: str) -> SandboxChannel:
        """A Channel bound to one platform of the sandbox ("x", "reddit", "google_reviews"...)."""
        if platform not in self.platforms and platform not in PRIVATE_CHANNELS:
            known = ", ".join(sorted(self.platforms))
            raise SourceError(f"no platform {platform!r} here (known: {known})", platform="sandbox")
        return SandboxChannel(self, platform)

    def send(self, message: OutboundMessage) -> SentMessage:
        """Post once per idempotency key; a repeated key returns the first post unchanged."""
        self._check(message)
        recipient = message.recipient
        if message.kind == "private_message" and not recipient and message.in_reply_to:
            original = self._by_id.get(message.in_reply_to)
            recipient = original.author if original else None
        if message.kind == "private_message" and not recipient:
            raise SourceError(
                "a private message needs a recipient (the author's handle)",
                platform=message.platform,
            )

        def make(seq: int) -> SandboxPost:
            post_id = f"sbx-{message.platform}-{seq:06d}"
            if message.kind == "private_message":
                url = f"{BASE_URL}/{message.platform}/messages/{_norm(recipient or '')}/{post_id}"
            else:
                url = f"{BASE_URL}/{message.platform}/{message.in_reply_to}/replies/{post_id}"
            return SandboxPost(
                id=post_id,
                recipient_id=self._recipient_id(message),
                idempotency_key=message.idempotency_key,
                kind=message.kind,
                platform=message.platform,
                text=message.text,
                url=url,
                sent_at=utc(self.clock()),
                lang=guess_lang(message.text),
                in_reply_to=message.in_reply_to,
                recipient=recipient,
                private_channel=message.private_channel,
                case_id=message.case_id,
            )

        post, created = self.log.append_once(message.idempotency_key, make)
        if created:
            logger.info(
                "sandbox posted %s",
                post.kind,
                extra={"post_id": post.id, "platform": post.platform},
            )
        elif post.text != message.text:
            logger.warning(
                "idempotency key reused with a different text; kept the first post",
                extra={"post_id": post.id, "key": message.idempotency_key},
            )
        return _sent(post)

    def find_sent(self, message: OutboundMessage) -> SentMessage | None:
        post = self.log.find(message.idempotency_key)
        return _sent(post) if post is not None else None

    def _recipient_id(self, message: OutboundMessage) -> str | None:
        """A Facebook/Instagram private reply reaches the commenter's page-scoped id, which the
        platform reports back (their address for the DMs that follow)."""
        if message.kind != "private_message" or message.platform not in META_PLATFORMS:
            return None
        original = self._by_id.get(message.in_reply_to or "")
        return original.author_id if original is not None else None

    def posts(self, platform: str | None = None) -> list[SandboxPost]:
        """Everything posted so far (optionally on one platform), oldest first."""
        return [p for p in self.log.posts() if platform is None or p.platform == platform]

    def poll_private(
        self, cursor: Mapping[str, Any] | None, *, platform: str | None = None
    ) -> tuple[list[InboundMessage], Mapping[str, Any] | None]:
        """Customer answers whose delay has passed; the cursor makes each come exactly once.

        ``platform`` keeps only the answers on that platform or channel ("x", "whatsapp")."""
        position = (cursor or {}).get("position", 0)
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            raise InputError(
                f"sandbox private cursor position must be an integer >= 0, not {position!r}"
            )
        posts = self.log.posts()
        now = utc(self.clock())
        stages: dict[tuple[str, str], int] = {}  # brand messages so far, per conversation
        surveyed: set[tuple[str, str]] = set()
        opened: set[tuple[str, str]] = set()  # conversations the customer started (invited)
        messages: list[InboundMessage] = []
        new_position = position
        for index, post in enumerate(posts):
            answer: Callable[[], InboundMessage | None] | None = None
            if post.kind == "private_message" and post.recipient:
                channel = _channel(post)
                person = self._person(post)
                conversation = (channel, _person_key(person, channel, post))
                csat = is_csat(post.text, self.csat_templates)
                stage = stages.get(conversation, 0)
                first_survey = csat and conversation not in surveyed
                told = conversation in opened
                if csat:
                    surveyed.add(conversation)
                else:
                    stages[conversation] = stage + 1
                answer = self._answerer(post, person, channel, stage, csat, first_survey, told)
            elif post.kind == "public_reply":
                invitation = self._invitation(post)
                if invitation is not None:
                    channel, person, case_ref = invitation
                    conversation = (channel, _person_key(person, channel, post))
                    if conversation not in opened:
                        opened.add(conversation)
                        answer = self._taker(post, person, channel, case_ref)
            if index < position:
                continue
            if answer is not None:
                if post.sent_at + self.reply_delay > now:
                    break  # answers come in log order: later ones are not due either
                reply = answer()
                if reply is not None and (platform is None or reply.platform == platform):
                    messages.append(reply)
            new_position = index + 1
        return messages, {"position": new_position}

    def _person(self, post: SandboxPost) -> Person | None:
        """Who a private message reaches: the author of the post it answers, else the author,
        number or address it is sent to."""
        original = self._by_id.get(post.in_reply_to or "")
        if original is not None:
            return self._people.get((original.platform, _norm(original.author)))
        recipient = _norm(post.recipient or "")
        return (
            self._contacts.get(recipient)
            or self._people.get((post.platform, recipient))
            or self._people.get(("", recipient))
        )

    def _invitation(self, post: SandboxPost) -> tuple[str, Person, str] | None:
        """A public reply inviting its author to WhatsApp (a click-to-chat link with the case
        reference) or to e-mail (an address and "[C-000123]"): channel, author, reference."""
        original = self._by_id.get(post.in_reply_to or "")
        person = self._people.get((original.platform, _norm(original.author))) if original else None
        if person is None:
            return None
        link = _WHATSAPP_LINK.search(post.text)
        if link is not None:
            prefill = " ".join(parse_qs(urlsplit(link.group(0)).query).get("text", []))
            found = _CASE.search(prefill)
            if found:
                return "whatsapp", person, prefill
        subject = _SUBJECT_CASE.search(post.text)
        if subject is not None and _ADDRESS.search(post.text):
            return "email", person, subject.group(1)
        return None

    def _taker(
        self, post: SandboxPost, person: Person, channel: str, prefill: str
    ) -> Callable[[], InboundMessage]:
        """The customer takes up the invitation: their first message on ``channel``."""

        def make() -> InboundMessage:
            found = _CASE.search(prefill)
            case_ref = found.group(0) if found else prefill
            text = first_message(
                channel, prefill=prefill, lang=person.lang, topic=person.topic,
                platform=person.platform, name=person.name, seed=self.seed, post_id=post.id,
            )  # fmt: skip
            sender = person.phone if channel == "whatsapp" else person.email
            raw: dict[str, Any] = {"in_reply_to": post.id, "case_id": case_ref, "lang": person.lang}
            if channel == "email":
                raw["subject"] = email_subject(case_ref, person.lang, reply=False)
            return InboundMessage(
                platform=channel,
                native_id=f"{post.id}-{channel}",
                sender=sender,
                text=text,
                created_at=post.sent_at + self.reply_delay,
                conversation_id=f"{channel}:{sender}",
                raw=raw,
            )

        return make

    def _answerer(
        self,
        post: SandboxPost,
        person: Person | None,
        channel: str,
        stage: int,
        csat: bool,
        first_survey: bool,
        told: bool,
    ) -> Callable[[], InboundMessage | None]:
        """The customer's answer to one private message, on the channel it came by."""

        def make() -> InboundMessage | None:
            if csat and not first_survey:
                return None
            lang = person.lang if person else post.lang
            topic = person.topic if person else None
            if told and stage == 0 and not csat:  # they said what is wrong when they wrote
                text: str | None = with_account("", lang, seed=self.seed, post_id=post.id)
            else:
                text = customer_reply(
                    stage=stage, csat=csat, lang=lang, topic=topic, seed=self.seed,
                    post_id=post.id,
                )  # fmt: skip
            if text is None:
                return None
            sender = _sender(post, person, channel)
            raw: dict[str, Any] = {"in_reply_to": post.id, "case_id": post.case_id, "lang": lang}
            if channel == "email" and post.case_id:
                raw["subject"] = email_subject(post.case_id, lang, reply=True)
            return InboundMessage(
                platform=channel,
                native_id=f"{post.id}-answer",
                sender=sender,
                text=text,
                created_at=post.sent_at + self.reply_delay,
                conversation_id=f"{channel}:{_norm(sender)}",
                raw=raw,
            )

        return make

    def _check(self, message: OutboundMessage) -> None:
        if message.kind not in _KINDS:
            raise SourceError(f"unknown message kind {message.kind!r}", platform="sandbox")
        if message.platform not in self.platforms and message.platform not in PRIVATE_CHANNELS:
            raise SourceError(
                f"the sandbox has no platform {message.platform!r}", platform="sandbox"
            )
        if not message.idempotency_key:
            raise SourceError("a message needs an idempotency key", platform=message.platform)
        if not message.text.strip():
            raise SourceError("refusing to post an empty message", platform=message.platform)
        if message.kind != "private_message" and not message.in_reply_to:
            raise SourceError(
                f"a {message.kind} needs in_reply_to (the native id of the post answered)",
                platform=message.platform,
            )


class SandboxChannel:
    """The sandbox seen as one platform's Channel; shares the log with its ``SandboxPlatform``."""

    def __init__(self, sandbox: SandboxPlatform, platform: str) -> None:
        self.sandbox = sandbox
        self.platform = platform

    def send(self, message: OutboundMessage) -> SentMessage:
        self._same_platform(message)
        return self.sandbox.send(message)

    def find_sent(self, message: OutboundMessage) -> SentMessage | None:
        return self.sandbox.find_sent(message)

    def poll_private(
        self, cursor: Mapping[str, Any] | None
    ) -> tuple[list[InboundMessage], Mapping[str, Any] | None]:
        return self.sandbox.poll_private(cursor, platform=self.platform)

    def _same_platform(self, message: OutboundMessage) -> None:
        if message.platform != self.platform:
            raise SourceError(
                f"this channel posts on {self.platform!r}, not {message.platform!r}",
                platform=self.platform,
            )


def _sent(post: SandboxPost) -> SentMessage:
    return SentMessage(
        platform_id=post.id, url=post.url, sent_at=post.sent_at, recipient_id=post.recipient_id
    )


def _channel(post: SandboxPost) -> str:
    """Where a private message goes and is answered: WhatsApp or e-mail, else the platform."""
    if post.platform in OWN_CHANNELS:
        return post.platform
    if post.private_channel in OWN_CHANNELS:
        return str(post.private_channel)
    return post.platform


def _person_key(person: Person | None, channel: str, post: SandboxPost) -> str:
    if person is None:
        return _norm(post.recipient or "")
    if channel in OWN_CHANNELS:
        return f"{person.platform}:{_norm(person.handle)}"
    return _norm(person.handle)


def _sender(post: SandboxPost, person: Person | None, channel: str) -> str:
    """Who the answer comes from: the number or address written to (or the person's own),
    a Facebook/Instagram user's page-scoped id, else the handle written to."""
    recipient = post.recipient or ""
    if channel == "whatsapp":
        digits = re.sub(r"[\s+()-]", "", recipient)
        if digits.isdigit() or person is None:
            return digits or recipient
        return person.phone
    if channel == "email":
        if "@" in recipient.strip("@") or person is None:
            return recipient
        return person.email
    if post.platform in META_PLATFORMS and person is not None and person.author_id:
        return person.author_id
    return recipient


def _norm(handle: str) -> str:
    return handle.strip().lstrip("@").lower()


def _people(corpus: Sequence[CorpusItem]) -> dict[tuple[str, str], Person]:
    """(platform, handle or page-scoped id) -> the person, with the language of their mentions
    and the topic of their latest complaint; platform "" finds a handle on any platform."""
    people: dict[tuple[str, str], Person] = {}
    for item in corpus:
        lang = item.lang or "es"
        topic = item.expected.get("topic") if item.expected.get("complaint") else None
        handle = _norm(item.author)
        old = people.get((item.platform, handle))
        person = Person(
            platform=item.platform,
            handle=item.author,
            author_id=item.author_id or (old.author_id if old else None),
            name=item.author_name or item.author,
            lang=lang,
            topic=topic if isinstance(topic, str) else (old.topic if old else None),
        )
        people[(item.platform, handle)] = person
        people[("", handle)] = person
        if person.author_id:
            people[(item.platform, _norm(person.author_id))] = person
    return people


def _prepare_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise SourceError(
            f"cannot use {folder} as the sandbox state folder ({exc})",
            platform="sandbox",
            hint="point the sandbox source's state_dir option at a writable folder",
        ) from exc
