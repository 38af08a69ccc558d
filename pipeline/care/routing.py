"""Universal queue dispatch: pick a team for a case, an agent by skills and workload, and escalate.

Pure functions over settings and the current workload; the caller persists the assignment and the
round-robin state (the name of the last agent assigned in each team).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from pipeline.errors import CaseError, ConfigError, NotFound
from pipeline.settings import AgentSettings, TeamSettings

logger = logging.getLogger(__name__)

Direction = Literal["up", "down"]


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What routing needs to know about a case; ``None`` means unknown (matches any team)."""

    language: str | None = None
    platform: str | None = None
    brand: str | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class Assignment:
    """An agent chosen for a case, and why."""

    team: str
    agent: str
    load_before: int  # the agent's open cases before this one
    capacity: int
    reason: str


@dataclass(frozen=True, slots=True)
class Escalation:
    """A move of a case between levels of the organisation."""

    from_team: str
    to_team: str
    from_level: str
    to_level: str
    direction: Direction
    reason: str


def team_matches(team: TeamSettings, case: CaseFacts) -> bool:
    """True when every attribute the team lists includes the case's value (unknown values pass)."""
    return all(
        not allowed or value is None or value.casefold() in {a.casefold() for a in allowed}
        for allowed, value in _attributes(team, case)
    )


def specificity(team: TeamSettings, case: CaseFacts) -> int:
    """How many of the team's attribute lists positively match the case (more is a better fit)."""
    return sum(1 for allowed, value in _attributes(team, case) if allowed and value is not None)


def choose_team(
    teams: Sequence[TeamSettings], case: CaseFacts, *, level: str | None = None
) -> TeamSettings | None:
    """The best-fitting team for a case: matching, most specific, first in config order on ties.

    With ``level`` only teams at that level are considered. ``None`` when no team matches.
    """
    candidates = [t for t in teams if team_matches(t, case) and (level is None or t.level == level)]
    if not candidates:
        return None
    best = max(candidates, key=lambda t: specificity(t, case))  # max keeps the first on ties
    logger.debug("routed to team %s", best.name, extra={"team": best.name})
    return best


def speaks(agent: AgentSettings, team: TeamSettings, language: str | None) -> bool:
    """Whether the agent can answer in ``language``; an agent without languages has the team's."""
    languages = agent.languages or team.languages
    return language is None or not languages or language.casefold() in _folded(languages)


def available_agents(
    team: TeamSettings,
    case: CaseFacts,
    loads: Mapping[str, int],
    *,
    shifts: Mapping[str, bool] | None = None,
    exclude: Collection[str] = (),
) -> list[AgentSettings]:
    """Agents who are on shift, speak the case's language and have room, in config order."""
    shifts = shifts or {}
    return [
        agent
        for agent in team.agents
        if shifts.get(agent.name, agent.on_shift)
        and agent.name not in exclude
        and speaks(agent, team, case.language)
        and loads.get(agent.name, 0) < agent.capacity
    ]


def choose_agent(
    team: TeamSettings,
    case: CaseFacts,
    loads: Mapping[str, int],
    *,
    last_assigned: str | None = None,
    shifts: Mapping[str, bool] | None = None,
    exclude: Collection[str] = (),
) -> Assignment | None:
    """The least-loaded eligible agent (open cases / capacity); ties go round-robin.

    ``loads`` is open cases per agent, ``last_assigned`` the team's rotation state (the agent
    assigned last), ``shifts`` overrides each agent's configured ``on_shift``, and ``exclude``
    removes agents (for reassignment). ``None`` when nobody can take the case now.
    """
    eligible = available_agents(team, case, loads, shifts=shifts, exclude=exclude)
    if not eligible:
        logger.info("no agent available in team %s", team.name, extra={"team": team.name})
        return None
    lowest = min(Fraction(loads.get(a.name, 0), a.capacity) for a in eligible)
    tied = [a for a in eligible if Fraction(loads.get(a.name, 0), a.capacity) == lowest]
    agent = _next_in_rotation(team, tied, last_assigned)
    load = loads.get(agent.name, 0)
    reason = f"least loaded ({load}/{agent.capacity})"
    if len(tied) > 1:
        reason += f", round-robin among {len(tied)}"
    return Assignment(team.name, agent.name, load, agent.capacity, reason)


def dispatch(
    team: TeamSettings,
    cases: Iterable[CaseFacts],
    loads: Mapping[str, int],
    *,
    last_assigned: str | None = None,
    shifts: Mapping[str, bool] | None = None,
) -> tuple[list[Assignment | None], dict[str, int], str | None]:
    """Assign a queue of cases in order; returns the assignments, new loads and rotation state."""
    current = dict(loads)
    result: list[Assignment | None] = []
    for case in cases:
        assignment = choose_agent(team, case, current, last_assigned=last_assigned, shifts=shifts)
        result.append(assignment)
        if assignment is not None:
            current[assignment.agent] = current.get(assignment.agent, 0) + 1
            last_assigned = assignment.agent
    return result, current, last_assigned


def escalate(
    levels: Sequence[str],
    teams: Sequence[TeamSettings],
    current: TeamSettings,
    case: CaseFacts,
    *,
    reason: str,
    direction: Direction = "up",
    to_team: str | None = None,
) -> Escalation:
    """Move a case one level up or down (skipping levels with no fitting team), with a reason.

    ``to_team`` names the target explicitly; it must sit above (or below) the current team.
    Raises CaseError when there is no reason, or nowhere to go.
    """
    if not reason.strip():
        raise CaseError("an escalation needs a reason", hint="say why the case moves level")
    here = _level_index(levels, current.level)
    step = -1 if direction == "up" else 1
    if to_team is not None:
        target = next((t for t in teams if t.name == to_team), None)
        if target is None:
            raise NotFound(f"no team named {to_team!r} to escalate to")
        there = _level_index(levels, target.level)
        if (there - here) * step <= 0:
            raise CaseError(
                f"team {to_team!r} is at level {target.level!r}, not {direction} from "
                f"{current.level!r}"
            )
        return Escalation(current.name, target.name, current.level, target.level, direction, reason)
    index = here + step
    while 0 <= index < len(levels):
        found = choose_team([t for t in teams if t.name != current.name], case, level=levels[index])
        if found is not None:
            return Escalation(
                current.name, found.name, current.level, found.level, direction, reason.strip()
            )
        index += step
    edge = "top" if direction == "up" else "bottom"
    raise CaseError(
        f"no team {direction} from {current.level!r} fits this case (at the {edge} of the levels)",
        hint="add a team at that level, or name the team to escalate to",
    )


def _attributes(team: TeamSettings, case: CaseFacts) -> list[tuple[list[str], str | None]]:
    return [
        (team.languages, case.language),
        (team.platforms, case.platform),
        (team.brands, case.brand),
        (team.locations, case.location),
    ]


def _folded(values: Iterable[str]) -> set[str]:
    return {v.casefold() for v in values}


def _next_in_rotation(
    team: TeamSettings, tied: Sequence[AgentSettings], last_assigned: str | None
) -> AgentSettings:
    """The first tied agent after ``last_assigned`` in the team's configured (cyclic) order."""
    order = [a.name for a in team.agents]
    start = order.index(last_assigned) + 1 if last_assigned in order else 0
    position = {name: (i - start) % len(order) for i, name in enumerate(order)}
    return min(tied, key=lambda a: position[a.name])


def _level_index(levels: Sequence[str], level: str) -> int:
    try:
        return list(levels).index(level)
    except ValueError:
        raise ConfigError(f"unknown level {level!r} (configured: {', '.join(levels)})") from None
