"""Enrich: which configured brand a mention is about, and its near-duplicate cluster."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.fold import fold
from pipeline.query import Query
from pipeline.settings import BrandSettings, Settings

_URL = re.compile(r"https?://\S+")
_HANDLE = re.compile(r"[@#]\w+")
_NON_WORD = re.compile(r"[^\w]+")


@dataclass(frozen=True)
class BrandMatcher:
    """Decides which configured brand (own or competitor) a text talks about."""

    brands: tuple[tuple[str, Query | None, tuple[str, ...]], ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> BrandMatcher:
        compiled = []
        for index, brand in enumerate(settings.brands):
            query = Query.parse(brand.query, key=f"brands.{index}.query") if brand.query else None
            compiled.append((brand.name, query, _terms(brand)))
        return cls(tuple(compiled))

    def match(self, text: str, title: str | None = None) -> str | None:
        full = f"{title or ''} {text}"
        folded = fold(full)
        for name, query, terms in self.brands:
            if query is not None:
                if query.matches(full):
                    return name
            elif any(_contains_word(folded, term) for term in terms):
                return name
        return None


def _terms(brand: BrandSettings) -> tuple[str, ...]:
    raw = [brand.name, *brand.keywords, *brand.handles]
    return tuple(sorted({fold(term) for term in raw if term.strip()}))


def _contains_word(folded_text: str, term: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(term)}(?!\w)", folded_text) is not None


def near_duplicate_key(text: str) -> str:
    """Texts that differ only in links, handles, case, accents and punctuation share a key."""
    core = _NON_WORD.sub(" ", fold(_HANDLE.sub(" ", _URL.sub(" ", text)))).strip()
    return hashlib.sha1(core.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


def cluster_keys(texts: Sequence[str]) -> list[str]:
    return [near_duplicate_key(text) for text in texts]
