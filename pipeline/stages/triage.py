"""Triage: rules flag scored mentions, open a case or join the author's open case, route it to a
team and level, and start its SLA clocks in business hours."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipeline.care import routing
from pipeline.care.cases import add_event
from pipeline.care.routing import CaseFacts
from pipeline.care.sla import BusinessCalendar
from pipeline.fold import fold
from pipeline.records import utcnow
from pipeline.settings import RuleSettings, Settings, TeamSettings
from pipeline.store import Cursor, Store, one, rows

logger = logging.getLogger(__name__)


@dataclass
class TriageResult:
    opened: list[str] = field(default_factory=list)
    attached: int = 0
    reopened: int = 0
    ignored: int = 0


def matching_rule(rules: list[RuleSettings], mention: dict[str, Any]) -> RuleSettings | None:
    """The first rule whose every condition holds for the scored mention."""
    net = float(mention["p_positive"] or 0) - float(mention["p_negative"] or 0)
    folded = fold(mention["text"] or "")
    for rule in rules:
        if rule.platforms and mention["platform"] not in rule.platforms:
            continue
        if rule.brands and mention["brand"] not in rule.brands:
            continue
        if rule.intents and mention["intent"] not in rule.intents:
            continue
        if rule.min_urgency_level is not None and mention["urgency_level"] < rule.min_urgency_level:
            continue
        if rule.max_net_sentiment is not None and net > rule.max_net_sentiment:
            continue
        if rule.min_complaint is not None and mention["complaint"] < rule.min_complaint:
            continue
        if (
            rule.min_followers is not None
            and (mention["author_followers"] or 0) < rule.min_followers
        ):
            continue
        if rule.keywords and not any(fold(k) in folded for k in rule.keywords):
            continue
        return rule
    return None


def choose_team(settings: Settings, rule: RuleSettings, mention: dict[str, Any]) -> TeamSettings:
    """The rule's team, else the team that best fits language, platform and brand."""
    if rule.team:
        return settings.team(rule.team)
    facts = CaseFacts(
        language=mention["lang"], platform=mention["platform"], brand=mention["brand"]
    )
    return routing.choose_team(settings.teams, facts) or settings.teams[0]


def choose_agent(cur: Cursor, team: TeamSettings, lang: str | None) -> routing.Assignment | None:
    """Least-loaded on-shift agent who speaks the language; ties round-robin from the last one."""
    loads = dict(
        cur.execute(
            """SELECT assignee, count(*) FROM cases WHERE team = ? AND assignee IS NOT NULL
               AND status NOT IN ('closed', 'dismissed') GROUP BY assignee""",
            [team.name],
        ).fetchall()
    )
    last = cur.execute(
        "SELECT assignee FROM cases WHERE team = ? AND assignee IS NOT NULL"
        " ORDER BY opened_at DESC, id DESC LIMIT 1",
        [team.name],
    ).fetchone()
    shifts = dict(cur.execute("SELECT agent, on_shift FROM agent_shifts").fetchall())
    return routing.choose_agent(
        team,
        CaseFacts(language=lang),
        loads,
        last_assigned=last[0] if last else None,
        shifts=shifts,
    )


def triage_pending(
    store: Store,
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    batch: int = 200,
) -> TriageResult:
    result = TriageResult()
    own = settings.own_brands()
    with store.read() as cur:
        pending = rows(
            cur,
            """SELECT m.key, m.platform, m.kind, m.brand, m.text, m.lang, m.author, m.author_key,
                   m.author_followers, m.created_at, s.sentiment, s.p_positive, s.p_negative,
                   s.complaint, s.intent, s.urgency_score, s.urgency_level, s.urgency_reasons
               FROM mentions m JOIN scores s ON s.mention_key = m.key
               WHERE m.stage = 'scored' ORDER BY m.created_at LIMIT ?""",
            [batch],
        )
    ignored: list[str] = []
    # Our own replies come back from platform searches: they never open cases.
    ours = {fold(h).lstrip("@").removeprefix("u/") for b in settings.brands for h in b.handles}
    # Backfilled history is for listening, not for the queue; press articles have no customer
    # to answer (they drive alerts instead).
    oldest = clock() - settings.service.case_max_age
    for mention in pending:
        author = fold(mention["author"]).lstrip("@").removeprefix("u/")
        answerable = (
            mention["brand"] in own
            and author not in ours
            and mention["kind"] != "article"
            and mention["created_at"] >= oldest
        )
        rule = matching_rule(settings.rules, mention) if answerable else None
        if rule is None or rule.action == "ignore":
            ignored.append(mention["key"])
            continue
        with store.transaction() as cur:
            outcome = _open_or_join(cur, settings, rule, mention, clock())
            cur.execute("UPDATE mentions SET stage = 'triaged' WHERE key = ?", [mention["key"]])
        if outcome.startswith("C-"):
            result.opened.append(outcome)
        elif outcome == "reopened":
            result.reopened += 1
        else:
            result.attached += 1
    if ignored:
        with store.transaction() as cur:
            cur.execute(
                "UPDATE mentions SET stage = 'triaged' WHERE key IN (SELECT unnest(?))", [ignored]
            )
        result.ignored = len(ignored)
    return result


def _open_or_join(
    cur: Cursor, settings: Settings, rule: RuleSettings, mention: dict[str, Any], now: datetime
) -> str:
    existing = one(
        cur,
        """SELECT id, status, deflected_at, urgency_level FROM cases
           WHERE author_key = ? AND status NOT IN ('closed', 'dismissed')
           ORDER BY opened_at DESC LIMIT 1""",
        [mention["author_key"]],
    )
    if existing is not None:
        case_id = existing["id"]
        cur.execute(
            "INSERT INTO case_mentions VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [case_id, mention["key"], now],
        )
        detail = {"mention": mention["key"], "rule": rule.name}
        if mention["urgency_level"] > existing["urgency_level"]:
            cur.execute(
                "UPDATE cases SET urgency_level = ?, urgency_score = ?, urgency_reasons = ?"
                " WHERE id = ?",
                [
                    mention["urgency_level"],
                    mention["urgency_score"],
                    mention["urgency_reasons"],
                    case_id,
                ],
            )
        if existing["status"] in ("resolved", "closed_public"):
            target = "in_private" if existing["deflected_at"] else "new"
            cur.execute(
                "UPDATE cases SET status = ?, resolved_at = NULL, closed_public_at = NULL,"
                " updated_at = ? WHERE id = ?",
                [target, now, case_id],
            )
            add_event(
                cur, case_id, actor="pipeline", action="reopen", from_status=existing["status"],
                to_status=target, detail={**detail, "why": "the customer wrote again"}, at=now,
            )  # fmt: skip
            return "reopened"
        add_event(
            cur, case_id, actor="pipeline", action="mention_attached",
            from_status=existing["status"], to_status=existing["status"], detail=detail, at=now,
        )  # fmt: skip
        return "attached"
    team = choose_team(settings, rule, mention)
    calendar = BusinessCalendar.from_team(team)
    opened = max(mention["created_at"], now) if mention["created_at"] > now else now
    seq = cur.execute("SELECT nextval('case_seq')").fetchone()
    assert seq is not None
    case_id = f"C-{int(seq[0]):06d}"
    assignment = choose_agent(cur, team, mention["lang"])
    assignee = assignment.agent if assignment else None
    cur.execute(
        """INSERT INTO cases (id, status, brand, platform, lang, author_key, author, mention_key,
               rule, team, level, assignee, priority, urgency_level, urgency_score,
               urgency_reasons, opened_at, updated_at, first_response_due, resolution_due)
           VALUES (?, 'new', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            case_id, mention["brand"], mention["platform"], mention["lang"],
            mention["author_key"], mention["author"], mention["key"], rule.name, team.name,
            team.level, assignee, rule.priority, mention["urgency_level"],
            mention["urgency_score"], mention["urgency_reasons"], opened, now,
            calendar.add(opened, team.sla.first_response),
            calendar.add(opened, team.sla.resolution),
        ],
    )  # fmt: skip
    cur.execute("INSERT INTO case_mentions VALUES (?, ?, ?)", [case_id, mention["key"], now])
    add_event(
        cur, case_id, actor="pipeline", action="open", from_status=None, to_status="new",
        detail={
            "rule": rule.name, "team": team.name, "level": team.level, "assignee": assignee,
            "assignment": assignment.reason if assignment else "no agent available",
            "urgency_level": mention["urgency_level"],
            "reasons": list(mention["urgency_reasons"] or []),
        },
        at=now,
    )  # fmt: skip
    logger.info("opened case %s (rule %s, team %s)", case_id, rule.name, team.name)
    return case_id
