"""Customer 360 and agents: link one customer's accounts across platforms (with audit), suggest
links, and keep agents' on/off shift state that routing reads."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pipeline.care import windows
from pipeline.care.identity import Identity, extract_emails, suggest_links
from pipeline.errors import CaseError, Conflict, NotFound
from pipeline.records import utcnow
from pipeline.settings import Settings
from pipeline.store import Cursor, Store
from pipeline.store import cases as case_q
from pipeline.store import people as q
from pipeline.store import webhooks as webhooks_q

Decision = Literal["linked", "rejected"]


@dataclass(frozen=True)
class Suggestion:
    a: str
    b: str
    confidence: float
    evidence: tuple[str, ...]
    signals: tuple[str, ...] = ()  # the kinds of evidence: email, email_handle, handle, ...


def _author(cur: Cursor, key: str) -> dict[str, Any]:
    found = q.author(cur, key)
    if found is None:
        raise NotFound(f"no author {key!r}", hint="use keys like 'x:ana' from a mention or case")
    return found


def decide_link(
    store: Store,
    a: str,
    b: str,
    *,
    decision: Decision,
    actor: str,
    reason: str | None = None,
    confidence: float | None = None,
) -> dict[str, Any]:
    """Record an agent's decision; a link merges both accounts into one customer."""
    if a == b:
        raise CaseError("an account cannot be linked to itself")
    with store.transaction() as cur:
        first, second = _author(cur, a), _author(cur, b)
        q.record_link_decision(
            cur, a, b, decision=decision, actor=actor, reason=reason, confidence=confidence,
            at=utcnow(),
        )  # fmt: skip
        if decision == "rejected":
            return {"decision": decision, "customer_id": None}
        existing = [c for c in (first["customer_id"], second["customer_id"]) if c]
        customer = existing[0] if existing else q.new_customer_id(cur)
        q.link(cur, customer, [a, b], existing)
    return {"decision": decision, "customer_id": customer}


def undo_link(
    store: Store, a: str, b: str, *, actor: str, reason: str | None = None
) -> dict[str, Any]:
    """Take the account ``b`` back out of the customer it shares with ``a``: every standing link
    of ``b`` inside that customer is recorded as 'unlinked' (who, when), and the pair may be
    suggested again."""
    if a == b:
        raise CaseError("an account cannot be unlinked from itself")
    with store.transaction() as cur:
        first, second = _author(cur, a), _author(cur, b)
        customer = first["customer_id"]
        if customer is None or customer != second["customer_id"]:
            raise Conflict(
                f"{a} and {b} are not linked into one customer",
                hint="only accounts shown together as one customer can be unlinked",
            )
        members = {row["key"] for row in q.customer_accounts(cur, customer)}
        pairs = [
            (link["a_key"], link["b_key"])
            for link in q.confirmed_links(cur, [b])
            if {link["a_key"], link["b_key"]} <= members
        ] or [(a, b)]
        at = utcnow()
        for left, right in pairs:
            q.record_link_decision(
                cur, left, right, decision="unlinked", actor=actor, reason=reason,
                confidence=None, at=at,
            )  # fmt: skip
        q.leave_customer(cur, b)
    return {"decision": "unlinked", "customer_id": customer, "account": b, "undone": len(pairs)}


def customer_view(store: Store, key: str) -> dict[str, Any]:
    """One customer seen from one of their accounts: the accounts (with their reach), the links
    standing between them (who confirmed, when), and every case of every account with its
    outcome."""
    accounts = linked_accounts(store, key)
    keys = [str(account["key"]) for account in accounts]
    with store.read() as cur:
        links = q.confirmed_links(cur, keys) if len(keys) > 1 else []
        cases = q.cases_of_accounts(cur, keys)
    return {"accounts": accounts, "links": links, "cases": cases}


def linked_accounts(store: Store, key: str) -> list[dict[str, Any]]:
    with store.read() as cur:
        author = _author(cur, key)
        if author["customer_id"] is None:
            return [author]
        return q.customer_accounts(cur, author["customer_id"])


def suggestions(
    store: Store,
    *,
    min_confidence: float = 0.5,
    limit: int = 50,
    accounts: Collection[str] | None = None,
) -> list[Suggestion]:
    """Accounts that look like the same customer, not yet decided on by an agent (only pairs
    with one of ``accounts`` in them, when given)."""
    with store.read() as cur:
        authors = q.authors(cur)
        inbound = q.inbound_texts(cur)
        decided = q.decided_pairs(cur)
        joined = q.case_conversations(cur)
    emails: dict[str, set[str]] = {}
    for author_key, text in inbound:
        emails.setdefault(author_key, set()).update(extract_emails(text))
    for author in authors:  # an e-mail account is its own address
        if author["platform"] == "email":
            emails.setdefault(author["key"], set()).add(author["handle"])
    by_identity: dict[str, dict[str, Any]] = {}
    identity_of: dict[str, str] = {}  # author key -> identity key (a page-scoped id or a handle)
    identities = []
    for author in authors:
        identity = Identity(
            platform=author["platform"],
            handle=author["handle"],
            name=author["name"],
            emails=tuple(sorted(emails.get(author["key"], ()))),
        )
        by_identity[identity.key] = author
        identity_of[author["key"]] = identity.key
        identities.append(identity)
    conversations = [
        (identity_of[row["author_key"]], identity_of[row["account"]],
         f"wrote on {row['channel']} about case {row['case_id']} (its reference or a reply)")
        for row in joined
        if row["author_key"] in identity_of and row["account"] in identity_of
    ]  # fmt: skip
    known = {frozenset(pair) for pair in decided}
    result = []
    found_links = suggest_links(
        identities, min_confidence=min_confidence, conversations=conversations
    )
    for found in found_links:
        a, b = by_identity[found.a], by_identity[found.b]
        if frozenset((a["key"], b["key"])) in known:
            continue
        if a["customer_id"] and a["customer_id"] == b["customer_id"]:
            continue
        if accounts is not None and not {a["key"], b["key"]} & set(accounts):
            continue
        result.append(
            Suggestion(a["key"], b["key"], found.confidence, found.evidence, found.signals)
        )
        if len(result) >= limit:
            break
    return result


@dataclass(frozen=True)
class Reach:
    """Where a customer can be reached in private now, and why."""

    channel: str  # whatsapp, email
    address: str  # the WhatsApp number or e-mail address
    reason: str
    template_only: bool = False  # WhatsApp outside its window: approved templates only


def reachable(store: Store, author_key: str, now: datetime) -> Reach | None:
    """The private channel on which the customer behind ``author_key`` can be reached now,
    among their linked accounts who wrote to us (opted in): WhatsApp inside its 24-hour window
    first, then e-mail, then WhatsApp by template. None when none of their accounts is there."""
    with store.read() as cur:
        found = q.author(cur, author_key)
        if found is None:
            return None
        keys = [author_key]
        if found["customer_id"]:
            keys = [a["key"] for a in q.customer_accounts(cur, found["customer_id"])]
        accounts = [a for a in q.channel_accounts(cur, keys) if a["opted_in_at"] is not None]
        last = {a["key"]: webhooks_q.last_inbound_from(cur, a["platform"], a["handle"])
                for a in accounts}  # fmt: skip
    choices: list[tuple[int, Reach]] = []
    for account in accounts:
        if account["platform"] == "whatsapp":
            window = windows.messaging("whatsapp", last[account["key"]], now=now)
            if window is not None and window.open:
                choices.append((0, Reach("whatsapp", account["handle"], window.reason)))
            else:
                reason = "wrote on WhatsApp more than 24 hours ago: approved templates only"
                choices.append((2, Reach("whatsapp", account["handle"], reason, True)))
        elif account["platform"] == "email":
            choices.append((1, Reach("email", account["handle"], "wrote to us by e-mail")))
    return min(choices, key=lambda c: c[0])[1] if choices else None


def set_shift(store: Store, settings: Settings, agent: str, *, on_shift: bool, actor: str) -> None:
    known = {a.name for t in settings.teams for a in t.agents}
    if agent not in known:
        raise NotFound(f"no agent named {agent!r}", hint=f"configured agents: {sorted(known)}")
    with store.transaction() as cur:
        q.set_shift(cur, agent, on_shift=on_shift, actor=actor, at=utcnow())


def agents(store: Store, settings: Settings) -> list[dict[str, Any]]:
    """Every configured agent with their team, open cases, capacity and shift state."""
    with store.read() as cur:
        loads: Mapping[str, int] = case_q.open_loads(cur)
        shifts = q.shift_overrides(cur)
    return [
        {
            "name": agent.name,
            "team": team.name,
            "level": team.level,
            "languages": agent.languages or team.languages,
            "capacity": agent.capacity,
            "open_cases": int(loads.get(agent.name, 0)),
            "on_shift": shifts.get(agent.name, agent.on_shift),
        }
        for team in settings.teams
        for agent in team.agents
    ]
