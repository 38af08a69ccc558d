"""The brand boolean query: parsing, matching and the errors a user sees for a malformed query."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.errors import ConfigError
from pipeline.fold import fold
from pipeline.query import Query

BRAND = '(orbita OR "@orbita") AND NOT ("orbita lunar" OR satélite)'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mi pedido de Órbita no llega", True),
        ("@ORBITA me habéis cobrado dos veces", True),
        ("la órbita lunar es elíptica", False),
        ("un satelite en orbita", False),  # accent-insensitive NOT
        ("orbitales y planetas", False),  # whole words only
        ("#orbita fatal el servicio", True),
        ("nada que ver", False),
    ],
)
def test_brand_query(text: str, expected: bool) -> None:
    assert Query.parse(BRAND).matches(text) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("a b", "b then a", True),  # implicit AND
        ("a b", "only a", False),
        ("a OR b AND c", "a", True),  # AND binds tighter than OR
        ("a OR b AND c", "b", False),
        ("(a OR b) AND c", "a", False),
        ("NOT NOT a", "a", True),
        ("NOT spam", "hola", True),
        ('"app  móvil"', "La App\nMovil falla", True),  # any whitespace inside a phrase
        ('"app móvil"', "app de móvil", False),
        ("orbit*", "Orbitales", True),
        ("orbit*", "suborbital", False),
        ("and", "rock and roll", True),  # lower-case operators are plain words
        ("Ñandú", "nandu", True),
        ("straße", "STRASSE", True),  # casefold, not lower
    ],
)
def test_operators_and_terms(query: str, text: str, expected: bool) -> None:
    assert Query.parse(query).matches(text) is expected


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("(orbita OR x", "never closed"),
        ("orbita)", "unexpected ')'"),
        ('"orbita', "quote is never closed"),
        ("orbita AND", "ends where"),
        ("OR orbita", "unexpected 'OR'"),
        ("a AND OR b", "unexpected 'OR'"),
        ("()", "unexpected ')'"),
        ('""', "nothing to search for"),
        ("NOT", "ends where"),
    ],
)
def test_malformed_queries_raise_config_error(query: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        Query.parse(query, key="brands.orbita.query")
    assert fragment in str(info.value)
    assert info.value.key == "brands.orbita.query"
    assert "brands.orbita.query" in str(info.value)


def test_error_names_the_position() -> None:
    with pytest.raises(ConfigError, match="at character 12"):
        Query.parse("orbita AND )")


def test_any_of_keywords() -> None:
    query = Query.any_of(["Órbita", "orbita app", ""])
    assert query.matches("la ORBITA app")
    assert query.matches("órbita")
    assert not query.matches("app")
    with pytest.raises(ConfigError, match="no keywords"):
        Query.any_of([" "], key="brands.x.keywords")


def test_query_keeps_its_text_and_compares_by_value() -> None:
    assert str(Query.parse(BRAND)) == BRAND
    assert Query.parse(BRAND) == Query.parse(BRAND)


words = st.text(alphabet="abcdeñóÁ", min_size=1, max_size=6)


@given(word=words, before=st.text(max_size=10), after=st.text(max_size=10))
def test_a_word_matches_itself_in_any_case(word: str, before: str, after: str) -> None:
    text = f"{before} {word.upper()} {after}"
    assert Query.parse(word).matches(text)
    assert not Query.parse(f"NOT {word}").matches(text)


@given(st.text(max_size=40))
def test_parse_never_fails_other_than_config_error(text: str) -> None:
    try:
        query = Query.parse(text)
    except ConfigError:
        return
    query.matches(text)


@given(st.text(max_size=30))
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)
