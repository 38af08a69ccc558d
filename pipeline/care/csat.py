"""CSAT: the one-question survey sent after a case closes, and parsing the customer's reply to 1-5.

Replies are free text in Spanish or English: "5", "un 4, muy rápidos", "3/5", "8 de 10",
"cinco estrellas", "★★★★", "terrible", "excellent", "no muy bien". A reply that says nothing
clear gives ``None`` with the reason, so an agent can read it instead of a guess being recorded.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pipeline.errors import ConfigError
from pipeline.fold import fold
from pipeline.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CsatReading:
    """A parsed reply: the 1-5 score or None, and why."""

    score: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class CsatSummary:
    """CSAT for the care metrics: responses, mean, share of 4-5 ("satisfied") and distribution."""

    responses: int
    mean: float | None
    satisfied_share: float | None  # the usual "CSAT %": share of 4 and 5
    distribution: dict[int, int] = field(default_factory=dict)


def survey_text(settings: Settings, lang: str | None, **values: str) -> str:
    """The survey question in the customer's language (falling back to the default language).

    ``values`` fill placeholders such as ``{author}`` or ``{brand}``; unknown ones are left as is.
    """
    text = settings.template(lang).csat or settings.template(settings.default_language).csat
    if not text:
        raise ConfigError(
            "no CSAT survey text", key=f"templates.{lang or settings.default_language}.csat"
        )
    return text.format_map(_Keep(values))


class _Keep(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _split(words: str) -> list[str]:
    return words.split()


_NUMBER_WORDS: Mapping[str, int] = {
    "uno": 1, "una": 1, "one": 1, "dos": 2, "two": 2, "tres": 3, "three": 3,
    "cuatro": 4, "four": 4, "cinco": 5, "five": 5, "diez": 10, "ten": 10,
}  # fmt: skip
_UNIT_WORDS = r"(?:estrellas?|stars?|puntos?|points?)"
_SCALE = r"(?:/|de|sobre|out\s+of|of)\s*(5|10|cinco|diez|five|ten)\b"
# Words in order of strength; phrases are checked before single words.
_PHRASES: tuple[tuple[str, int], ...] = (
    ("no muy bien", 2), ("not very good", 2), ("not so good", 2), ("not good", 2),
    ("no bien", 2), ("nada bien", 1), ("not great", 2), ("no muy mal", 3), ("not bad", 4),
    ("no esta mal", 4), ("nada mal", 4), ("muy mal", 1), ("very bad", 1), ("muy malo", 1),
    ("muy bien", 5), ("very good", 5), ("muy bueno", 5), ("muy buena", 5), ("de diez", 5),
    ("so so", 3), ("mas o menos", 3), ("ni bien ni mal", 3), ("could be better", 3),
    ("podria ser mejor", 3),
)  # fmt: skip
_WORDS: Mapping[str, int] = {
    **dict.fromkeys(
        _split(
            "terrible horrible pesimo pesima fatal malisimo malisima awful horrendo lamentable "
            "desastre desastroso disaster worst peor useless inutil"
        ),
        1,
    ),
    **dict.fromkeys(_split("mal malo mala bad poor deficiente lento slow regularcillo"), 2),
    **dict.fromkeys(_split("regular normal ok okay aceptable meh correcto correcta average"), 3),
    **dict.fromkeys(
        _split(
            "bien bueno buena good fine satisfecho satisfecha satisfied rapido rapidos rapida "
            "quick fast amables helpful util"
        ),
        4,
    ),
    **dict.fromkeys(
        _split(
            "excelente excellent perfecto perfecta perfect genial great estupendo estupenda "
            "fantastico fantastica fantastic increible incredible amazing awesome outstanding "
            "maravilloso maravillosa wonderful brillante brilliant inmejorable superb top"
        ),
        5,
    ),
}
_NOT_A_SCORE = re.compile(
    r"^\s*(?:dias?|days?|horas?|hours?|h|min|minutos?|minutes?|semanas?|weeks?|meses|months?"
    r"|euros?|eur|€|\$|%|x|gb|mb|veces|times|am|pm)\b"
)


def parse_reply(text: str) -> CsatReading:
    """Read a 1-5 score from a free-text reply in Spanish or English; None with a reason."""
    stars = text.count("★") + text.count("⭐")
    if 1 <= stars <= 5:
        return CsatReading(stars, f"{stars} star symbols")
    norm = _normalise(text)
    if not norm:
        return CsatReading(None, "empty reply")
    scaled = _scaled(norm)
    if scaled is not None:
        return scaled
    numeric = _numeric(norm)
    if numeric is not None:
        return numeric
    return _wording(norm)


def summarise(scores: Iterable[int]) -> CsatSummary:
    """Aggregate recorded 1-5 scores for the care metrics."""
    values = [s for s in scores if 1 <= s <= 5]
    if not values:
        return CsatSummary(0, None, None, {})
    counts = Counter(values)
    return CsatSummary(
        responses=len(values),
        mean=sum(values) / len(values),
        satisfied_share=(counts[4] + counts[5]) / len(values),
        distribution={k: counts[k] for k in range(1, 6)},
    )


def _normalise(text: str) -> str:
    """Lower case, no accents, punctuation (but '/' and '.') as spaces, single spaces."""
    plain = fold(text)
    plain = re.sub(r"[^\w/.,€$%\s]", " ", plain)
    plain = re.sub(r"(?<!\d)[.,]|[.,](?!\d)", " ", plain)
    return " ".join(plain.split())


def _to_number(token: str) -> float | None:
    if token in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[token])
    try:
        return float(token.replace(",", "."))
    except ValueError:
        return None


def _on_five(value: float, scale: float) -> int | None:
    """Map a mark on a 0-``scale`` scale to 1-5, halves rounding up."""
    if not 0 <= value <= scale:
        return None
    return max(1, min(5, math.floor(value / scale * 5 + 0.5)))


def _scaled(norm: str) -> CsatReading | None:
    """ "3/5", "4 de 5", "8 sobre 10", "four out of five"."""
    words = "|".join(_NUMBER_WORDS)
    found = {
        (m.group(1), m.group(2))
        for m in re.finditer(rf"\b(\d+(?:[.,]\d+)?|{words})\s*{_SCALE}", norm)
    }
    readings = set()
    for raw, raw_scale in found:
        value, scale = _to_number(raw), _to_number(raw_scale)
        if value is not None and scale is not None:
            score = _on_five(value, scale)
            if score is not None:
                readings.add(score)
    if len(readings) == 1:
        score = readings.pop()
        return CsatReading(score, f"explicit scale ({', '.join(sorted(r for r, _ in found))})")
    if len(readings) > 1:
        return CsatReading(None, "several different ratings")
    return None


def _numeric(norm: str) -> CsatReading | None:
    """A bare number 1-5 (or "un 10"), or a number word before "estrellas"/"stars"."""
    candidates: set[int] = set()
    for match in re.finditer(r"(?<![\d/:.,-])(\d+(?:[.,]\d+)?)(?![\d/:]|[.,]\d)", norm):
        if _NOT_A_SCORE.match(norm[match.end() :]):
            continue
        value = float(match.group(1).replace(",", "."))
        if 1 <= value <= 5:
            candidates.add(min(5, math.floor(value + 0.5)))
        elif value == 10:
            candidates.add(5)  # "un 10": perfect, as a mark out of ten
        elif value == 0:
            candidates.add(1)
    words = "|".join(_NUMBER_WORDS)
    for match in re.finditer(rf"\b({words})\s+{_UNIT_WORDS}", norm):
        candidates.add(min(5, _NUMBER_WORDS[match.group(1)]))
    tokens = norm.split()
    # a short reply led by a number word: "cuatro", "cinco, genial", "two"; not "one of the best"
    short = len(tokens) <= 3 and tokens[1:2] not in (["of"], ["de"])
    article = tokens[0] in ("una", "uno") and len(tokens) > 1  # "una pena", not a rating
    if tokens[0] in _NUMBER_WORDS and short and not article:
        candidates.add(min(5, _NUMBER_WORDS[tokens[0]]))
    if len(candidates) == 1:
        score = candidates.pop()
        return CsatReading(score, "number in the reply")
    if len(candidates) > 1:
        return CsatReading(None, "several different numbers; ask again or read it")
    return None


def _wording(norm: str) -> CsatReading:
    """Words that say how it went: "terrible", "muy bien", "not good", "excellent"."""
    padded = f" {norm} "
    for phrase, score in _PHRASES:
        if f" {phrase} " in padded:
            return CsatReading(score, f"wording: {phrase!r}")
    scores = {_WORDS[w] for w in norm.split() if w in _WORDS}
    if not scores:
        return CsatReading(None, "no rating found")
    strongest = {s for s in scores if s in (1, 5)} or scores
    if len(strongest) == 1:
        score = strongest.pop()
        return CsatReading(score, "wording")
    if strongest == {1, 5}:
        return CsatReading(None, "mixed wording")
    return CsatReading(round(sum(scores) / len(scores)), "mixed wording, averaged")
