"""Customer 360: suggest that accounts on different platforms are the same person, with evidence.

Suggestions come from matching normalised handles, full names and email addresses seen in private
messages; an agent confirms or rejects them (the store keeps the audit). Confirmed links are
grouped into customers with :func:`customers`, so a case can show every channel's history.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from pipeline.fold import fold

logger = logging.getLogger(__name__)

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_GMAIL = {"gmail.com", "googlemail.com"}
_MIN_HANDLE = 4  # shorter handles ("ana", "jm") collide too often to mean anything
# Evidence weights, combined as independent signals (1 - product of misses).
WEIGHTS = {
    "email": 0.95,  # the same address, given in private on both platforms
    "email_handle": 0.6,  # one account's email local part is the other's handle
    "handle": 0.6,  # the same handle after normalisation
    "handle_stem": 0.35,  # the same handle once trailing digits are dropped
    "name": 0.45,  # the same full name (two words or more)
    # One account wrote on WhatsApp or by e-mail about the other's case (its reference, a reply).
    "same_case": 0.9,
}
# A large group sharing one key (e.g. a common name) is not evidence about any pair in it.
_MAX_GROUP = 20


@dataclass(frozen=True, slots=True)
class Identity:
    """An author account as seen on one platform, with emails it gave in private messages."""

    platform: str
    handle: str
    name: str | None = None
    emails: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.handle.casefold()}"


@dataclass(frozen=True, slots=True)
class LinkSuggestion:
    """Two accounts that look like the same customer, how sure we are, and why."""

    a: str  # Identity.key, the smaller of the two
    b: str
    confidence: float
    evidence: tuple[str, ...] = field(default=())
    signals: tuple[str, ...] = field(default=())  # the kinds of evidence (keys of WEIGHTS)


def normalise_handle(handle: str) -> str:
    """Lower case, no accents, no "@" or "u/" prefix, no separators: "@Ana_G" -> "anag"."""
    text = fold(handle).strip()
    text = re.sub(r"^(?:@|u/|/u/|user/)", "", text)
    return re.sub(r"[^a-z0-9]", "", text)


def handle_stem(handle: str) -> str:
    """The normalised handle without trailing digits: "anagarcia88" -> "anagarcia"."""
    return re.sub(r"\d+$", "", normalise_handle(handle))


def normalise_name(name: str | None) -> str | None:
    """A full name as sorted lower-case words without accents; None for one word or none."""
    if not name:
        return None
    words = re.findall(r"[a-z]+", fold(name))
    words = [w for w in words if len(w) > 1]
    return " ".join(sorted(words)) if len(words) >= 2 else None


def normalise_email(address: str) -> str:
    """Lower case, no "+tag"; for Gmail also no dots in the local part."""
    local, _, domain = address.strip().casefold().partition("@")
    local = local.split("+", 1)[0]
    if domain in _GMAIL:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def extract_emails(text: str) -> list[str]:
    """Email addresses written in a message, normalised, in order of appearance."""
    seen: dict[str, None] = {}
    for match in EMAIL.finditer(text):
        seen.setdefault(normalise_email(match.group(0)), None)
    return list(seen)


def suggest_links(
    identities: Iterable[Identity],
    *,
    min_confidence: float = 0.5,
    known: Collection[frozenset[str]] = (),
    conversations: Iterable[tuple[str, str, str]] = (),
) -> list[LinkSuggestion]:
    """Cross-platform link suggestions, strongest first.

    ``known`` holds pairs of keys already linked or rejected by an agent; they are not suggested
    again. Only accounts on different platforms are compared, and only those sharing a key
    (email, handle, name), so this is fast on large author tables. ``conversations`` are pairs of
    keys whose cases joined (a WhatsApp chat or an e-mail about the other's case), with the
    sentence that says so.
    """
    people = {i.key: i for i in identities}
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for key, person in people.items():
        for kind, value in _blocking_keys(person):
            groups[(kind, value)].add(key)
    evidence: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for (kind, value), members in groups.items():
        if len(members) < 2 or len(members) > _MAX_GROUP:
            continue
        for a, b in combinations(sorted(members), 2):
            if people[a].platform == people[b].platform or frozenset((a, b)) in known:
                continue
            reason = _describe(kind, value, people[a], people[b])
            if reason is not None:
                evidence[(a, b)].setdefault(_signal(kind, people[a], people[b], value), reason)
    for first, second, reason in conversations:
        a, b = sorted((first, second))
        comparable = a in people and b in people and people[a].platform != people[b].platform
        if comparable and frozenset((a, b)) not in known:
            evidence[(a, b)].setdefault("same_case", reason)
    suggestions = []
    for (a, b), signals in evidence.items():
        # a stem match adds nothing when the full handle already matches
        if "handle" in signals:
            signals.pop("handle_stem", None)
        miss = 1.0
        for signal in signals:
            miss *= 1 - WEIGHTS[signal]
        confidence = round(1 - miss, 3)
        if confidence >= min_confidence:
            suggestions.append(
                LinkSuggestion(a, b, confidence, tuple(signals.values()), tuple(signals))
            )
    suggestions.sort(key=lambda s: (-s.confidence, s.a, s.b))
    logger.debug("identity suggestions: %d", len(suggestions))
    return suggestions


def customers(keys: Iterable[str], links: Iterable[tuple[str, str]]) -> list[set[str]]:
    """Group account keys into customers from confirmed links (union-find); singletons included."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for key in keys:
        find(key)
    for a, b in links:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)
    groups: dict[str, set[str]] = defaultdict(set)
    for key in parent:
        groups[find(key)].add(key)
    return sorted(groups.values(), key=lambda g: min(g))


def _blocking_keys(person: Identity) -> Sequence[tuple[str, str]]:
    keys: list[tuple[str, str]] = []
    handle = normalise_handle(person.handle)
    if len(handle) >= _MIN_HANDLE:
        keys.append(("handle", handle))
        stem = handle_stem(person.handle)
        if len(stem) >= _MIN_HANDLE and stem != handle:
            keys.append(("handle", stem))  # so "anagarcia88" meets "anagarcia"
    name = normalise_name(person.name)
    if name:
        keys.append(("name", name))
    for address in person.emails:
        normal = normalise_email(address)
        keys.append(("email", normal))
        local = normalise_handle(normal.split("@", 1)[0])
        if len(local) >= _MIN_HANDLE:
            keys.append(("handle", local))
    return keys


def _signal(kind: str, a: Identity, b: Identity, value: str) -> str:
    """Name the evidence a shared blocking key gives for this pair."""
    if kind != "handle":
        return kind
    handle_a, handle_b = normalise_handle(a.handle), normalise_handle(b.handle)
    if handle_a == handle_b:
        return "handle"
    if _email_locals(a) & {handle_b, handle_stem(b.handle)} or _email_locals(b) & {
        handle_a,
        handle_stem(a.handle),
    }:
        return "email_handle"
    return "handle_stem"


def _email_locals(person: Identity) -> set[str]:
    return {normalise_handle(normalise_email(e).split("@", 1)[0]) for e in person.emails}


def _describe(kind: str, value: str, a: Identity, b: Identity) -> str | None:
    if kind == "email":
        if _emails(a) & _emails(b):
            return f"same email {value} given on {a.platform} and {b.platform}"
        return None
    if kind == "name":
        return f"same name {a.name!r} / {b.name!r}"
    if normalise_handle(a.handle) == normalise_handle(b.handle):
        return f"same handle {a.handle} / {b.handle}"
    if _email_locals(a) & {normalise_handle(b.handle), handle_stem(b.handle)}:
        return f"{b.handle} matches the email {a.platform} user gave"
    if _email_locals(b) & {normalise_handle(a.handle), handle_stem(a.handle)}:
        return f"{a.handle} matches the email {b.platform} user gave"
    if handle_stem(a.handle) == handle_stem(b.handle) or value in (
        handle_stem(a.handle),
        handle_stem(b.handle),
    ):
        return f"similar handles {a.handle} / {b.handle}"
    return None


def _emails(person: Identity) -> set[str]:
    return {normalise_email(e) for e in person.emails}
