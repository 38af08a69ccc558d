"""The bundled sandbox corpus: big enough, varied, well formed, and rebuilt byte for byte."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from crawlers.sandbox import DEFAULT_CORPUS, load_corpus
from pipeline.errors import InputError

PLATFORMS = {"x", "reddit", "youtube", "google_reviews", "forum", "news", "facebook", "instagram"}
SOCIAL = {"facebook", "instagram"}  # comments under the brands' own posts
# The 2,017 items the corpus had before Facebook and Instagram came, as JSON, hashed.
BEFORE_SOCIAL = "01502f8043c990b7bdafe567c57ce0d42199d696e40a4cacbbee8618965ce655"
DAYS = 14


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


def test_it_is_big_enough_and_in_both_languages(corpus):
    assert 1500 <= len(corpus) <= 3000
    langs = Counter(item.lang for item in corpus)
    assert set(langs) == {"es", "en"}
    assert 0.45 <= langs["es"] / len(corpus) <= 0.65


def test_every_platform_brand_and_urgency_level_is_there(corpus):
    assert {item.platform for item in corpus} == PLATFORMS
    brands = Counter(item.expected["brand"] for item in corpus)
    assert {"Orbita", "Celera", "Ondanet"} <= set(brands)
    assert brands["Orbita"] > brands["Celera"] > 0
    complaints = [item for item in corpus if item.expected["complaint"]]
    assert {item.expected["urgency_level"] for item in complaints} == {0, 1, 2, 3}
    for lang in ("es", "en"):
        critical = {i.expected["topic"] for i in complaints
                    if i.lang == lang and i.expected["urgency_level"] == 3}  # fmt: skip
        assert {"safety", "data_leak", "fraud", "outage", "legal"} <= critical
    signals = Counter(s for item in corpus for s in item.expected["signals"])
    assert {"churn", "repeated_contact", "safety", "fraud", "legal", "outage"} <= set(signals)
    intents = Counter(item.expected["intent"] for item in corpus)
    assert {"complaint", "question", "praise", "suggestion", "other"} == set(intents)
    categories = Counter(item.expected["category"] for item in corpus)
    assert categories["spam"] >= 30
    assert categories["offtopic"] >= 30
    assert categories["news"] >= 20


def test_ids_are_unique_and_times_valid(corpus):
    assert len({item.id for item in corpus}) == len(corpus)
    offsets = [item.offset_s for item in corpus]
    assert offsets == sorted(offsets)
    assert offsets[0] >= 0
    assert offsets[-1] < DAYS * 86400
    days = Counter(int(o // 86400) for o in offsets)
    assert len(days) == DAYS
    assert max(days.values()) > 1.5 * sorted(days.values())[DAYS // 2]  # incident spikes
    hours = Counter(int(o % 86400 // 3600) for o in offsets)
    assert hours[20] > 3 * hours[4]  # people post in the evening, not at 4am


def test_threads_point_at_earlier_posts_on_the_same_platform(corpus):
    by_id = {item.id: item for item in corpus}
    replies = [item for item in corpus if item.parent_id]
    assert len(replies) > 200
    for item in replies:
        if item.platform in SOCIAL:  # the thread is the brand's post, which is not a mention
            assert item.thread_id not in by_id
            if item.parent_id != item.thread_id:
                parent = by_id[item.parent_id]
                assert parent.parent_id == item.thread_id  # one level of replies
                assert parent.platform == item.platform and parent.offset_s <= item.offset_s
            continue
        parent, root = by_id[item.parent_id], by_id[item.thread_id]
        assert parent.platform == root.platform == item.platform
        assert parent.offset_s <= item.offset_s
        assert root.parent_id is None


def test_fields_look_like_the_platforms(corpus):
    for item in corpus:
        assert item.url
        assert item.url.startswith("https://sandbox.escucha.local/")
        assert item.text.strip()
        assert item.author
        if item.platform == "google_reviews":
            assert item.rating in {1, 2, 3, 4, 5}
        else:
            assert item.rating is None
        if item.platform == "x":
            assert len(item.text) <= 280
        if item.platform == "news":
            assert item.title
            assert item.kind == "article"


def test_facebook_and_instagram_comments_are_like_the_rest(corpus):
    social = [item for item in corpus if item.platform in SOCIAL]
    assert 0.02 <= len(social) / len(corpus) <= 0.08  # a few percent, added to the rest
    for platform in SOCIAL:
        items = [item for item in social if item.platform == platform]
        assert {item.lang for item in items} == {"es", "en"}
        assert {"complaint", "praise", "question"} <= {i.expected["category"] for i in items}
        assert any(i.expected.get("urgency_level", 0) >= 2 for i in items)
        assert any(i.parent_id != i.thread_id for i in items)  # replies in the threads
    assert {i.expected["brand"] for i in social} == {"Orbita", "Celera", "Ondanet"}
    assert any(i.expected["urgency_level"] == 3 for i in social)
    for item in social:
        assert item.kind == "comment"
        assert item.author_id and item.author_id.isdigit()  # the page-scoped id
        assert item.url.startswith(f"https://sandbox.escucha.local/{item.platform}/")
        if item.platform == "facebook":
            assert item.thread_id.split("_")[1] == item.id.split("_")[0]  # <post>_<comment>
            assert " " in item.author  # Facebook shows people by name
    mention = social[0].to_mention(datetime(2026, 3, 2, tzinfo=UTC))
    assert mention.author_id == social[0].author_id
    assert mention.author_key == f"{mention.platform}:{social[0].author_id}"


def test_the_items_before_facebook_and_instagram_came_stay_as_they_were():
    from crawlers.sandbox.generator import make_corpus

    built = [i for i in make_corpus.build() if i["platform"] not in SOCIAL]
    assert len(built) == 2017  # tests and benchmarks count on these, one by one
    digest = hashlib.sha256(json.dumps(built, ensure_ascii=False, sort_keys=True).encode())
    assert digest.hexdigest() == BEFORE_SOCIAL


def test_it_exercises_escaping_and_query_exclusions(corpus):
    texts = [item.text for item in corpus]
    assert sum("<script>alert(1)</script>" in t for t in texts) >= 2
    assert any("](javascript:alert(1))" in t for t in texts)
    lowered = [t.lower() for t in texts]
    for phrase in ("órbita lunar", "órbita celeste", "satélite", "lunar orbit"):
        assert any(phrase in t for t in lowered), phrase


def test_the_generator_rebuilds_the_file_exactly():
    from crawlers.sandbox.generator import make_corpus

    with gzip.open(DEFAULT_CORPUS, "rt", encoding="utf-8") as handle:
        stored = [json.loads(line) for line in handle]
    assert make_corpus.build() == stored
    assert DEFAULT_CORPUS.stat().st_size < 1_000_000


def test_a_corrupt_line_is_named_with_its_line_number(tmp_path):
    good = {"id": "a", "platform": "x", "text": "hola", "author": "ana", "offset_s": 0}
    path = tmp_path / "corpus.jsonl"
    path.write_text(json.dumps(good) + "\n" + '{"id": "b", "platform": "x"' + "\n")
    with pytest.raises(InputError, match=r"corpus\.jsonl:2: not valid JSON"):
        load_corpus(path)
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "offset_s": "soon"}) + "\n")
    with pytest.raises(InputError, match=r"corpus\.jsonl:2: field 'offset_s'"):
        load_corpus(path)
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(InputError, match="repeats the one on line 1"):
        load_corpus(path)


def test_a_truncated_gzip_is_a_clear_error(tmp_path):
    path = tmp_path / "corpus.jsonl.gz"
    path.write_bytes(DEFAULT_CORPUS.read_bytes()[:5000])
    with pytest.raises(InputError, match="cannot read the corpus"):
        load_corpus(path)
