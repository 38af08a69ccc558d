"""Cases: the one writer of a case's status and marks. Each action checks the state machine and
writes the case, its audit event and any reply intent for the outbox in one transaction; triage
hands its decisions here to open or join a case, and the alert watcher to mark SLA breaches."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from pipeline.care import csat, customers, lifecycle, routing, sla, windows
from pipeline.care.replies import Preview, Replies
from pipeline.errors import CaseError, CaseNotFound
from pipeline.records import DeliveryStatus, InboundMessage, OutboundMessage, make_key, utcnow
from pipeline.settings import RuleSettings, Settings, TeamSettings
from pipeline.store import Cursor, Store
from pipeline.store import cases as q
from pipeline.store import outbox as outbox_q
from pipeline.store import people as people_q
from pipeline.store import webhooks as webhooks_q
from pipeline.store.cases import CaseRef, CaseRow, SlaBreach
from pipeline.store.mentions import ScoredMention

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# A case's reference as customers see it (the ids ``store.cases.next_id`` gives): a WhatsApp chat
# opened from the click-to-chat link, or an e-mail subject "[C-000123]", joins that case.
CASE_REFERENCE = re.compile(r"\bC-\d{6}\b")
# Private channels with their own connector: a case's messages there go through that source.
CHANNEL_PLATFORMS = frozenset({"whatsapp", "email"})
# Platforms whose private messages follow Meta's rules (care/windows): a private reply, then DMs.
META_PLATFORMS = frozenset({"facebook", "instagram"})
# The purpose of an outbox intent that goes as WhatsApp's approved template (in its key).
TEMPLATE_PURPOSE = "whatsapp_template"


def is_template(message: OutboundMessage) -> bool:
    """Whether this intent was composed as WhatsApp's approved template (outside its window)."""
    return message.idempotency_key.split(":")[1:2] == [TEMPLATE_PURPOSE]


@dataclass(frozen=True)
class ActionRequest:
    actor: str
    text: str | None = None
    reason: str | None = None
    team: str | None = None
    level: str | None = None
    assignee: str | None = None
    direction: str | None = None  # "up" or "down": the next level with a fitting team
    # acknowledge / private_message: the private channel to take the conversation to
    # ("dm", "whatsapp", "email", "web_form"; one of ``Replies.channels``); None keeps the case's.
    channel: str | None = None


def get_case(cur: Cursor, case_id: str) -> CaseRow:
    case = q.get(cur, case_id)
    if case is None:
        raise CaseNotFound(case_id, hint="list cases with `escucha cases`")
    return case


def customer_case(
    cur: Cursor,
    platform: str,
    *,
    author_key: str | None = None,
    handle: str | None = None,
    open_only: bool,
) -> CaseRef | None:
    """This customer's case on ``platform`` (an open one first, then the newest).

    The one rule for "whose case is this": the author's key (``platform:id``) or, because
    platforms name a person by id in one place and by handle in another (a post vs. a DM), the
    handle, case-insensitively and without a leading '@' or 'u/'.
    """
    keys = [author_key] if author_key else []
    bare = handle.strip().lstrip("@").removeprefix("u/") if handle else None
    if bare:
        keys.append(make_key(platform, bare.lower()))
    found = q.customer_cases(cur, platform, author_keys=keys, handle=bare, open_only=open_only)
    return found[0] if found else None


class Desk:
    """Who may take a case now, within one transaction: each team's open cases per agent, its
    round-robin position and the shift overrides, read once and kept up to date as cases are
    given out (triage opens a batch of cases this way)."""

    def __init__(self, cur: Cursor) -> None:
        self.cur = cur
        self.shifts: dict[str, bool] | None = None
        self.loads: dict[str, dict[str, int]] = {}
        self.last: dict[str, str | None] = {}

    def choose(self, team: TeamSettings, lang: str | None) -> routing.Assignment | None:
        """The least-loaded on-shift agent of ``team`` who speaks ``lang``; ties round-robin."""
        if self.shifts is None:
            self.shifts = people_q.shift_overrides(self.cur)
        if team.name not in self.loads:
            self.loads[team.name] = q.open_loads(self.cur, team.name)
            self.last[team.name] = q.last_assignee(self.cur, team.name)
        loads = self.loads[team.name]
        assignment = routing.choose_agent(
            team, routing.CaseFacts(language=lang), loads, last_assigned=self.last[team.name],
            shifts=self.shifts,
        )  # fmt: skip
        if assignment is not None:
            loads[assignment.agent] = loads.get(assignment.agent, 0) + 1
            self.last[team.name] = assignment.agent
        return assignment


class CaseService:
    """Takes case actions on behalf of agents, community managers and the pipeline."""

    def __init__(self, store: Store, settings: Settings, *, clock: Clock = utcnow) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.replies = Replies(settings)

    # -- opening ------------------------------------------------------------------------------
    def open_or_join(
        self,
        cur: Cursor,
        mention: ScoredMention,
        *,
        rule: RuleSettings,
        team: TeamSettings,
        desk: Desk | None = None,
    ) -> str:
        """Triage's decision, carried out in the caller's transaction: join the customer's open
        case (reopening it when it was solved) or open a new one for ``team`` with its SLA
        clocks. Returns the new case id, "reopened" or "attached". ``desk`` carries the agents'
        loads from one case to the next when the caller opens several in one transaction."""
        now = self.clock()
        existing = customer_case(
            cur, mention.platform, author_key=mention.author_key, handle=mention.author,
            open_only=True,
        )  # fmt: skip
        if existing is not None:
            return self._join(cur, existing, mention, rule, now)
        calendar = sla.BusinessCalendar.from_team(team)
        opened = max(mention.created_at, now)
        assignment = (desk or Desk(cur)).choose(team, mention.lang)
        case = q.NewCase(
            id=q.next_id(cur), brand=mention.brand, platform=mention.platform, lang=mention.lang,
            author_key=mention.author_key, author=mention.author, mention_key=mention.key,
            rule=rule.name, team=team.name, level=team.level,
            assignee=assignment.agent if assignment else None, priority=rule.priority,
            urgency_level=mention.urgency_level, urgency_score=mention.urgency_score,
            urgency_reasons=mention.urgency_reasons, opened_at=opened,
            first_response_due=calendar.add(opened, team.sla.first_response),
            resolution_due=calendar.add(opened, team.sla.resolution),
        )  # fmt: skip
        q.insert(cur, case, now=now)
        q.add_event(
            cur, case.id, actor="pipeline", action="open", from_status=None, to_status="new",
            detail={
                "rule": rule.name, "team": team.name, "level": team.level,
                "assignee": case.assignee,
                "assignment": assignment.reason if assignment else "no agent available",
                "urgency_level": mention.urgency_level, "reasons": list(mention.urgency_reasons),
            },
            at=now,
        )  # fmt: skip
        logger.info("opened case %s (rule %s, team %s)", case.id, rule.name, team.name)
        return case.id

    def _join(
        self,
        cur: Cursor,
        existing: CaseRef,
        mention: ScoredMention,
        rule: RuleSettings,
        now: datetime,
    ) -> str:
        case_id = existing.id
        q.attach_mention(cur, case_id, mention.key, now)
        detail = {"mention": mention.key, "rule": rule.name}
        if mention.urgency_level > existing.urgency_level:
            q.update(
                cur, case_id,
                {"urgency_level": mention.urgency_level, "urgency_score": mention.urgency_score,
                 "urgency_reasons": list(mention.urgency_reasons)},
            )  # fmt: skip
        status = existing.status
        if status in ("resolved", "closed_public"):
            target = "in_private" if existing.deflected_at else "new"
            reopened = {"resolved_at": None, "closed_public_at": None, "updated_at": now}
            q.update(cur, case_id, {"status": target, **reopened})
            q.add_event(
                cur, case_id, actor="pipeline", action="reopen", from_status=status,
                to_status=target, detail={**detail, "why": "the customer wrote again"}, at=now,
            )  # fmt: skip
            return "reopened"
        q.add_event(
            cur, case_id, actor="pipeline", action="mention_attached", from_status=status,
            to_status=status, detail=detail, at=now,
        )  # fmt: skip
        return "attached"

    def dispatch_waiting(self) -> int:
        """Give the cases that opened while nobody could take them (everyone off shift or full)
        to agents who can now, in queue order; returns how many were assigned."""
        now = self.clock()
        assigned = 0
        with self.store.transaction() as cur:
            shifts = people_q.shift_overrides(cur)
            for team in self.settings.teams:
                loads = q.open_loads(cur, team.name)
                if not routing.available_agents(team, routing.CaseFacts(), loads, shifts=shifts):
                    continue  # nobody can take a case now: nothing to look at
                waiting = q.unassigned(cur, team.name)
                if not waiting:
                    continue
                facts = [
                    routing.CaseFacts(language=c["lang"], platform=c["platform"], brand=c["brand"])
                    for c in waiting
                ]
                assignments, _loads, _last = routing.dispatch(
                    team, facts, loads, last_assigned=q.last_assignee(cur, team.name),
                    shifts=shifts,
                )  # fmt: skip
                for row, assignment in zip(waiting, assignments, strict=True):
                    if assignment is None:
                        continue
                    q.update(cur, row["id"], {"assignee": assignment.agent, "updated_at": now})
                    q.add_event(
                        cur, row["id"], actor="pipeline", action="assign",
                        from_status=row["status"], to_status=row["status"], at=now,
                        detail={"assignee": assignment.agent, "previous": None,
                                "assignment": assignment.reason},
                    )  # fmt: skip
                    assigned += 1
        return assigned

    # -- SLA ----------------------------------------------------------------------------------
    def mark_sla_breaches(self, now: datetime) -> list[SlaBreach]:
        """Mark every case whose running clock is past due, once, with an audit event."""
        with self.store.transaction() as cur:
            late = q.past_due(cur, now)
            for breach in late:
                q.update(cur, breach.case_id, {"sla_breached": True})
                q.add_event(
                    cur, breach.case_id, actor="sla", action="sla_breach",
                    from_status=breach.status, to_status=breach.status,
                    detail={"clock": breach.clock, "due": breach.due}, at=now,
                )  # fmt: skip
        return late

    def _calendar(self, team: str | None) -> sla.BusinessCalendar:
        known = {t.name for t in self.settings.teams}
        if team in known:
            return sla.BusinessCalendar.from_team(self.settings.team(team))
        return sla.BusinessCalendar.always_open()

    def _unpause(self, case: CaseRow, at: datetime) -> dict[str, Any]:
        """Restart a paused resolution clock: what was left when it paused is left now, in the
        team's business hours."""
        paused = case.sla_paused_at
        if paused is None:
            return {}
        updates: dict[str, Any] = {"sla_paused_at": None}
        if case.resolution_due is not None:
            updates["resolution_due"] = sla.resume(
                self._calendar(case.team), case.resolution_due, paused_at=paused,
                resumed_at=at,
            )  # fmt: skip
        return updates

    # -- composing replies -------------------------------------------------------------------
    def compose(
        self, case: CaseRow, action: str, text: str | None = None, *, cur: Cursor | None = None
    ) -> Preview:
        if cur is None:
            with self.store.read() as reader:
                return self.compose(case, action, text, cur=reader)
        last_inbound = None
        # WhatsApp's window and Facebook/Instagram's DM window start at the customer's last
        # message on that channel.
        channel = self.replies.channel_of(case)
        windowed = "whatsapp" if channel == "whatsapp" else None
        if channel == "dm" and case.platform in META_PLATFORMS:
            windowed = case.platform
        if windowed is not None:
            last_inbound = self._last_inbound(cur, case.id, windowed, case.private_conversation)
        used = case.platform in META_PLATFORMS and outbox_q.used_route(
            cur, case.id, "private_reply"
        )
        return self.replies.compose(
            case, action, text, last_inbound_at=last_inbound, now=self.clock(),
            private_reply_used=used,
        )  # fmt: skip

    @staticmethod
    def _last_inbound(
        cur: Cursor, case_id: str, platform: str, address: str | None
    ) -> datetime | None:
        """When the customer last wrote on ``platform``: in this case, or for WhatsApp from
        their number in any case (its window belongs to the customer)."""
        found = webhooks_q.last_inbound_at(cur, case_id, platform)
        if platform == "whatsapp" and address:
            other = webhooks_q.last_inbound_from(cur, platform, address)
            found = max((t for t in (found, other) if t is not None), default=None)
        return found

    def _choose_channel(
        self,
        case: CaseRow,
        action: str,
        channel: str,
        updates: dict[str, Any],
        reach: customers.Reach | None = None,
    ) -> CaseRow:
        """The case as it reads with ``channel`` chosen as its private channel (the change goes
        in ``updates``); the customer's address there is the one they can be reached at
        (``reach``), else it starts empty unless it is the same channel."""
        if action not in ("acknowledge", "private_message"):
            raise CaseError(
                f"a private channel is chosen when acknowledging or messaging, not on {action}",
                case_id=case.id,
            )
        offered = self.replies.channels(case.platform)
        if channel not in offered:
            raise CaseError(
                f"{channel!r} is not a private channel of this case",
                case_id=case.id,
                hint=f"choose one of: {', '.join(offered)}",
            )
        if channel == self.replies.channel_of(case):
            return case
        if reach is not None and reach.channel == channel:
            return self._reach_there(case, reach, updates)
        updates.update(private_channel=channel, private_conversation=None)
        return replace(case, private_channel=channel, private_conversation=None)

    def _reach(self, case_id: str, now: datetime) -> customers.Reach | None:
        """Where this case's customer can be reached in private now, when the agent did not
        choose and the case has no private channel yet (customers.reachable)."""
        with self.store.read() as cur:
            case = get_case(cur, case_id)
        if case.private_channel is not None or case.author_key is None:
            return None
        reach = customers.reachable(self.store, case.author_key, now)
        if reach is None or reach.channel not in self.replies.channels(case.platform):
            return None
        return reach

    def _reach_there(
        self, case: CaseRow, reach: customers.Reach, updates: dict[str, Any]
    ) -> CaseRow:
        """The case continued where its customer can be reached: that channel, that address."""
        updates.update(private_channel=reach.channel, private_conversation=reach.address)
        return replace(case, private_channel=reach.channel, private_conversation=reach.address)

    def preview(self, case_id: str, action: str, channel: str | None = None) -> Preview:
        """What ``action`` would post, on ``channel`` when one is chosen."""
        with self.store.read() as cur:
            case = get_case(cur, case_id)
        reach = self._reach(case_id, self.clock())
        if channel is not None:
            case = self._choose_channel(case, action, channel, {}, reach)
        elif reach is not None and action in ("acknowledge", "private_message"):
            case = self._reach_there(case, reach, {})
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
        deflecting = action in ("acknowledge", "private_message")
        reach = self._reach(case_id, now) if deflecting else None
        with self.store.transaction() as cur:
            case = get_case(cur, case_id)
            status = case.status
            if not lifecycle.allowed(action, status):
                possible = ", ".join(lifecycle.actions_from(status)) or "none"
                raise CaseError(
                    f"cannot {action} a case that is {status}",
                    case_id=case_id,
                    hint=f"allowed now: {possible}",
                )
            deflected = case.deflected_at is not None
            target = lifecycle.next_status(action, status, deflected=deflected)
            updates: dict[str, Any] = {"status": target, "updated_at": now}
            detail: dict[str, Any] = {}
            outbox_id: int | None = None
            if request.channel is not None:
                case = self._choose_channel(case, action, request.channel, updates, reach)
            elif reach is not None:
                case = self._reach_there(case, reach, updates)
            if action in lifecycle.POSTING_ACTIONS:
                preview = self.compose(case, action, request.text, cur=cur)
                outbox_id = self._enqueue(cur, case, preview, now)
                detail.update(text=preview.text, where=preview.where, lang=preview.lang)
                if case.first_response_at is None:
                    updates["first_response_at"] = now
                if action == "private_message":
                    updates["deflected_at"] = case.deflected_at or now
                    updates["private_channel"] = self.replies.channel_of(case)
                    if case.sla_paused_at is None:
                        updates["sla_paused_at"] = now  # waiting for the customer
                if action == "close_public":
                    updates["closed_public_at"] = now
            elif action == "customer_reply":
                if not request.text:
                    raise CaseError("record the customer's words in `text`", case_id=case_id)
                self._record_inbound(cur, case, request.text, now, native_id=None)
                updates.update(self._unpause(case, now))
                detail["text"] = request.text
            elif action == "resolve":
                updates["resolved_at"] = now
                updates["sla_paused_at"] = None
            elif action == "close":
                updates["closed_at"] = now
                survey = self.replies.survey(case)
                if survey is not None:
                    outbox_id = self._enqueue(cur, case, survey, now, purpose="csat")
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
                detail.update(assignee=request.assignee, previous=case.assignee)
            elif action == "reopen":
                updates.update(resolved_at=None, closed_public_at=None, closed_at=None)
                updates["dismiss_reason"] = None
                if request.reason:
                    detail["reason"] = request.reason
            q.update(cur, case_id, updates)
            q.add_event(
                cur, case_id, actor=request.actor, action=action, from_status=status,
                to_status=target, detail=detail, outbox_id=outbox_id, at=now,
            )  # fmt: skip
        logger.info("case %s: %s (%s -> %s)", case_id, action, status, target)
        return self.detail(case_id)

    def _escalation(self, case: CaseRow, request: ActionRequest) -> dict[str, Any]:
        if not (request.reason or "").strip():
            raise CaseError("escalating needs a reason", case_id=case.id)
        if request.direction in ("up", "down") and not request.team and case.team:
            facts = routing.CaseFacts(language=case.lang, platform=case.platform, brand=case.brand)
            move = routing.escalate(
                self.settings.levels, self.settings.teams, self.settings.team(case.team),
                facts, reason=request.reason or "", direction=request.direction,  # type: ignore[arg-type]
            )  # fmt: skip
            return {
                "reason": request.reason, "direction": request.direction,
                "from_team": move.from_team, "to_team": move.to_team,
                "from_level": move.from_level, "to_level": move.to_level,
            }  # fmt: skip
        team = request.team or case.team
        if team is not None:
            known = {t.name for t in self.settings.teams}
            if team not in known:
                raise CaseError(f"unknown team {team!r}", case_id=case.id, hint=str(sorted(known)))
        level = request.level or (self.settings.team(team).level if team else case.level)
        if level is not None and level not in self.settings.levels:
            raise CaseError(f"unknown level {level!r}", case_id=case.id)
        if team == case.team and level == case.level:
            raise CaseError("escalation needs another team or level", case_id=case.id)
        return {
            "reason": request.reason,
            "from_team": case.team,
            "to_team": team,
            "from_level": case.level,
            "to_level": level,
        }

    def _enqueue(
        self,
        cur: Cursor,
        case: CaseRow,
        preview: Preview,
        now: datetime,
        *,
        purpose: str | None = None,
    ) -> int:
        sequence = outbox_q.count_for_case(cur, case.id, preview.kind) + 1
        private = preview.visibility == "private"
        channel = self.replies.channel_of(case) if private else None
        platform, source = case.platform, case.source
        # A private message goes on the case's channel: WhatsApp or e-mail through their source.
        channel_source = self._channel_source(channel) if channel in CHANNEL_PLATFORMS else None
        if channel is not None and channel_source is not None:
            platform, source = channel, channel_source
        if preview.template:
            purpose = purpose or TEMPLATE_PURPOSE
        in_reply_to = None if private else case.mention_native_id
        if preview.route is not None:  # Facebook/Instagram: the comment's private reply or a DM
            channel = preview.route
            in_reply_to = case.mention_native_id if preview.route == "private_reply" else None
        message = OutboundMessage(
            kind=preview.kind,  # type: ignore[arg-type]
            platform=platform,
            text=preview.text,
            idempotency_key=f"{case.id}:{purpose or preview.kind}:{sequence}",
            in_reply_to=in_reply_to,
            recipient=preview.recipient if private else None,
            private_channel=channel,
            case_id=case.id,
        )
        outbox_id = outbox_q.enqueue(cur, message, source=source, lang=preview.lang, now=now)
        said_on = (
            channel if channel in CHANNEL_PLATFORMS else platform
        )  # the conversation's channel
        q.add_message(
            cur, case.id, direction="outbound", visibility=preview.visibility,
            platform=said_on, author=case.brand or "brand", text=preview.text,
            lang=preview.lang, at=now, outbox_id=outbox_id,
        )  # fmt: skip
        return outbox_id

    def _channel_source(self, channel: str) -> str | None:
        """The configured source that carries ``channel`` (WhatsApp, e-mail), if any."""
        for source in self.settings.sources:
            if source.enabled and source.platform == channel:
                return source.name
        return None

    def _record_inbound(
        self,
        cur: Cursor,
        case: CaseRow,
        text: str,
        at: datetime,
        native_id: str | None,
        platform: str | None = None,
    ) -> None:
        q.add_message(
            cur, case.id, direction="inbound", visibility="private",
            platform=platform or case.platform, author=case.author, text=text, lang=case.lang,
            at=at, native_id=native_id,
        )  # fmt: skip

    def record_conversation_message(self, message: InboundMessage) -> str | None:
        """A private message on the platform of the case (a DM): joined to the case whose
        conversation it continues (Facebook/Instagram answer by the page-scoped id the private
        reply went to), else to the sender's case by handle."""
        with self.store.read() as cur:
            case_id = webhooks_q.case_by_conversation(cur, "dm", message.sender)
        if case_id is None:
            return self.record_private_message(
                message.platform, message.sender, message.text,
                native_id=message.native_id, at=message.created_at,
            )  # fmt: skip
        self.record_customer_message(
            case_id, message.text, native_id=message.native_id, at=message.created_at,
            platform=message.platform,
        )  # fmt: skip
        return case_id

    def record_channel_message(
        self,
        message: InboundMessage,
        *,
        references: Sequence[str] = (),
        reference_text: str | None = None,
    ) -> str | None:
        """A customer wrote on a private channel with its own connector (WhatsApp, e-mail):
        join the message to its case and record that they opted in to hear back there.

        The case is, in order: the one of a message of ours it answers (``references``: an
        e-mail's In-Reply-To/References, a WhatsApp reply's context), the one whose reference
        (``C-000123``) ``reference_text`` carries (the chat's text, the e-mail's subject), the one
        already continued with this address on this channel, or the sender's own case there.
        None when no case is theirs."""
        channel, address = message.platform, message.sender
        scan = message.text if reference_text is None else reference_text
        with self.store.read() as cur:
            case_id = webhooks_q.case_for_message_ids(cur, list(references))
            if case_id is None:
                case_id = next(
                    (ref for ref in CASE_REFERENCE.findall(scan) if q.get(cur, ref) is not None),
                    None,
                )
            if case_id is None:
                case_id = webhooks_q.case_by_conversation(cur, channel, address)
            if case_id is None:
                found = customer_case(cur, channel, handle=address, open_only=False)
                case_id = str(found.id) if found is not None else None
        now = self.clock()
        with self.store.transaction() as cur:
            webhooks_q.record_opt_in(cur, channel, address, at=message.created_at, case_id=case_id)
            if case_id is None:
                return None
            # Their number or address becomes an account of theirs, so an agent can link it to
            # the case's author (pipeline/care/customers.py suggests it: same case).
            name = message.raw.get("name")
            people_q.remember_channel_account(
                cur, channel, address, name=str(name) if name else None, at=message.created_at
            )
            case = get_case(cur, case_id)
            if (case.private_channel, case.private_conversation) != (channel, address):
                q.update(
                    cur, case_id,
                    {"private_channel": channel, "private_conversation": address,
                     "updated_at": now},
                )  # fmt: skip
                q.add_event(
                    cur, case_id, actor=f"customer:{case.author}", action="channel",
                    from_status=case.status, to_status=case.status, at=now,
                    detail={"channel": channel, "native_id": message.native_id},
                )  # fmt: skip
        self.record_customer_message(
            case_id, message.text, native_id=message.native_id, at=message.created_at,
            platform=channel,
        )  # fmt: skip
        return case_id

    def apply_delivery(self, status: DeliveryStatus) -> list[str]:
        """What the platform says became of a message we sent (sent, delivered, read, failed),
        shown on the message; a failure is also an event on its case."""
        with self.store.transaction() as cur:
            changed = webhooks_q.apply_delivery(
                cur, status.platform_id, status.status, at=status.at, error=status.error
            )
            if status.status == "failed":
                for case_id in changed:
                    q.add_event(
                        cur, case_id, actor="platform", action="delivery_failed",
                        from_status=None, to_status=None, at=self.clock(),
                        detail={"platform_id": status.platform_id, "error": status.error},
                    )  # fmt: skip
        return changed

    def record_private_message(
        self, platform: str, sender: str, text: str, *, native_id: str | None, at: datetime
    ) -> str | None:
        """A private message arrived: record it on the sender's case (an open one first, else
        their latest, where a reply to the survey lands). None when no case is theirs."""
        with self.store.read() as cur:
            case = customer_case(cur, platform, handle=sender, open_only=False)
        if case is None:
            return None
        self.record_customer_message(case.id, text, native_id=native_id, at=at)
        return str(case.id)

    def record_customer_message(
        self,
        case_id: str,
        text: str,
        *,
        native_id: str | None,
        at: datetime,
        platform: str | None = None,
    ) -> str:
        """A private message from the customer arrived; returns the case's new status."""
        with self.store.transaction() as cur:
            case = get_case(cur, case_id)
            status = case.status
            if native_id and q.has_message(cur, case_id, native_id):
                return str(status)
            self._record_inbound(cur, case, text, at, native_id, platform)
            target = status
            updates: dict[str, Any] = {"updated_at": self.clock()}
            customer = f"customer:{case.author}"
            if status == "closed" and case.csat_score is None:
                reading = csat.parse_reply(text)
                if reading.score is not None:
                    updates["csat_score"] = reading.score
                    q.add_event(
                        cur, case_id, actor=customer, action="csat", from_status=status,
                        to_status=status, at=at,
                        detail={"score": reading.score, "reason": reading.reason, "text": text},
                    )  # fmt: skip
                    q.update(cur, case_id, updates)
                    return str(status)
            if lifecycle.allowed("customer_reply", status):
                target = lifecycle.next_status("customer_reply", status, deflected=True)
                updates.update(self._unpause(case, at))
                updates["status"] = target
            q.add_event(
                cur, case_id, actor=customer, action="customer_reply", from_status=status,
                to_status=target, detail={"text": text, "native_id": native_id}, at=at,
            )  # fmt: skip
            q.update(cur, case_id, updates)
            return str(target)

    # -- reading ------------------------------------------------------------------------------
    def detail(self, case_id: str) -> dict[str, Any]:
        """The case with its thread, conversation, customer history, audit trail and outbox,
        the actions its status allows and where its SLA clock stands."""
        with self.store.read() as cur:
            found = asdict(q.record(cur, get_case(cur, case_id)))
        case = found["case"]
        case["actions"] = lifecycle.actions_from(case["status"])
        case["sla"] = self.sla_status(case, self.clock())
        case["channels"] = self.replies.channels(case["platform"])
        case["windows"] = self._windows(case)
        reach = self._reach(case_id, self.clock())
        case["reachable"] = None if reach is None else asdict(reach)
        return found

    def _windows(self, case: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The platforms' messaging windows that apply to this case now (care/windows.py): the
        comment's private reply, and the window of the channel the conversation is on."""
        now = self.clock()
        found: list[windows.Window] = []
        with self.store.read() as cur:
            used = outbox_q.used_route(cur, case["id"], "private_reply")
        reply = windows.private_reply(case["platform"], case["opened_at"], used=used, now=now)
        if reply is not None:
            found.append(reply)
        channel = case.get("private_channel") or self.replies.private_channel(case["platform"])
        name = {"facebook": "messenger", "instagram": "instagram_dm"}.get(case["platform"])
        if channel == "whatsapp" or (channel == "dm" and name is not None):
            on = "whatsapp" if channel == "whatsapp" else case["platform"]
            with self.store.read() as cur:
                last = self._last_inbound(cur, case["id"], on, case.get("private_conversation"))
            window = windows.messaging("whatsapp" if channel == "whatsapp" else str(name), last,
                                       now=now)  # fmt: skip
            if window is not None:
                found.append(window)
        return [
            {"kind": w.kind, "channel": w.channel, "open": w.open, "closes_at": w.closes_at,
             "reason": w.reason, "code": w.code, "template_only": w.template_only}
            for w in found
        ]  # fmt: skip

    def sla_status(self, case: Mapping[str, Any], now: datetime) -> dict[str, str | None]:
        """Where the case's clocks stand (ok / warning / breached), in its team's hours."""
        team = case.get("team")
        warn = (
            self.settings.team(team).sla.warn_before
            if team in {t.name for t in self.settings.teams}
            else sla.DEFAULT_WARN_BEFORE
        )
        return sla.clock_state(
            self._calendar(team), now, warn_before=warn,
            first_response_due=case.get("first_response_due"),
            first_response_at=case.get("first_response_at"),
            resolution_due=case.get("resolution_due"), resolved_at=case.get("resolved_at"),
            paused=case.get("sla_paused_at") is not None,
        )  # fmt: skip
