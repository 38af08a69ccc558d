"""Intent (complaint, question, praise, suggestion, other) from the model's scores and the wording.

No labelled intent data exists for brand mentions, so intent is derived: the complaint head decides
complaints; question marks and Spanish/English question openers decide questions; suggestion
phrases decide suggestions; clearly positive sentiment is praise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pipeline.fold import fold

_QUESTION = re.compile(
    r"(\?|^\s*(how|what|when|where|why|which|who|can|could|does|do|is|are|will|should)\b"
    r"|\b(anyone know|any idea|alguien sabe|sabeis|saben|como puedo|como se|donde|cuando"
    r"|que tengo que|se puede|podeis|pueden|me podrian|is there a way))",
    re.IGNORECASE,
)
_SUGGESTION = re.compile(
    r"\b(you should|should add|would be (nice|great|good)|please add|i suggest|suggestion"
    r"|why not add|it'd be (nice|great)|deberian|seria (bueno|genial|util|ideal)|sugiero|sugerencia"
    r"|propongo|estaria bien|ojala (pusieran|anadieran|tuvieran)|podrian (anadir|poner|incluir))\b",
    re.IGNORECASE,
)


# The patterns are lower-case and run on folded text, where IGNORECASE differs from plain
# matching only for the dotless "ı" (it matches "i"): mapping it and matching case-sensitively
# gives the same answers about twice as fast (tests/unit/test_overhead_equivalence.py).
_SUGGESTION_PLAIN = re.compile(_SUGGESTION.pattern)
_QUESTION_PLAIN = re.compile(_QUESTION.pattern)


def derive_intent(
    text: str,
    sentiment: Mapping[str, float],
    complaint: float,
    threshold: float = 0.5,
    *,
    folded: str | None = None,
) -> str:
    """``folded`` is ``fold(text)`` where the caller has it already."""
    if complaint >= threshold:
        return "complaint"
    if folded is None:
        folded = fold(text)
    plain = folded.replace("ı", "i") if "ı" in folded else folded
    if _SUGGESTION_PLAIN.search(plain):
        return "suggestion"
    if _QUESTION_PLAIN.search(plain):
        return "question"
    if sentiment.get("positive", 0.0) >= 0.5:
        return "praise"
    return "other"
