"""Urgency signals: what an agent would expect to see at the top of the queue, and why."""

from __future__ import annotations

from classifiers.urgency import ModelView, assess, level_of
from pipeline.records import TextItem

ANGRY = ModelView(complaint=0.95, severity=0.7, negative=0.9)
CALM = ModelView(complaint=0.05, severity=0.0, negative=0.05)
ROUTINE = ModelView(complaint=0.8, severity=0.25, negative=0.6)


def test_spanish_gas_leak_complaint_is_critical_with_a_safety_reason() -> None:
    item = TextItem("@Orbita huele a gas en toda la escalera desde que vino vuestro técnico")
    urgency = assess(item, ANGRY)
    assert urgency.level == 3
    assert "safety: gas leak" in urgency.reasons


def test_english_hacked_account_is_at_least_high() -> None:
    item = TextItem("@AuroraBank my account was hacked and someone drained my savings")
    urgency = assess(item, ANGRY)
    assert urgency.level >= 2
    assert any(reason.startswith("fraud") for reason in urgency.reasons)


def test_negated_hazard_is_not_flagged() -> None:
    item = TextItem("Tranquilos, no hay fuga de gas, era la basura")
    urgency = assess(item, CALM)
    assert "safety: gas leak" not in urgency.reasons
    assert urgency.level == 0


def test_praise_with_fire_slang_stays_low() -> None:
    urgency = assess(TextItem("Orbita's new deal is on fire 🔥 love it"), CALM)
    assert urgency.level <= 1


def test_reach_and_repeated_contact_raise_a_routine_complaint() -> None:
    text = "@Orbita sigo sin internet, ¿alguien me puede ayudar?"
    plain = assess(TextItem(text, author_followers=50), ROUTINE)
    loud = assess(TextItem(text, author_followers=120_000, prior_contacts=3), ROUTINE)
    assert loud.score > plain.score
    assert loud.level >= 2 > plain.level
    assert "reach: 120k followers" in loud.reasons
    assert "repeated contact: 3 earlier unanswered" in loud.reasons


def test_scores_are_bounded_and_levels_are_monotonic() -> None:
    item = TextItem(
        "fuga de gas, incendio, me han hackeado, abogado, caída general, me doy de baja",
        author_followers=10_000_000,
        likes=100_000,
        shares=100_000,
        prior_contacts=50,
    )
    urgency = assess(item, ANGRY)
    assert 0.0 <= urgency.score <= 1.0
    assert urgency.level == 3
    assert [level_of(s / 100) for s in range(101)] == sorted(level_of(s / 100) for s in range(101))
