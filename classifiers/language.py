"""Language identification with lingua, restricted to the languages the models were trained on.

Returns ISO 639-1 codes (``es``, ``en``, ``pt``, ``fr``, ``de``, ``it``, ``ar``, ``hi``) or ``und``
when the text is too short or the detector is unsure. The detector is built once per process.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

logger = logging.getLogger(__name__)

SUPPORTED: tuple[str, ...] = ("es", "en", "pt", "fr", "de", "it", "ar", "hi")
UNDETERMINED = "und"
MIN_LETTERS = 4  # fewer letters than this (after removing handles and links) gives "und"
MIN_CONFIDENCE = 0.3

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
    """Detect the language of each text (``und`` when too short or unsure)."""
    cleaned = [_clean(text) for text in texts]
    result = [UNDETERMINED] * len(texts)
    todo = [i for i, text in enumerate(cleaned) if len(_LETTER.findall(text)) >= MIN_LETTERS]
    if not todo:
        return result
    detector = _detector()
    # one call per batch: lingua spreads the texts over its own threads
    batch = detector.compute_language_confidence_values_in_parallel([cleaned[i] for i in todo])
    for i, values in zip(todo, batch, strict=True):
        if values and values[0].value >= MIN_CONFIDENCE:
            result[i] = _code(values[0].language)
    return result
