"""The top content words and phrases of a set of texts (accents folded, Spanish and English
stopwords out): what ``terms`` counts, and the words and 2-3-word phrases of one text (``grams``)
that the themes of a period are counted from."""

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
_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)
_STRIP = re.compile(r"https?://\S+|[@#]\w+")
# A break in a phrase: punctuation between two words, or a number ("3 dias" is not "dias").
_BREAK = re.compile(r"[.,;:!?¡¿()\[\]{}\"«»…|/\\\n\r\t]+|\d+")
MAX_PHRASE = 3


def stopwords(exclude: Sequence[str] = ()) -> frozenset[str]:
    """The words never counted on their own: stopwords, and the words of ``exclude`` (brands)."""
    skip = set(_STOPWORDS)
    for name in exclude:
        skip.update(_WORD.findall(fold(name)))
    return frozenset(skip)


def grams(text: str, skip: frozenset[str], *, longest: int = MAX_PHRASE) -> set[str]:
    """The content words of ``text`` and its phrases of 2 to ``longest`` words, folded.

    A phrase runs inside one clause (punctuation and numbers break it), and begins and ends with a
    content word; words between may be stopwords ("fuga de gas"). ``skip`` is :func:`stopwords`.
    """
    found: set[str] = set()
    for clause in _BREAK.split(fold(_STRIP.sub(" ", text))):
        words = _TOKEN.findall(clause)
        content = [len(w) >= 3 and w not in skip for w in words]
        for i, word in enumerate(words):
            if not content[i]:
                continue
            found.add(word)
            for size in range(2, longest + 1):
                end = i + size - 1
                if end >= len(words):
                    break
                if content[end]:
                    found.add(" ".join(words[i : end + 1]))
    return found


def terms(
    texts: Sequence[str], *, exclude: Sequence[str] = (), limit: int = 20
) -> list[dict[str, Any]]:
    """The most frequent content words, as ``{"term", "mentions"}`` rows, most frequent first.

    Each word counts once per text, so one long rant does not dominate; the words of ``exclude``
    (brand names) are dropped too.
    """
    skip = stopwords(exclude)
    counter: Counter[str] = Counter()
    for text in texts:
        words = set(_WORD.findall(fold(_STRIP.sub(" ", text))))
        counter.update(w for w in words if w not in skip)
    return [{"term": term, "mentions": n} for term, n in counter.most_common(limit)]
