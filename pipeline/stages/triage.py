"""Triage: rules flag scored mentions; for each flagged one, triage decides the rule and the team
and hands the decision to care, which opens a case or joins the customer's open one."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pipeline.care import routing
from pipeline.care.cases import CaseService, Desk
from pipeline.errors import ConfigError, StorageError
from pipeline.fold import fold
from pipeline.records import utcnow
from pipeline.settings import RuleSettings, Settings, TeamSettings
from pipeline.stages import set_aside
from pipeline.store import Store
from pipeline.store import mentions as q
from pipeline.store.mentions import ScoredMention

logger = logging.getLogger(__name__)


@dataclass
class TriageResult:
    opened: list[str] = field(default_factory=list)
    attached: int = 0
    reopened: int = 0
    ignored: int = 0
    set_aside: int = 0

    def __iadd__(self, other: TriageResult) -> TriageResult:
        self.opened += other.opened
        self.attached += other.attached
        self.reopened += other.reopened
        self.ignored += other.ignored
        self.set_aside += other.set_aside
        return self

    def __bool__(self) -> bool:
        return bool(self.opened or self.attached or self.reopened or self.ignored or self.set_aside)


def matching_rule(rules: list[RuleSettings], mention: ScoredMention) -> RuleSettings | None:
    """The first rule whose every condition holds for the scored mention."""
    folded = fold(mention.text or "")
    for rule in rules:
        if rule.platforms and mention.platform not in rule.platforms:
            continue
        if rule.brands and mention.brand not in rule.brands:
            continue
        if rule.intents and mention.intent not in rule.intents:
            continue
        if rule.min_urgency_level is not None and mention.urgency_level < rule.min_urgency_level:
            continue
        if rule.max_net_sentiment is not None and mention.net_sentiment > rule.max_net_sentiment:
            continue
        if rule.min_complaint is not None and mention.complaint < rule.min_complaint:
            continue
        if rule.min_followers is not None and (mention.author_followers or 0) < rule.min_followers:
            continue
        if rule.keywords and not any(fold(k) in folded for k in rule.keywords):
            continue
        return rule
    return None


def choose_team(settings: Settings, rule: RuleSettings, mention: ScoredMention) -> TeamSettings:
    """The rule's team, else the team that best fits language, platform and brand."""
    if rule.team:
        return settings.team(rule.team)
    facts = routing.CaseFacts(language=mention.lang, platform=mention.platform, brand=mention.brand)
    return routing.choose_team(settings.teams, facts) or settings.teams[0]


def _one_by_one(
    store: Store,
    cases: CaseService,
    flagged: list[tuple[ScoredMention, RuleSettings, TeamSettings]],
    result: TriageResult,
    clock: Callable[[], datetime],
) -> list[str]:
    """Each flagged mention in its own transaction; the ones that fail are set aside."""
    outcomes = []
    for mention, rule, team in flagged:
        try:
            with store.transaction() as cur:
                outcomes.append(cases.open_or_join(cur, mention, rule=rule, team=team))
                q.mark_triaged(cur, [mention.key])
        except (StorageError, ConfigError):
            raise
        except Exception as exc:  # a bug this mention trips: set it aside, go on with the rest
            set_aside.hold(store, mention.key, stage="triage", exc=exc, now=clock())
            result.set_aside += 1
    return outcomes


def triage_pending(
    store: Store,
    settings: Settings,
    *,
    cases: CaseService | None = None,
    clock: Callable[[], datetime] = utcnow,
    batch: int = 200,
) -> TriageResult:
    """Triage up to ``batch`` scored mentions. The flagged ones open or join their cases in one
    transaction; if one of them trips a bug, that transaction is undone and each is tried in
    its own, so the culprit is set aside and the others go on."""
    cases = cases or CaseService(store, settings, clock=clock)
    result = TriageResult()
    own = settings.own_brands()
    with store.read() as cur:
        pending = q.awaiting_triage(cur, batch)
    ignored: list[str] = []
    flagged: list[tuple[ScoredMention, RuleSettings, TeamSettings]] = []
    # Our own replies come back from platform searches: they never open cases.
    ours = {fold(h).lstrip("@").removeprefix("u/") for b in settings.brands for h in b.handles}
    # Backfilled history is for listening, not for the queue; press articles have no customer
    # to answer (they drive alerts instead).
    oldest = clock() - settings.service.case_max_age
    for mention in pending:
        author = fold(mention.author).lstrip("@").removeprefix("u/")
        answerable = (
            mention.brand in own
            and author not in ours
            and mention.kind != "article"
            and mention.created_at >= oldest
        )
        try:
            rule = matching_rule(settings.rules, mention) if answerable else None
            if rule is None or rule.action == "ignore":
                ignored.append(mention.key)
                continue
            flagged.append((mention, rule, choose_team(settings, rule, mention)))
        except ConfigError:
            raise  # the settings, not this mention: the whole stage retries
        except Exception as exc:  # a bug this mention trips: set it aside, go on with the rest
            set_aside.hold(store, mention.key, stage="triage", exc=exc, now=clock())
            result.set_aside += 1
    outcomes: list[str] = []
    try:
        with store.transaction() as cur:
            desk = Desk(cur)
            for mention, rule, team in flagged:
                outcomes.append(cases.open_or_join(cur, mention, rule=rule, team=team, desk=desk))
            q.mark_triaged(cur, [mention.key for mention, _, _ in flagged])
    except (StorageError, ConfigError):
        raise  # the store or the settings, not a mention: the whole stage retries
    except Exception:
        outcomes = _one_by_one(store, cases, flagged, result, clock)
    for outcome in outcomes:
        if outcome == "reopened":
            result.reopened += 1
        elif outcome == "attached":
            result.attached += 1
        else:
            result.opened.append(outcome)
    if ignored:
        with store.transaction() as cur:
            q.mark_triaged(cur, ignored)
        result.ignored = len(ignored)
    return result
