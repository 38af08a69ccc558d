"""The themes of a period: its words and 2-3-word phrases, each with its volume, sentiment split,
a few example mentions and its growth against the previous period of the same length."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from pipeline.analytics.terms import grams, stopwords
from pipeline.store.listening import Sample

EXAMPLES = 3
MIN_MENTIONS = 2  # a word or phrase seen once is not a theme
_SENTIMENTS = ("negative", "neutral", "positive")


def themes(
    current: Sample,
    previous: Sample | None = None,
    *,
    exclude: Sequence[str] = (),
    limit: int = 20,
) -> dict[str, Any]:
    """The top themes of ``current``, the ones that grew most against ``previous`` first.

    Counts come from the samples; ``mentions`` is the count scaled to the period's total (exact
    when the sample is the whole period). ``growth`` is the relative change of the share of
    mentions holding the theme ((now - before) / before), ``None`` when it is new or there is no
    previous period. The candidates are the ``3 * limit`` most frequent themes, so growth orders
    what is talked about, not one-off words.
    """
    skip = stopwords(exclude)
    counts, sentiment, examples = _count(current, skip)
    before = _count(previous, skip)[0] if previous is not None else Counter[str]()
    scale = current.total / len(current.items) if current.items else 0.0
    candidates = [term for term, n in _distinct(counts).most_common(3 * limit) if n >= MIN_MENTIONS]
    found: list[dict[str, Any]] = []
    for term in candidates:
        n = counts[term]
        share = n / len(current.items)
        prior = None
        if previous is not None and previous.items:
            prior = before[term] / len(previous.items)
        growth = (share - prior) / prior if prior else None
        expected = (prior or 0.0) * len(current.items)
        found.append(
            {
                "term": term,
                "words": term.count(" ") + 1,
                "mentions": round(n * scale),
                "sampled": n,
                "share": share,
                "previous_share": prior,
                "growth": growth,
                "new": previous is not None and bool(previous.items) and not prior,
                # Ranks growth with a little smoothing, so 1 -> 3 does not outrank 100 -> 250.
                "lift": (n + 1) / (expected + 1),
                **{name: sentiment[term][name] for name in _SENTIMENTS},
                "examples": examples[term],
            }
        )
    if previous is not None and previous.items:
        found.sort(key=lambda row: (-row["lift"], -row["sampled"], row["term"]))
    return {
        "items": found[:limit],
        "sample": {
            "current": len(current.items),
            "current_total": current.total,
            "previous": len(previous.items) if previous is not None else 0,
            "previous_total": previous.total if previous is not None else 0,
        },
    }


def _count(
    sample: Sample | None, skip: frozenset[str]
) -> tuple[Counter[str], dict[str, Counter[str]], dict[str, list[dict[str, Any]]]]:
    """Mentions holding each theme, their sentiment, and the most engaged few as examples."""
    counts: Counter[str] = Counter()
    sentiment: dict[str, Counter[str]] = {}
    examples: dict[str, list[dict[str, Any]]] = {}
    if sample is None:
        return counts, sentiment, examples
    # Most engaged first, so the first examples kept for a theme are the ones most people saw.
    for item in sorted(sample.items, key=lambda m: (-m.engagement, m.key)):
        for term in grams(item.text, skip):
            counts[term] += 1
            sentiment.setdefault(term, Counter())[item.sentiment] += 1
            held = examples.setdefault(term, [])
            if len(held) < EXAMPLES:
                held.append({"key": item.key, "text": item.text, "sentiment": item.sentiment})
    return counts, sentiment, examples


def _distinct(counts: Counter[str]) -> Counter[str]:
    """``counts`` without the phrases a longer phrase explains: "caida general" goes when
    "caida general otra" is in as many mentions (single words always stay)."""
    kept = Counter(counts)
    for term, n in counts.items():
        words = term.split(" ")
        if len(words) < 3:
            continue
        for part in (" ".join(words[:-1]), " ".join(words[1:])):
            if counts.get(part, 0) <= n and " " in part:
                kept.pop(part, None)
    return kept
