"""The brand boolean query: parse ``(orbita OR "@orbita") AND NOT satélite`` once, match many texts.

Grammar (operators are upper case; adjacent terms are joined by AND)::

    query   := or
    or      := and ("OR" and)*
    and     := not (["AND"] not)*
    not     := "NOT" not | atom
    atom    := WORD | "quoted phrase" | "(" query ")"

A word or phrase matches whole words of the text, ignoring case and accents (``orbita`` matches
"Órbita," and "#orbita" but not "orbitales"); a trailing ``*`` matches any word ending
(``orbit*``). Phrases match their words in order, with any whitespace between them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NoReturn

from pipeline.errors import ConfigError
from pipeline.fold import fold

logger = logging.getLogger(__name__)

_OPERATORS = frozenset({"AND", "OR", "NOT"})
_TOKEN = re.compile(r'\s*(?:(?P<paren>[()])|"(?P<phrase>[^"]*)"|(?P<word>[^\s()"]+)|(?P<bad>"))')
_HINT = 'write it like: (orbita OR "@orbita") AND NOT ("orbita lunar" OR satélite)'


@dataclass(frozen=True, slots=True)
class Term:
    """A word (``prefix`` when it ends in ``*``) or a quoted phrase, as typed."""

    text: str
    phrase: bool
    pattern: re.Pattern[str]

    @property
    def prefix(self) -> bool:
        return self.text.endswith("*")

    def eval(self, text: str) -> bool:
        return self.pattern.search(text) is not None


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node

    def eval(self, text: str) -> bool:
        return not self.operand.eval(text)


@dataclass(frozen=True, slots=True)
class AllOf:
    operands: tuple[Node, ...]

    def eval(self, text: str) -> bool:
        return all(node.eval(text) for node in self.operands)


@dataclass(frozen=True, slots=True)
class AnyOf:
    operands: tuple[Node, ...]

    def eval(self, text: str) -> bool:
        return any(node.eval(text) for node in self.operands)


# The parse tree: what other engines (the full-text index) translate into their own queries.
Node = Term | Not | AllOf | AnyOf


def _term_pattern(term: str) -> re.Pattern[str] | None:
    """A whole-word regex for a word or phrase, or None when nothing searchable is left."""
    prefix = term.endswith("*")
    words = fold(term.rstrip("*")).split()
    if not words:
        return None
    body = r"\s+".join(re.escape(word) for word in words)
    # Boundaries are "not a word character" rather than \b, so "@orbita" and "#orbita" work.
    tail = r"\w*" if prefix else r"(?!\w)"
    return re.compile(rf"(?<!\w){body}{tail}")


class _Parser:
    """Recursive descent over the token list; raises ConfigError with the offending position."""

    def __init__(self, text: str, key: str | None) -> None:
        self.text = text
        self.key = key
        self.tokens: list[tuple[str, str, int]] = []  # (kind, value, offset)
        position = 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None:  # only trailing whitespace is left
                break
            offset = match.start(match.lastgroup or 0)
            if match.group("paren"):
                self.tokens.append(("paren", match.group("paren"), offset))
            elif match.group("phrase") is not None:
                self.tokens.append(("phrase", match.group("phrase"), offset))
            elif match.group("word"):
                word = match.group("word")
                kind = "op" if word in _OPERATORS else "term"
                self.tokens.append((kind, word, offset))
            else:
                self._fail("a quote is never closed", offset)
            position = match.end()
        self.index = 0

    def _fail(self, message: str, offset: int | None = None) -> NoReturn:
        where = f" at character {offset + 1}" if offset is not None else ""
        raise ConfigError(
            f"malformed query {self.text!r}{where}: {message}", key=self.key, hint=_HINT
        )

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def parse(self) -> Node:
        if not self.tokens:
            self._fail("the query is empty")
        node = self._or()
        extra = self._peek()
        if extra is not None:
            self._fail(f"unexpected {extra[1]!r}", extra[2])
        return node

    def _or(self) -> Node:
        operands = [self._and()]
        while (token := self._peek()) and token[:2] == ("op", "OR"):
            self.index += 1
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else AnyOf(tuple(operands))

    def _and(self) -> Node:
        operands = [self._not()]
        while (token := self._peek()) and token[:2] != ("op", "OR") and token[:2] != ("paren", ")"):
            if token[:2] == ("op", "AND"):
                self.index += 1
            operands.append(self._not())
        return operands[0] if len(operands) == 1 else AllOf(tuple(operands))

    def _not(self) -> Node:
        token = self._peek()
        if token is not None and token[:2] == ("op", "NOT"):
            self.index += 1
            return Not(self._not())
        return self._atom()

    def _atom(self) -> Node:
        token = self._peek()
        if token is None:
            self._fail("it ends where a word, phrase or '(' was expected")
        kind, value, offset = token
        self.index += 1
        if kind in ("term", "phrase"):
            pattern = _term_pattern(value)
            if pattern is None:
                self._fail(f"{value!r} has nothing to search for", offset)
            return Term(value, kind == "phrase", pattern)
        if (kind, value) == ("paren", "("):
            node = self._or()
            closing = self._peek()
            if closing is None or closing[:2] != ("paren", ")"):
                self._fail("a '(' is never closed", offset)
            self.index += 1
            return node
        self._fail(f"unexpected {value!r}", offset)


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed brand query: build it with :meth:`parse` or :meth:`any_of`, then :meth:`matches`."""

    text: str
    root: Node

    @classmethod
    def parse(cls, text: str, *, key: str | None = None) -> Query:
        """Parse ``text``; a malformed one raises ConfigError naming ``key`` (brands.NAME.query)."""
        return cls(text, _Parser(text, key).parse())

    @classmethod
    def any_of(cls, terms: Iterable[str], *, key: str | None = None) -> Query:
        """A query matching any of ``terms`` (each taken as a phrase), e.g. a brand's keywords."""
        quoted = [f'"{term.replace(chr(34), " ")}"' for term in terms if term.strip()]
        if not quoted:
            raise ConfigError(
                "no keywords to search for", key=key, hint="list at least one keyword"
            )
        return cls.parse(" OR ".join(quoted), key=key)

    def matches(self, text: str) -> bool:
        """Whether ``text`` satisfies the query (case- and accent-insensitive, whole words)."""
        return self.root.eval(fold(text))

    def __str__(self) -> str:
        return self.text
