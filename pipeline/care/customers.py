"""Customer 360 and agents: link one customer's accounts across platforms (with audit), suggest
links, and keep agents' on/off shift state that routing reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.care.identity import Identity, extract_emails, suggest_links
from pipeline.errors import CaseError
from pipeline.records import utcnow
from pipeline.settings import Settings
from pipeline.store import Cursor, Store, one, rows

Decision = Literal["linked", "rejected"]


@dataclass(frozen=True)
class Suggestion:
    a: str
    b: str
    confidence: float
    evidence: tuple[str, ...]


def _author(cur: Cursor, key: str) -> dict[str, Any]:
    found = one(cur, "SELECT * FROM authors WHERE key = ?", [key])
    if found is None:
        raise CaseError(f"no author {key!r}", hint="use keys like 'x:ana' from a mention or case")
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
        cur.execute(
            """INSERT INTO identity_links (a_key, b_key, decision, actor, reason, confidence,
                   created_at) VALUES (?, ?, ?, ?, ?, ?, ?)""",
            [a, b, decision, actor, reason, confidence, utcnow()],
        )
        if decision == "rejected":
            return {"decision": decision, "customer_id": None}
        existing = [c for c in (first["customer_id"], second["customer_id"]) if c]
        if existing:
            customer = existing[0]
        else:
            seq = cur.execute("SELECT nextval('customer_seq')").fetchone()
            assert seq is not None
            customer = f"P-{int(seq[0]):06d}"
        cur.execute(
            "UPDATE authors SET customer_id = ? WHERE key IN (?, ?)"
            " OR (customer_id IS NOT NULL AND customer_id IN (SELECT unnest(?)))",
            [customer, a, b, existing],
        )
    return {"decision": decision, "customer_id": customer}


def linked_accounts(store: Store, key: str) -> list[dict[str, Any]]:
    with store.read() as cur:
        author = _author(cur, key)
        if author["customer_id"] is None:
            return [author]
        return rows(
            cur, "SELECT * FROM authors WHERE customer_id = ? ORDER BY key", [author["customer_id"]]
        )


def suggestions(store: Store, *, min_confidence: float = 0.5, limit: int = 50) -> list[Suggestion]:
    """Accounts that look like the same customer, not yet decided on by an agent."""
    with store.read() as cur:
        authors = rows(cur, "SELECT key, platform, handle, name, customer_id FROM authors")
        inbound = rows(
            cur,
            """SELECT c.author_key, m.text FROM messages m JOIN cases c ON c.id = m.case_id
               WHERE m.direction = 'inbound'""",
        )
        decided = rows(cur, "SELECT a_key, b_key FROM identity_links")
    emails: dict[str, set[str]] = {}
    for message in inbound:
        emails.setdefault(message["author_key"], set()).update(extract_emails(message["text"]))
    by_identity: dict[str, dict[str, Any]] = {}
    identities = []
    for author in authors:
        identity = Identity(
            platform=author["platform"],
            handle=author["handle"],
            name=author["name"],
            emails=tuple(sorted(emails.get(author["key"], ()))),
        )
        by_identity[identity.key] = author
        identities.append(identity)
    known = {frozenset((d["a_key"], d["b_key"])) for d in decided}
    result = []
    for found in suggest_links(identities, min_confidence=min_confidence):
        a, b = by_identity[found.a], by_identity[found.b]
        if frozenset((a["key"], b["key"])) in known:
            continue
        if a["customer_id"] and a["customer_id"] == b["customer_id"]:
            continue
        result.append(Suggestion(a["key"], b["key"], found.confidence, found.evidence))
        if len(result) >= limit:
            break
    return result


def shift_overrides(cur: Cursor) -> dict[str, bool]:
    return dict(cur.execute("SELECT agent, on_shift FROM agent_shifts").fetchall())


def set_shift(store: Store, settings: Settings, agent: str, *, on_shift: bool, actor: str) -> None:
    known = {a.name for t in settings.teams for a in t.agents}
    if agent not in known:
        raise CaseError(f"no agent named {agent!r}", hint=f"configured agents: {sorted(known)}")
    with store.transaction() as cur:
        cur.execute(
            """INSERT INTO agent_shifts VALUES (?, ?, ?, ?) ON CONFLICT (agent) DO UPDATE SET
                   on_shift = excluded.on_shift, updated_by = excluded.updated_by,
                   updated_at = excluded.updated_at""",
            [agent, on_shift, actor, utcnow()],
        )


def agents(store: Store, settings: Settings) -> list[dict[str, Any]]:
    """Every configured agent with their team, open cases, capacity and shift state."""
    with store.read() as cur:
        loads: Mapping[str, int] = dict(
            cur.execute(
                "SELECT assignee, count(*) FROM cases WHERE assignee IS NOT NULL"
                " AND status NOT IN ('closed', 'dismissed') GROUP BY assignee"
            ).fetchall()
        )
        shifts = shift_overrides(cur)
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
