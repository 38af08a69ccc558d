"""Case actions: each checks the state machine, writes the case, its audit event and any reply
intent for the outbox in one transaction."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.care import csat, lifecycle, routing
from pipeline.errors import CaseError
from pipeline.records import OutboundMessage, utcnow
from pipeline.settings import Settings
from pipeline.store import Cursor, Store, one, rows
from pipeline.store import outbox as outbox_q

logger = logging.getLogger(__name__)

DM_PLATFORMS = frozenset({"x", "reddit"})
_CONTACT_LINE = {
    "es": "Escríbenos a {address} para seguir por privado.",
    "en": "Please write to us at {address} so we can continue in private.",
}


@dataclass(frozen=True)
class ActionRequest:
    actor: str
    text: str | None = None
    reason: str | None = None
    team: str | None = None
    level: str | None = None
    assignee: str | None = None
    direction: str | None = None  # "up" or "down": the next level with a fitting team


@dataclass(frozen=True)
class Preview:
    action: str
    kind: str
    platform: str
    visibility: str
    where: str
    recipient: str | None
    text: str
    lang: str


def get_case(cur: Cursor, case_id: str) -> dict[str, Any]:
    case = one(
        cur,
        """SELECT c.*, m.native_id AS mention_native_id, m.source AS source, m.text AS text
           FROM cases c JOIN mentions m ON m.key = c.mention_key WHERE c.id = ?""",
        [case_id],
    )
    if case is None:
        raise CaseError("no such case", case_id=case_id, hint="list cases with `escucha cases`")
    return case


def add_event(
    cur: Cursor,
    case_id: str,
    *,
    actor: str,
    action: str,
    from_status: str | None,
    to_status: str | None,
    detail: dict[str, Any] | None = None,
    outbox_id: int | None = None,
    at: datetime | None = None,
) -> None:
    cur.execute(
        """INSERT INTO case_events (case_id, created_at, actor, action, from_status, to_status,
               detail,
               outbox_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            case_id, at or utcnow(), actor, action, from_status, to_status,
            json.dumps(detail or {}, ensure_ascii=False, default=str), outbox_id,
        ],
    )  # fmt: skip


class CaseService:
    """Takes case actions on behalf of agents, community managers and the pipeline."""

    def __init__(self, store: Store, settings: Settings, *, clock: Any = utcnow) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock

    # -- composing replies -------------------------------------------------------------------
    def _private_channel(self, platform: str) -> str:
        return "dm" if platform in DM_PLATFORMS else self.settings.private_channel.kind

    def compose(self, case: dict[str, Any], action: str, text: str | None = None) -> Preview:
        """What ``action`` would post for ``case``, and where, in the customer's language."""
        if action not in lifecycle.POSTING_ACTIONS:
            raise CaseError(f"{action!r} does not post anything", case_id=case["id"])
        lang = case["lang"] if case["lang"] in self.settings.templates else None
        lang = lang or self.settings.default_language
        template = self.settings.template(lang)
        channel = self._private_channel(case["platform"])
        fields = {
            "author": _mention_name(case["author"], case["platform"]),
            "brand": case["brand"] or "",
            "address": self.settings.private_channel.address,
        }
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
            raise CaseError("the message is empty", case_id=case["id"], hint="write some text")
        if kind == "private_message":
            where = (
                f"private message to {case['author']} on {case['platform']}"
                if channel == "dm"
                else f"{channel} to {case['author']} ({self.settings.private_channel.address})"
            )
            return Preview(
                action, kind, case["platform"], "private", where, case["author"], text, lang
            )
        where = f"public reply in the thread of {case['mention_key']} on {case['platform']}"
        return Preview(action, kind, case["platform"], "public", where, None, text, lang)

    def preview(self, case_id: str, action: str) -> Preview:
        with self.store.read() as cur:
            case = get_case(cur, case_id)
        return self.compose(case, action)

    # -- actions ------------------------------------------------------------------------------
    def act(self, case_id: str, action: str, request: ActionRequest) -> dict[str, Any]:
        """Take ``action`` on the case; raises CaseError when the state does not allow it."""
        if action not in lifecycle.TRANSITIONS:
            raise CaseError(
                f"unknown action {action!r}",
                case_id=case_id,
                hint=f"use one of: {', '.join(lifecycle.ACTIONS)}",
            )
        if not request.actor.strip():
            raise CaseError("say who takes the action (actor)", case_id=case_id)
        now = self.clock()
        with self.store.transaction() as cur:
            case = get_case(cur, case_id)
            status = case["status"]
            if not lifecycle.allowed(action, status):
                possible = ", ".join(lifecycle.actions_from(status)) or "none"
                raise CaseError(
                    f"cannot {action} a case that is {status}",
                    case_id=case_id,
                    hint=f"allowed now: {possible}",
                )
            deflected = case["deflected_at"] is not None
            target = lifecycle.next_status(action, status, deflected=deflected)
            updates: dict[str, Any] = {"status": target, "updated_at": now}
            detail: dict[str, Any] = {}
            outbox_id: int | None = None
            if action in lifecycle.POSTING_ACTIONS:
                preview = self.compose(case, action, request.text)
                outbox_id = self._enqueue(cur, case, preview, now)
                detail.update(text=preview.text, where=preview.where, lang=preview.lang)
                if case["first_response_at"] is None:
                    updates["first_response_at"] = now
                if action == "private_message":
                    updates["deflected_at"] = case["deflected_at"] or now
                    updates["private_channel"] = self._private_channel(case["platform"])
                    updates["sla_paused_at"] = now  # waiting for the customer
                if action == "close_public":
                    updates["closed_public_at"] = now
            elif action == "customer_reply":
                if not request.text:
                    raise CaseError("record the customer's words in `text`", case_id=case_id)
                self._record_inbound(cur, case, request.text, now, native_id=None)
                updates.update(_unpause(case, now))
                detail["text"] = request.text
            elif action == "resolve":
                updates["resolved_at"] = now
                updates["sla_paused_at"] = None
            elif action == "close":
                updates["closed_at"] = now
                survey = self._csat_survey(cur, case, now)
                if survey is not None:
                    outbox_id = survey
                    detail["csat_survey"] = True
            elif action == "dismiss":
                if not (request.reason or "").strip():
                    raise CaseError(
                        "dismissing needs a reason", case_id=case_id, hint="e.g. 'spam'"
                    )
                updates["dismiss_reason"] = request.reason
                updates["closed_at"] = now
                detail["reason"] = request.reason
            elif action == "escalate":
                detail.update(self._escalation(case, request))
                updates["team"] = detail["to_team"]
                updates["level"] = detail["to_level"]
                if request.assignee is not None:
                    updates["assignee"] = request.assignee
            elif action == "assign":
                if not request.assignee:
                    raise CaseError("say who to assign the case to", case_id=case_id)
                updates["assignee"] = request.assignee
                detail.update(assignee=request.assignee, previous=case["assignee"])
            elif action == "reopen":
                updates.update(resolved_at=None, closed_public_at=None, closed_at=None)
                updates["dismiss_reason"] = None
                if request.reason:
                    detail["reason"] = request.reason
            _update_case(cur, case_id, updates)
            add_event(
                cur, case_id, actor=request.actor, action=action, from_status=status,
                to_status=target, detail=detail, outbox_id=outbox_id, at=now,
            )  # fmt: skip
        logger.info("case %s: %s (%s -> %s)", case_id, action, status, target)
        return self.detail(case_id)

    def _csat_survey(self, cur: Cursor, case: dict[str, Any], now: datetime) -> int | None:
        """Ask the one-question survey in the private channel, in the customer's language."""
        if case["deflected_at"] is None:
            return None
        lang = case["lang"] if case["lang"] in self.settings.templates else None
        lang = lang or self.settings.default_language
        text = self.settings.template(lang).csat
        if not text:
            return None
        channel = self._private_channel(case["platform"])
        where = f"survey to {case['author']} ({channel})"
        preview = Preview(
            "csat", "private_message", case["platform"], "private", where, case["author"],
            _fill(text, self._fields(case)), lang,
        )  # fmt: skip
        return self._enqueue(cur, case, preview, now, purpose="csat")

    def _fields(self, case: dict[str, Any]) -> dict[str, str]:
        return {
            "author": _mention_name(case["author"], case["platform"]),
            "brand": case["brand"] or "",
            "address": self.settings.private_channel.address,
        }

    def _escalation(self, case: dict[str, Any], request: ActionRequest) -> dict[str, Any]:
        if not (request.reason or "").strip():
            raise CaseError("escalating needs a reason", case_id=case["id"])
        if request.direction in ("up", "down") and not request.team and case["team"]:
            facts = routing.CaseFacts(
                language=case["lang"], platform=case["platform"], brand=case["brand"]
            )
            move = routing.escalate(
                self.settings.levels, self.settings.teams, self.settings.team(case["team"]),
                facts, reason=request.reason or "", direction=request.direction,  # type: ignore[arg-type]
            )  # fmt: skip
            return {
                "reason": request.reason, "direction": request.direction,
                "from_team": move.from_team, "to_team": move.to_team,
                "from_level": move.from_level, "to_level": move.to_level,
            }  # fmt: skip
        team = request.team or case["team"]
        if team is not None:
            known = {t.name for t in self.settings.teams}
            if team not in known:
                raise CaseError(
                    f"unknown team {team!r}", case_id=case["id"], hint=str(sorted(known))
                )
        level = request.level or (self.settings.team(team).level if team else case["level"])
        if level is not None and level not in self.settings.levels:
            raise CaseError(f"unknown level {level!r}", case_id=case["id"])
        if team == case["team"] and level == case["level"]:
            raise CaseError("escalation needs another team or level", case_id=case["id"])
        return {
            "reason": request.reason,
            "from_team": case["team"],
            "to_team": team,
            "from_level": case["level"],
            "to_level": level,
        }

    def _enqueue(
        self,
        cur: Cursor,
        case: dict[str, Any],
        preview: Preview,
        now: datetime,
        *,
        purpose: str | None = None,
    ) -> int:
        sequence = outbox_q.count_for_case(cur, case["id"], preview.kind) + 1
        message = OutboundMessage(
            kind=preview.kind,  # type: ignore[arg-type]
            platform=case["platform"],
            text=preview.text,
            idempotency_key=f"{case['id']}:{purpose or preview.kind}:{sequence}",
            in_reply_to=case["mention_native_id"] if preview.visibility == "public" else None,
            recipient=case["author"] if preview.visibility == "private" else None,
            private_channel=self._private_channel(case["platform"])
            if preview.visibility == "private"
            else None,
            case_id=case["id"],
        )
        outbox_id = outbox_q.enqueue(
            cur, message, source=case["source"], lang=preview.lang, now=now
        )
        cur.execute(
            """INSERT INTO messages (case_id, direction, visibility, platform, author, text, lang,
                   created_at, outbox_id) VALUES (?, 'outbound', ?, ?, ?, ?, ?, ?, ?)""",
            [
                case["id"], preview.visibility, case["platform"], case["brand"] or "brand",
                preview.text, preview.lang, now, outbox_id,
            ],
        )  # fmt: skip
        return outbox_id

    def _record_inbound(
        self, cur: Cursor, case: dict[str, Any], text: str, at: datetime, native_id: str | None
    ) -> None:
        cur.execute(
            """INSERT INTO messages (case_id, direction, visibility, platform, native_id, author,
                   text, lang, created_at) VALUES (?, 'inbound', 'private', ?, ?, ?, ?, ?, ?)""",
            [case["id"], case["platform"], native_id, case["author"], text, case["lang"], at],
        )

    def record_customer_message(
        self, case_id: str, text: str, *, native_id: str | None, at: datetime
    ) -> str:
        """A private message from the customer arrived; returns the case's new status."""
        with self.store.transaction() as cur:
            case = get_case(cur, case_id)
            status = case["status"]
            if native_id and one(
                cur,
                "SELECT id FROM messages WHERE native_id = ? AND case_id = ?",
                [native_id, case_id],
            ):
                return str(status)
            self._record_inbound(cur, case, text, at, native_id)
            target = status
            updates: dict[str, Any] = {"updated_at": self.clock()}
            if status == "closed" and case["csat_score"] is None:
                reading = csat.parse_reply(text)
                if reading.score is not None:
                    updates["csat_score"] = reading.score
                    add_event(
                        cur, case_id, actor=f"customer:{case['author']}", action="csat",
                        from_status=status, to_status=status,
                        detail={"score": reading.score, "reason": reading.reason, "text": text},
                    )  # fmt: skip
                    _update_case(cur, case_id, updates)
                    return str(status)
            if lifecycle.allowed("customer_reply", status):
                target = lifecycle.next_status("customer_reply", status, deflected=True)
                updates.update(_unpause(case, at))
                updates["status"] = target
            add_event(
                cur, case_id, actor=f"customer:{case['author']}", action="customer_reply",
                from_status=status, to_status=target, detail={"text": text, "native_id": native_id},
            )  # fmt: skip
            _update_case(cur, case_id, updates)
            return str(target)

    # -- reading ------------------------------------------------------------------------------
    def detail(self, case_id: str) -> dict[str, Any]:
        with self.store.read() as cur:
            case = get_case(cur, case_id)
            mention = one(cur, _MENTION_SQL + " WHERE m.key = ?", [case["mention_key"]])
            thread_key = (mention or {}).get("thread_key") or case["mention_key"]
            thread = rows(
                cur,
                _MENTION_SQL + " WHERE m.thread_key = ? OR m.key = ? ORDER BY m.created_at",
                [thread_key, thread_key],
            )
            attached = rows(
                cur,
                _MENTION_SQL + " JOIN case_mentions cm ON cm.mention_key = m.key"
                " WHERE cm.case_id = ? ORDER BY m.created_at",
                [case_id],
            )
            author = one(cur, "SELECT * FROM authors WHERE key = ?", [case["author_key"]])
            history = author_history(cur, case["author_key"], exclude_case=case_id)
            events = rows(cur, "SELECT * FROM case_events WHERE case_id = ? ORDER BY id", [case_id])
            messages = rows(cur, "SELECT * FROM messages WHERE case_id = ? ORDER BY id", [case_id])
            outbox = rows(cur, "SELECT * FROM outbox WHERE case_id = ? ORDER BY id", [case_id])
        for event in events:
            event["detail"] = json.loads(event["detail"]) if event["detail"] else {}
        case["actions"] = lifecycle.actions_from(case["status"])
        return {
            "case": case,
            "mention": mention,
            "thread": thread,
            "mentions": attached,
            "author": author,
            "history": history,
            "events": events,
            "messages": messages,
            "outbox": outbox,
        }


_MENTION_SQL = """SELECT m.key, m.platform, m.native_id, m.source, m.kind, m.brand, m.text,
    m.title, m.url, coalesce(m.lang, m.lang_hint) AS lang, m.author, m.author_key,
    m.author_followers, m.created_at, m.rating, m.likes, m.replies, m.shares, m.parent_key,
    m.thread_key, s.sentiment, s.p_negative, s.p_neutral, s.p_positive, s.complaint, s.intent,
    s.urgency_score, s.urgency_level, s.urgency_reasons
    FROM mentions m LEFT JOIN scores s
      ON s.mention_key = m.key AND s.scored_at = (
         SELECT max(scored_at) FROM scores s2 WHERE s2.mention_key = m.key)"""


def author_history(
    cur: Cursor, author_key: str, *, exclude_case: str | None = None
) -> list[dict[str, Any]]:
    """The author's cases and mentions on every channel linked to the same customer."""
    linked = rows(
        cur,
        """SELECT key FROM authors WHERE key = ? OR (customer_id IS NOT NULL AND customer_id =
               (SELECT customer_id FROM authors WHERE key = ?))""",
        [author_key, author_key],
    )
    keys = [r["key"] for r in linked] or [author_key]
    return rows(
        cur,
        """SELECT 'case' AS type, c.id AS ref, c.platform, c.status AS detail,
                  c.opened_at AS happened_at
               FROM cases c WHERE c.author_key IN (SELECT unnest(?)) AND c.id <> ?
           UNION ALL
           SELECT 'mention', m.key, m.platform, left(m.text, 140), m.created_at
               FROM mentions m WHERE m.author_key IN (SELECT unnest(?))
           ORDER BY happened_at DESC LIMIT 50""",
        [keys, exclude_case or "", keys],
    )


def _unpause(case: dict[str, Any], at: datetime) -> dict[str, Any]:
    paused = case["sla_paused_at"]
    if paused is None:
        return {}
    updates: dict[str, Any] = {"sla_paused_at": None}
    if case["resolution_due"] is not None and at > paused:
        updates["resolution_due"] = case["resolution_due"] + (at - paused)
    return updates


_CASE_COLUMNS = frozenset(
    {
        "status", "updated_at", "first_response_at", "deflected_at", "private_channel",
        "sla_paused_at", "closed_public_at", "resolved_at", "closed_at", "dismiss_reason",
        "team", "level", "assignee", "resolution_due", "csat_score", "sla_breached",
        "urgency_level", "urgency_score", "priority",
    }
)  # fmt: skip


def _update_case(cur: Cursor, case_id: str, updates: dict[str, Any]) -> None:
    unknown = set(updates) - _CASE_COLUMNS
    if unknown:
        raise ValueError(f"not case columns: {sorted(unknown)}")
    columns = sorted(updates)
    assignments = ", ".join(f"{column} = ?" for column in columns)  # names from the allow-list
    cur.execute(
        f"UPDATE cases SET {assignments} WHERE id = ?", [*(updates[c] for c in columns), case_id]
    )


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
