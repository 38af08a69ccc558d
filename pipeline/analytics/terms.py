"""The top content words of a set of texts (accents folded, Spanish and English stopwords out)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from pipeline.fold import fold

_STOPWORDS = frozenset(
    " ".join(
        (
            "a al algo algun alguna algunas alguno algunos ante antes aqui asi aun bien cada",
            "casi como con contra cual cuales cuando de del desde donde dos el ella ellas",
            "ello ellos en entre era eran es esa esas ese eso esos esta estaba estado estamos",
            "estan estar estas este esto estos estoy fue fueron ha habia han hasta hay he la",
            "las le les lo los mas me mi mis mucho muy nada ni no nos nosotros o os otra otro",
            "para pero poco por porque que quien se ser si sido sin sobre solo son su sus",
            "tambien te tengo tiene tienen todo todos tu tus un una uno unos usted ya yo vez",
            "hace hoy ayer about after again all also am an and any are as at be because been",
            "before being but by can could did do does doing don for from had has have having",
            "he her here hers him his how i if in into is it its just me more most my no not",
            "now of off on once only or other our out over own same she should so some still",
            "such than that the their them then there these they this those through to too",
            "under until up very was we were what when where which while who why will with",
            "would you your yours get got im ive dont cant wont didnt isnt its rt http https",
            "www com amp via",
        )
    ).split()
)

_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
_STRIP = re.compile(r"https?://\S+|[@#]\w+")


def terms(
    texts: Sequence[str], *, exclude: Sequence[str] = (), limit: int = 20
) -> list[dict[str, Any]]:
    """The most frequent content words, as ``{"term", "mentions"}`` rows, most frequent first.

    Each word counts once per text, so one long rant does not dominate; the words of ``exclude``
    (brand names) are dropped too.
    """
    skip = set(_STOPWORDS)
    for name in exclude:
        skip.update(_WORD.findall(fold(name)))
    counter: Counter[str] = Counter()
    for text in texts:
        words = set(_WORD.findall(fold(_STRIP.sub(" ", text))))
        counter.update(w for w in words if w not in skip)
    return [{"term": term, "mentions": n} for term, n in counter.most_common(limit)]
