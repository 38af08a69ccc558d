"""One accent- and case-folding rule for every match in escucha ("Órbita" == "orbita")."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Strip accents and fold case, so one pattern matches "Cómo", "como" and "COMO"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
