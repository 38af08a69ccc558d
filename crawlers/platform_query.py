"""A brand's query in a platform's own search syntax: the brand boolean query (pipeline.query's
parse tree) or its keywords and handles, turned into an X recent-search query.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Literal

from pipeline.errors import ConfigError
from pipeline.query import AnyOf, Node, Not, Query, Term
from pipeline.settings import BrandSettings

logger = logging.getLogger(__name__)

X_QUERY_LIMIT = 512  # characters of a recent-search query on X's self-serve access levels
X_SUFFIX = "-is:retweet"

_X_HANDLE = re.compile(r"@?([A-Za-z0-9_]{1,15})")
_X_BARE = re.compile(r"[#$@]?\w+")  # a word X reads as one token; anything else is quoted
_OTHER_PLATFORM = re.compile(r"/?[ur]/\S+", re.IGNORECASE)  # u/name, r/sub: Reddit's, not X's

Kind = Literal["term", "and", "or"]
# A rendered sub-query and whether it holds a positive term (X searches nothing on exclusions
# alone), or a constant: True matches every post, False none (another platform's handle).
Part = tuple[str, Kind, bool] | bool


def x_handles(handles: Iterable[str]) -> list[str]:
    """The brand's X accounts as ``@name``; handles of other platforms (``u/name``) left out."""
    found: list[str] = []
    for handle in handles:
        match = _X_HANDLE.fullmatch(handle.strip())
        if match and f"@{match.group(1)}" not in found:
            found.append(f"@{match.group(1)}")
    return found


def _x_term(term: Term) -> str | None:
    """One word or phrase in X syntax; None for another platform's handle (never on X)."""
    text = " ".join(term.text.split())
    if term.prefix:
        text = text.rstrip("*").rstrip()
        logger.info("X search has no wildcards: %r is searched as %r", term.text, text)
    if _OTHER_PLATFORM.fullmatch(text):
        return None
    handle = _X_HANDLE.fullmatch(text)
    if text.startswith("@") and handle:
        return f"@{handle.group(1)}"  # the mention operator, also when the brand quoted it
    if not term.phrase and _X_BARE.fullmatch(text):
        return text
    return '"' + text.replace('"', " ") + '"'


class _XRenderer:
    """Negations pushed down to single terms (X cannot negate a group), OR groups in parentheses."""

    def render(self, node: Node, negate: bool = False) -> Part:
        if isinstance(node, Term):
            term = _x_term(node)
            if term is None:
                return negate  # "not a Reddit handle" holds for every post, the handle for none
            return (f"-{term}" if negate else term), "term", not negate
        if isinstance(node, Not):
            return self.render(node.operand, not negate)
        parts = [self.render(operand, negate) for operand in node.operands]
        # De Morgan: a negated AND is an OR of negations, a negated OR an AND of them.
        either = isinstance(node, AnyOf) != negate
        return self._any(parts) if either else self._all(parts)

    @staticmethod
    def _all(parts: list[Part]) -> Part:
        if any(part is False for part in parts):
            return False
        kept = [part for part in parts if not isinstance(part, bool)]
        if not kept:
            return True
        if len(kept) == 1:
            return kept[0]
        return " ".join(p[0] for p in kept), "and", any(p[2] for p in kept)

    @staticmethod
    def _any(parts: list[Part]) -> Part:
        if any(part is True for part in parts):
            return True
        kept = [part for part in parts if not isinstance(part, bool)]
        if not kept:
            return False
        if len(kept) == 1:
            return kept[0]
        texts = [f"({text})" if kind == "and" else text for text, kind, _ in kept]
        return "(" + " OR ".join(texts) + ")", "or", any(p[2] for p in kept)


def x_query(brand: BrandSettings, *, key: str, limit: int = X_QUERY_LIMIT) -> str | None:
    """The X recent-search query for ``brand``: its boolean ``query`` if it has one, otherwise its
    keywords and X handles OR-ed; retweets left out. None when there is nothing to search for.

    A boolean query cannot be cut without changing what it means, so one over ``limit`` is a
    ConfigError naming ``key``; a keyword list over it keeps its first terms and logs a warning
    naming the terms left out.
    """
    if brand.query:
        part = _XRenderer().render(Query.parse(brand.query, key=key).root)
        if isinstance(part, bool) or not part[2]:
            raise ConfigError(
                f"brand {brand.name!r}: its query has no word, phrase or X handle to search for "
                "on X (exclusions and other platforms' handles cannot be searched alone)",
                key=key, hint="add a term to the brand's query, or set `query` on the x source",
            )  # fmt: skip
        built = f"{part[0]} {X_SUFFIX}"  # an OR group is already in parentheses
        if len(built) > limit:
            raise ConfigError(
                f"brand {brand.name!r}: its query in X syntax is {len(built)} characters, over "
                f"X's limit of {limit} for recent search",
                key=key,
                hint="shorten the brand's query, set a shorter `query` on the x source, or raise "
                "the source's `query_limit` if your X access level allows longer queries",
            )
        return built
    terms: list[str] = []
    for keyword in brand.keywords:
        words = " ".join(keyword.replace('"', " ").split())
        if words:
            terms.append(words if _X_BARE.fullmatch(words) else f'"{words}"')
    terms += x_handles(brand.handles)
    terms = list(dict.fromkeys(terms))
    if not terms:
        return None
    kept = list(terms)
    while len(kept) > 1 and len(_or_query(kept)) > limit:
        kept.pop()
    if len(_or_query(kept)) > limit:
        raise ConfigError(
            f"brand {brand.name!r}: {kept[0]!r} alone is over X's query limit of {limit}",
            key=key, hint="use shorter keywords, or set `query` on the x source",
        )  # fmt: skip
    if len(kept) < len(terms):
        logger.warning(
            "the X query for brand %r is cut to X's limit of %d characters: %d of %d keywords and "
            "handles left out (%s); set `query` on the x source to choose them",
            brand.name, limit, len(terms) - len(kept), len(terms), ", ".join(terms[len(kept):]),
        )  # fmt: skip
    return _or_query(kept)


def _or_query(terms: list[str]) -> str:
    return f"({' OR '.join(terms)}) {X_SUFFIX}"
