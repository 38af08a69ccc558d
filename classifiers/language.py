"""Language identification with lingua, restricted to the languages the models were trained on.

Returns ISO 639-1 codes (``es``, ``en``, ``pt``, ``fr``, ``de``, ``it``, ``ar``, ``hi``) or ``und``
when the text is too short or the detector is unsure. The detector is built once per process.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

logger = logging.getLogger(__name__)

SUPPORTED: tuple[str, ...] = ("es", "en", "pt", "fr", "de", "it", "ar", "hi")
UNDETERMINED = "und"
MIN_LETTERS = 4  # fewer letters than this (after removing handles and links) gives "und"
MIN_CONFIDENCE = 0.3

CACHE_SIZE = 50_000  # cleaned texts whose answer is kept (about 10 MB)

_CACHE: dict[str, str] = {}  # cleaned text -> code, oldest first
_LOCK = threading.Lock()
_NOISE = re.compile(r"(https?://\S+|www\.\S+|[@#]\w+|\d+)")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    languages = [
        Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in SUPPORTED
    ]
    logger.debug("building the language detector for %s", ",".join(SUPPORTED))
    return (
        LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()
    )


def _clean(text: str) -> str:
    return _NOISE.sub(" ", text).strip()


def _code(language: Any) -> str:
    return str(language.iso_code_639_1.name).lower()


def detect(text: str) -> str:
    """The ISO 639-1 code of ``text``'s language, or ``und``."""
    return detect_many([text])[0]


def detect_many(texts: Sequence[str]) -> list[str]:
    """Detect the language of each text (``und`` when too short or unsure).

    Each distinct cleaned text goes to lingua once per batch, and answers are kept for the
    last ``CACHE_SIZE`` cleaned texts: retweets, campaigns and the same text with another
    handle or link cost nothing after the first.
    """
    cleaned = [_clean(text) for text in texts]
    result = [UNDETERMINED] * len(texts)
    todo: dict[str, list[int]] = {}
    with _LOCK:
        for i, text in enumerate(cleaned):
            known = _CACHE.get(text)
            if known is not None:
                result[i] = known
            elif text in todo:
                todo[text].append(i)
            elif len(_LETTER.findall(text)) >= MIN_LETTERS:
                todo[text] = [i]
    if not todo:
        return result
    detector = _detector()
    distinct = list(todo)
    # one call per batch: lingua spreads the texts over its own threads
    batch = detector.compute_language_confidence_values_in_parallel(distinct)
    with _LOCK:
        for text, values in zip(distinct, batch, strict=True):
            code = UNDETERMINED
            if values and values[0].value >= MIN_CONFIDENCE:
                code = _code(values[0].language)
            for i in todo[text]:
                result[i] = code
            _CACHE[text] = code
        while len(_CACHE) > CACHE_SIZE:
            del _CACHE[next(iter(_CACHE))]  # oldest first
    return result
