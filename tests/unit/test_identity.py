"""Customer 360: cross-platform link suggestions from handles, names and emails, and grouping."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.care.identity import (
    Identity,
    customers,
    extract_emails,
    normalise_email,
    normalise_handle,
    normalise_name,
    suggest_links,
)


def test_normalisation() -> None:
    assert normalise_handle("@Ana_García") == "anagarcia"
    assert normalise_handle("u/ana-garcia") == "anagarcia"
    assert normalise_name("García López, Ana") == normalise_name("ana lopez garcia")
    assert normalise_name("Ana") is None
    assert normalise_email("Ana.Garcia+orbita@GMail.com") == "anagarcia@gmail.com"
    assert normalise_email("Ana.Garcia+x@empresa.es") == "ana.garcia@empresa.es"
    assert extract_emails("escríbeme a Ana.Garcia@gmail.com o ana.garcia@gmail.com, gracias") == [
        "anagarcia@gmail.com"
    ]
    assert extract_emails("sin correo") == []


def test_same_email_on_two_platforms_is_a_strong_link() -> None:
    people = [
        Identity("x", "@anita", emails=("ana.garcia@gmail.com",)),
        Identity("youtube", "AnaGVlogs", emails=("anagarcia+yt@gmail.com",)),
        Identity("reddit", "someone_else", emails=("other@example.com",)),
    ]
    [link] = suggest_links(people)
    assert (link.a, link.b) == ("x:@anita", "youtube:anagvlogs")
    assert link.confidence >= 0.95
    assert "same email" in link.evidence[0]


def test_handle_and_name_evidence_combine() -> None:
    people = [
        Identity("x", "@ana_garcia", name="Ana García"),
        Identity("reddit", "u/AnaGarcia", name="ana garcia"),
        Identity("google_reviews", "anagarcia88", name="A. G."),
    ]
    links = {(link.a, link.b): link for link in suggest_links(people, min_confidence=0.3)}
    strong = links[("reddit:u/anagarcia", "x:@ana_garcia")]
    assert strong.confidence > 0.75
    assert len(strong.evidence) == 2
    weak = links[("google_reviews:anagarcia88", "reddit:u/anagarcia")]
    assert weak.confidence < 0.5
    assert "similar handles" in weak.evidence[0]
    # the default threshold keeps only the strong one (and the x/reddit-like pair)
    assert all(s.confidence >= 0.5 for s in suggest_links(people))


def test_email_local_part_matching_a_handle() -> None:
    people = [
        Identity("x", "@pepe_ruiz"),
        Identity("email", "cliente-123", emails=("pepe.ruiz@empresa.es",)),
    ]
    [link] = suggest_links(people)
    assert link.confidence == 0.6
    assert "matches the email" in link.evidence[0]


def test_no_suggestions_within_a_platform_for_short_handles_or_known_pairs() -> None:
    same_platform = [Identity("x", "@anagarcia"), Identity("x", "@ana_garcia")]
    assert suggest_links(same_platform) == []
    short = [Identity("x", "@ana"), Identity("reddit", "ana")]
    assert suggest_links(short) == []
    pair = [Identity("x", "@anagarcia"), Identity("reddit", "anagarcia")]
    assert suggest_links(pair, known={frozenset(("x:@anagarcia", "reddit:anagarcia"))}) == []
    assert len(suggest_links(pair)) == 1


def test_common_names_shared_by_many_are_not_evidence() -> None:
    many = [Identity(f"p{i}", f"user{i}xyz{i}", name="María García") for i in range(30)]
    assert suggest_links(many, min_confidence=0.0) == []


def test_customers_group_confirmed_links() -> None:
    groups = customers(
        ["x:a", "reddit:b", "youtube:c", "x:d"], [("x:a", "reddit:b"), ("reddit:b", "youtube:c")]
    )
    assert groups == [{"x:a", "reddit:b", "youtube:c"}, {"x:d"}]


handles = st.text(alphabet="abcdefgh_.@0123456789", min_size=1, max_size=12)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["x", "reddit", "youtube"]), handles), max_size=12))
def test_suggestions_are_cross_platform_ordered_and_bounded(rows: list[tuple[str, str]]) -> None:
    people = [Identity(p, h) for p, h in rows]
    by_key = {i.key: i for i in people}
    found = suggest_links(people, min_confidence=0.0)
    for link in found:
        assert link.a < link.b
        assert by_key[link.a].platform != by_key[link.b].platform
        assert 0 < link.confidence <= 1
        assert link.evidence
    assert [s.confidence for s in found] == sorted((s.confidence for s in found), reverse=True)
