"""Routing: team choice, agent choice by skills and workload, round-robin, escalation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.care.routing import (
    CaseFacts,
    choose_agent,
    choose_team,
    dispatch,
    escalate,
)
from pipeline.errors import CaseError
from pipeline.settings import AgentSettings, TeamSettings

LEVELS = ["head_office", "country", "store"]


def make_team(name: str = "care", **kwargs: object) -> TeamSettings:
    return TeamSettings.model_validate({"name": name, **kwargs})


ES = make_team("atencion-es", level="country", languages=["es"])
EN = make_team("care-en", level="country", languages=["en"])
CRISIS = make_team("crisis", level="head_office")
STORE = make_team("tienda-madrid", level="store", languages=["es"], locations=["Madrid"])
ORBITA_X = make_team("orbita-x", level="country", platforms=["x"], brands=["Orbita"])
TEAMS = [ES, EN, CRISIS, STORE, ORBITA_X]


def test_team_is_chosen_by_attributes_most_specific_first() -> None:
    assert choose_team(TEAMS, CaseFacts(language="es")) == ES
    assert choose_team(TEAMS, CaseFacts(language="fr")) == CRISIS
    spanish_tweet = CaseFacts(language="es", platform="x", brand="orbita")
    assert choose_team(TEAMS, spanish_tweet) == ORBITA_X
    assert choose_team(TEAMS, CaseFacts(language="es", location="Madrid")) == STORE
    assert choose_team(TEAMS, CaseFacts(language="es"), level="head_office") == CRISIS
    assert choose_team([ES, EN], CaseFacts(language="fr")) is None


AGENTS = [
    {"name": "lucia", "capacity": 2, "languages": ["es"]},
    {"name": "mateo", "capacity": 2, "languages": ["es", "en"]},
    {"name": "olivia", "capacity": 2, "languages": ["en"]},
]
MIXED = make_team("mixed", agents=AGENTS)


def test_least_loaded_agent_with_the_language_gets_the_case() -> None:
    chosen = choose_agent(MIXED, CaseFacts(language="es"), {"lucia": 1, "mateo": 0})
    assert chosen is not None
    assert chosen.agent == "mateo"
    assert chosen.load_before == 0
    assert choose_agent(MIXED, CaseFacts(language="en"), {"mateo": 0, "olivia": 1})
    chosen = choose_agent(MIXED, CaseFacts(language="en"), {"mateo": 2, "olivia": 1})
    assert chosen is not None
    assert chosen.agent == "olivia"


def test_full_or_off_shift_agents_are_skipped() -> None:
    full = {"lucia": 2, "mateo": 2}
    assert choose_agent(MIXED, CaseFacts(language="es"), full) is None
    chosen = choose_agent(MIXED, CaseFacts(language="es"), {}, shifts={"lucia": False})
    assert chosen is not None
    assert chosen.agent == "mateo"
    resting = make_team("r", agents=[{"name": "ana", "on_shift": False}, {"name": "luis"}])
    chosen = choose_agent(resting, CaseFacts(), {})
    assert chosen is not None
    assert chosen.agent == "luis"
    chosen = choose_agent(resting, CaseFacts(), {}, shifts={"ana": True}, exclude={"luis"})
    assert chosen is not None
    assert chosen.agent == "ana"


def test_agent_without_languages_has_the_teams_languages() -> None:
    team = make_team("t", languages=["es"], agents=[{"name": "ana"}])
    assert choose_agent(team, CaseFacts(language="es"), {}) is not None
    assert choose_agent(team, CaseFacts(language="en"), {}) is None


def test_ties_rotate_round_robin_from_the_last_assigned() -> None:
    team = make_team("t", agents=[{"name": n} for n in ("a", "b", "c")])
    picks = []
    last = None
    for _ in range(6):
        chosen = choose_agent(team, CaseFacts(), {}, last_assigned=last)
        assert chosen is not None
        picks.append(chosen.agent)
        last = chosen.agent
    assert picks == ["a", "b", "c", "a", "b", "c"]


def test_load_is_relative_to_capacity() -> None:
    team = make_team(
        "t", agents=[{"name": "big", "capacity": 10}, {"name": "small", "capacity": 2}]
    )
    chosen = choose_agent(team, CaseFacts(), {"big": 4, "small": 1})
    assert chosen is not None
    assert chosen.agent == "big"  # 4/10 < 1/2


def test_escalation_moves_between_levels_with_a_reason() -> None:
    up = escalate(LEVELS, TEAMS, ES, CaseFacts(language="es"), reason="legal threat")
    assert (up.to_team, up.to_level, up.direction) == ("crisis", "head_office", "up")
    down = escalate(
        LEVELS,
        TEAMS,
        ES,
        CaseFacts(language="es", location="Madrid"),
        reason="store visit",
        direction="down",
    )
    assert down.to_team == "tienda-madrid"
    # a store case with no country team for its language goes straight to head office
    up2 = escalate(LEVELS, TEAMS, STORE, CaseFacts("fr", "youtube"), reason="no French team")
    assert up2.to_team == "crisis"
    with pytest.raises(CaseError, match="reason"):
        escalate(LEVELS, TEAMS, ES, CaseFacts(), reason="  ")
    with pytest.raises(CaseError, match="top"):
        escalate(LEVELS, TEAMS, CRISIS, CaseFacts(), reason="x")
    with pytest.raises(CaseError, match="not up"):
        escalate(LEVELS, TEAMS, ES, CaseFacts(), reason="x", to_team="tienda-madrid")
    assert escalate(LEVELS, TEAMS, STORE, CaseFacts(), reason="x", to_team="crisis").to_level == (
        "head_office"
    )


LANGS = ["es", "en", "pt"]
agent_st = st.builds(
    dict,
    capacity=st.integers(1, 6),
    languages=st.lists(st.sampled_from(LANGS), max_size=2, unique=True),
    on_shift=st.booleans(),
)


@settings(max_examples=80, deadline=None)
@given(
    agents=st.lists(agent_st, min_size=1, max_size=6),
    cases=st.lists(st.sampled_from([*LANGS, None]), max_size=40),
    shift_flips=st.dictionaries(st.sampled_from([f"a{i}" for i in range(6)]), st.booleans()),
)
def test_dispatch_never_over_capacity_off_shift_or_wrong_language(
    agents: list[dict[str, object]], cases: list[str | None], shift_flips: dict[str, bool]
) -> None:
    team = make_team("t", agents=[{"name": f"a{i}", **a} for i, a in enumerate(agents)])
    by_name: dict[str, AgentSettings] = {a.name: a for a in team.agents}
    facts = [CaseFacts(language=lang) for lang in cases]
    assignments, loads, _ = dispatch(team, facts, {}, shifts=shift_flips)
    for case, assignment in zip(facts, assignments, strict=True):
        if assignment is None:
            continue
        agent = by_name[assignment.agent]
        assert shift_flips.get(agent.name, agent.on_shift)
        assert case.language is None or not agent.languages or case.language in agent.languages
        assert assignment.load_before < agent.capacity
    for name, load in loads.items():
        assert load <= by_name[name].capacity


@settings(max_examples=60, deadline=None)
@given(
    n_agents=st.integers(1, 7),
    capacity=st.integers(1, 10),
    n_cases=st.integers(0, 80),
    last=st.one_of(st.none(), st.integers(0, 6)),
)
def test_equal_capacities_share_the_load_evenly(
    n_agents: int, capacity: int, n_cases: int, last: int | None
) -> None:
    team = make_team("t", agents=[{"name": f"a{i}", "capacity": capacity} for i in range(n_agents)])
    last_name = f"a{last}" if last is not None and last < n_agents else None
    assignments, loads, _ = dispatch(team, [CaseFacts()] * n_cases, {}, last_assigned=last_name)
    counts = [loads.get(f"a{i}", 0) for i in range(n_agents)]
    assert max(counts) - min(counts) <= 1
    assert sum(a is not None for a in assignments) == min(n_cases, n_agents * capacity)
