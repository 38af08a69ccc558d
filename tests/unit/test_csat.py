"""CSAT: survey text from templates, and replies in Spanish and English parsed to 1-5 or None."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.care.csat import parse_reply, summarise, survey_text
from pipeline.errors import ConfigError
from pipeline.settings import Settings, TemplateSettings


@pytest.mark.parametrize(
    ("reply", "score"),
    [
        ("5", 5),
        ("un 4, muy rápidos", 4),
        ("3/5", 3),
        ("4 de 5", 4),
        ("8 sobre 10", 4),
        ("un 10!!", 5),
        ("cinco estrellas", 5),
        ("Cuatro", 4),
        ("dos estrellas, tardasteis 3 días", 2),
        ("terrible", 1),
        ("Pésimo servicio", 1),
        ("muy mal, nadie me contestó", 1),
        ("regular", 3),
        ("más o menos", 3),
        ("bien", 4),
        ("no muy bien la verdad", 2),
        ("no está mal", 4),
        ("¡Excelente atención!", 5),
        ("muy bien, gracias", 5),
        ("⭐⭐⭐⭐", 4),
        ("★★", 2),
    ],
)
def test_spanish_replies(reply: str, score: int) -> None:
    assert parse_reply(reply).score == score


@pytest.mark.parametrize(
    ("reply", "score"),
    [
        ("excellent", 5),
        ("5 stars", 5),
        ("four out of five", 4),
        ("I'd give it a 2", 2),
        ("3/5, took 2 days", 3),
        ("Terrible, took 4 days to answer", 1),
        ("not good", 2),
        ("not bad at all", 4),
        ("good but slow", 3),
        ("Amazing support, thanks!", 5),
        ("one", 1),
        ("4.5", 5),
        ("7/10", 4),
    ],
)
def test_english_replies(reply: str, score: int) -> None:
    assert parse_reply(reply).score == score


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("", "empty"),
        ("gracias", "no rating"),
        ("who are you?", "no rating"),
        ("entre 3 y 4", "several"),
        ("3 or 5", "several"),
        ("llamé 3 veces", "no rating"),
        ("one of the agents helped", "no rating"),
        ("3/5 o 5/5", "several"),
        ("excellent product, terrible support", "mixed"),
    ],
)
def test_unclear_replies_give_none_with_a_reason(reply: str, reason: str) -> None:
    reading = parse_reply(reply)
    assert reading.score is None
    assert reason in reading.reason


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_gives_a_score_in_range_or_none(text: str) -> None:
    reading = parse_reply(text)
    assert reading.score is None or 1 <= reading.score <= 5
    assert reading.reason


def test_survey_text_in_the_customers_language() -> None:
    s = Settings()
    assert "del 1 al 5" in survey_text(s, "es")
    assert "from 1 to 5" in survey_text(s, "en")
    assert survey_text(s, "fr") == survey_text(s, "es")  # default language
    custom = Settings(
        templates={
            "es": TemplateSettings(
                acknowledge="a", private="p", close="c", csat="Hola {author}, ¿qué tal {brand}? {x}"
            )
        }
    )
    assert survey_text(custom, "es", author="@ana", brand="Orbita") == (
        "Hola @ana, ¿qué tal Orbita? {x}"
    )
    bare = Settings(templates={"es": TemplateSettings(acknowledge="a", private="p", close="c")})
    with pytest.raises(ConfigError, match="csat"):
        survey_text(bare, "es")


def test_summary_for_care_metrics() -> None:
    summary = summarise([5, 4, 4, 2, 1, 5])
    assert summary.responses == 6
    assert summary.mean == pytest.approx(3.5)
    assert summary.satisfied_share == pytest.approx(4 / 6)
    assert summary.distribution == {1: 1, 2: 1, 3: 0, 4: 2, 5: 2}
    assert summarise([]).mean is None
