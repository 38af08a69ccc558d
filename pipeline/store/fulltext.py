"""The full-text index of the mentions (Tantivy): folded, stemmed in Spanish and English, ranked.

It lives beside the database in ``<database>.search/`` (in memory for ":memory:") and follows the
``mentions`` table through ``search_seq`` (migration 0006): ``index_pending`` re-indexes every
mention written since the last index commit, and that commit carries the highest ``search_seq`` it
holds, so a crash between the database commit and the index commit is repaired by the next call
(delete by key, then add: nothing lost, nothing twice). A missing, unreadable or outdated index is
rebuilt from the database.

Queries use the brand query syntax (``pipeline/query.py``): words (all of them must match),
"quoted phrases", AND / OR / NOT, parentheses and a trailing ``*`` for any word ending. Words match
their Spanish or English stem ("facturas" finds "factura", "charged" finds "charge"); phrases and
prefixes match the folded words as written.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tantivy

from pipeline.errors import ConfigError
from pipeline.fold import fold
from pipeline.query import AnyOf, Node, Not, Query, Term

if TYPE_CHECKING:
    from pipeline.store import Cursor, Store

logger = logging.getLogger(__name__)

# Bump when the schema or the analyzers change: an index of another version is rebuilt.
SCHEMA_VERSION = 1
BATCH = 50_000
_META_KEY = "\x00meta"  # the one document holding the committed search_seq; no mention key has NUL
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WORD = re.compile(r'[^\s()"]+')
_OPERATORS = frozenset({"AND", "OR", "NOT"})
_ANALYZERS = {"escucha_plain": None, "escucha_es": "spanish", "escucha_en": "english"}


def _analyzer(stemmer: str | None) -> tantivy.TextAnalyzer:
    builder = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(64))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
    )
    if stemmer is not None:
        builder = builder.filter(tantivy.Filter.stemmer(stemmer))
    return builder.build()


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("key", tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("id", indexed=True, fast=True)  # mentions.search_id
    builder.add_text_field("plain", tokenizer_name="escucha_plain", index_option="position")
    builder.add_text_field("es", tokenizer_name="escucha_es", index_option="freq")
    builder.add_text_field("en", tokenizer_name="escucha_en", index_option="freq")
    builder.add_text_field("platform", tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("created", indexed=True, fast=True)  # microseconds since 1970
    builder.add_integer_field("seq", stored=True)  # on the meta document only
    builder.add_integer_field("version", stored=True)  # on the meta document only
    return builder.build()


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Hits:
    """Search ids (``mentions.search_id``) best first, and how many documents match in all."""

    ids: list[int]
    total: int


class FullTextIndex:
    """One Tantivy index; writes are serialised by a lock, reads run beside them."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._schema = _schema()
        self._analyzers = {name: _analyzer(stem) for name, stem in _ANALYZERS.items()}
        self._index = self._open()

    # -- opening ---------------------------------------------------------------------------------

    def _new(self) -> tantivy.Index:
        if self.path is None:
            index = tantivy.Index(self._schema)
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            index = tantivy.Index(self._schema, path=str(self.path), reuse=False)
        self._register(index)
        return index

    def _register(self, index: tantivy.Index) -> None:
        for name, analyzer in self._analyzers.items():
            index.register_tokenizer(name, analyzer)

    def _open(self) -> tantivy.Index:
        if self.path is None:
            return self._new()
        if not (self.path / "meta.json").exists():
            logger.warning(
                "no full-text index at %s; building it from the database", self.path,
                extra={"index": str(self.path)},
            )  # fmt: skip
            shutil.rmtree(self.path, ignore_errors=True)
            return self._new()
        try:
            index = tantivy.Index.open(str(self.path))
            self._register(index)
            index.reload()
            version = self._meta(index).get("version")
        except (ValueError, OSError, KeyError, IndexError) as exc:
            reason = f"it cannot be read ({exc})"
        else:
            if version == SCHEMA_VERSION:
                return index
            reason = f"it is version {version}, this escucha writes {SCHEMA_VERSION}"
        logger.warning(
            "rebuilding the full-text index at %s from the database: %s", self.path, reason,
            extra={"index": str(self.path)},
        )  # fmt: skip
        shutil.rmtree(self.path, ignore_errors=True)
        return self._new()

    def _meta(self, index: tantivy.Index) -> dict[str, int]:
        searcher = index.searcher()
        query = tantivy.Query.term_query(self._schema, "key", _META_KEY)
        hits = searcher.search(query, 1, count=False).hits
        if not hits:
            return {"seq": 0, "version": SCHEMA_VERSION}
        doc = searcher.doc(hits[0][1])
        return {"seq": int(doc["seq"][0]), "version": int(doc["version"][0])}

    # -- writing ---------------------------------------------------------------------------------

    def committed_seq(self) -> int:
        """The highest ``search_seq`` the index holds (0 when empty)."""
        return self._meta(self._index)["seq"]

    def index_pending(self, cur: Cursor, limit: int | None = None) -> int:
        """Index the mentions written since the last commit (at most ``limit``); return how many."""
        with self._lock:
            return self._index_pending(cur, limit)

    def try_index_pending(self, cur: Cursor, limit: int) -> int:
        """``index_pending`` unless another thread is at it (then 0, without waiting)."""
        if not self._lock.acquire(blocking=False):
            return 0
        try:
            return self._index_pending(cur, limit)
        finally:
            self._lock.release()

    def _index_pending(self, cur: Cursor, limit: int | None) -> int:
        done = 0
        seq = self.committed_seq()
        writer: tantivy.IndexWriter | None = None
        try:
            while limit is None or done < limit:
                size = BATCH if limit is None else min(BATCH, limit - done)
                batch = cur.execute(
                    """SELECT key, search_id, search_seq, platform, created_at,
                           coalesce(title, '') || ' ' || text || ' ' || author
                       FROM mentions WHERE search_seq > ? ORDER BY search_seq LIMIT ?""",
                    [seq, size],
                ).fetchall()
                if not batch:
                    break
                if writer is None:
                    writer = self._index.writer(heap_size=64_000_000, num_threads=1)
                for key, search_id, _, platform, created_at, words in batch:
                    writer.delete_documents_by_term("key", key)
                    folded = fold(words)
                    writer.add_document(
                        tantivy.Document(
                            key=key, id=search_id, plain=folded, es=folded, en=folded,
                            platform=platform, created=_micros(created_at),
                        )
                    )  # fmt: skip
                seq = int(batch[-1][2])
                self._commit(writer, seq)
                done += len(batch)
                if len(batch) < size:
                    break
        finally:
            if writer is not None:
                writer.wait_merging_threads()  # also releases the index's write lock
        if done:
            self._index.reload()
            logger.info("indexed %d mentions for search", done, extra={"seq": seq})
        return done

    def _commit(self, writer: tantivy.IndexWriter, seq: int) -> None:
        # The watermark travels in the same commit as the documents: both or neither.
        writer.delete_documents_by_term("key", _META_KEY)
        writer.add_document(tantivy.Document(key=_META_KEY, seq=seq, version=SCHEMA_VERSION))
        writer.commit()

    def remove(self, keys: Sequence[str]) -> None:
        """Delete mentions from the index (after they are deleted from the database)."""
        if not keys:
            return
        with self._lock:
            writer = self._index.writer(heap_size=15_000_000, num_threads=1)
            for key in keys:
                writer.delete_documents_by_term("key", key)
            writer.commit()
            writer.wait_merging_threads()
            self._index.reload()

    # -- reading ---------------------------------------------------------------------------------

    def search(
        self,
        q: str,
        *,
        platform: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> Hits:
        """The mentions matching ``q`` (brand query syntax), best first, and how many match."""
        query = self.parse(q)
        if query is None:
            return Hits([], 0)
        must = [(tantivy.Occur.Must, query)]
        if platform:
            term = tantivy.Query.term_query(self._schema, "platform", platform)
            must.append((tantivy.Occur.Must, term))
        if since is not None or until is not None:
            span = tantivy.Query.range_query(
                self._schema, "created", tantivy.FieldType.Integer,
                None if since is None else _micros(since),
                None if until is None else _micros(until),
                include_upper=until is None,
            )  # fmt: skip
            must.append((tantivy.Occur.Must, span))
        meta = tantivy.Query.term_query(self._schema, "key", _META_KEY)
        must.append((tantivy.Occur.MustNot, meta))
        searcher = self._index.searcher()
        found = searcher.search(
            tantivy.Query.boolean_query(must), max(limit, 0), count=True, offset=offset
        )
        addresses = [address for _, address in found.hits]
        ids = searcher.fast_field_values("id", addresses) if addresses else []
        total = getattr(found, "count", None)  # set with count=True; missing from the stubs
        return Hits([int(i) for i in ids if i is not None], int(total or 0))

    def parse(self, q: str) -> tantivy.Query | None:
        """``q`` (the brand query grammar) as an engine query; None when it holds nothing to
        search for.

        A query the grammar cannot read (a stray operator, parenthesis or quote) is taken as
        plain words, since it was typed into a search box, not a settings file.
        """
        try:
            root = Query.parse(q).root
        except ConfigError:
            words = [w for w in _WORD.findall(q) if w not in _OPERATORS and _searchable(w)]
            if not words:
                return None
            root = Query.parse(" ".join(words)).root
        node = self._build(root)
        return None if node is None else _positive(node)

    def _build(self, node: Node) -> _Built | None:
        """Translate one node of the parse tree; NOT comes back as "not wanted"."""
        if isinstance(node, Term):
            found = self.term(node.text, phrase=node.phrase)
            return None if found is None else (True, found)
        if isinstance(node, Not):
            inner = self._build(node.operand)
            return None if inner is None else (not inner[0], inner[1])
        kept = [built for child in node.operands if (built := self._build(child)) is not None]
        if len(kept) <= 1:
            return kept[0] if kept else None
        if isinstance(node, AnyOf):
            options = [(tantivy.Occur.Should, _positive(built)) for built in kept]
            return (True, tantivy.Query.boolean_query(options))
        clauses = [(tantivy.Occur.Must if ok else tantivy.Occur.MustNot, q) for ok, q in kept]
        if not any(ok for ok, _ in kept):
            clauses.append((tantivy.Occur.Must, tantivy.Query.all_query()))
        return (True, tantivy.Query.boolean_query(clauses))

    def _analyze(self, name: str, text: str) -> list[str]:
        return list(self._analyzers[name].analyze(text))

    def term(self, text: str, *, phrase: bool) -> tantivy.Query | None:
        """One word or phrase of a query."""
        prefix = text.endswith("*")
        words: list[str | tuple[int, str]] = []
        words.extend(self._analyze("escucha_plain", fold(text.rstrip("*"))))
        schema = self._schema
        if not words:
            return None
        if prefix:
            if len(words) == 1:
                return tantivy.Query.regex_query(schema, "plain", re.escape(str(words[0])) + ".*")
            return tantivy.Query.phrase_prefix_query(schema, "plain", words)
        if len(words) > 1:
            return tantivy.Query.phrase_query(schema, "plain", words)
        word = str(words[0])
        exact = tantivy.Query.term_query(schema, "plain", word)
        if phrase:
            return exact
        options = [(tantivy.Occur.Should, tantivy.Query.boost_query(exact, 2.0))]
        for field, name in (("es", "escucha_es"), ("en", "escucha_en")):
            for stem in self._analyze(name, word):
                options.append(
                    (tantivy.Occur.Should, tantivy.Query.term_query(schema, field, stem))
                )
        return tantivy.Query.boolean_query(options)


def _searchable(word: str) -> bool:
    return bool(fold(word.rstrip("*")).split())


# A query and whether it is wanted (False: the documents it matches are excluded).
_Built = tuple[bool, Any]


def _positive(node: _Built) -> Any:
    wanted, query = node
    if wanted:
        return query
    return tantivy.Query.boolean_query(
        [(tantivy.Occur.Must, tantivy.Query.all_query()), (tantivy.Occur.MustNot, query)]
    )


# -- one index per open store ---------------------------------------------------------------------

_open_indexes: weakref.WeakKeyDictionary[Store, FullTextIndex] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def index_path(database: str) -> Path | None:
    """Where the index of ``database`` lives; None (in memory) for ":memory:"."""
    return None if database == ":memory:" else Path(database + ".search")


def index_for(store: Store) -> FullTextIndex:
    """The full-text index of ``store``, opened (or rebuilt) on first use."""
    with _registry_lock:
        index = _open_indexes.get(store)
        if index is None:
            index = FullTextIndex(index_path(store.path))
            _open_indexes[store] = index
        return index


def index_pending(store: Store, limit: int | None = 100_000) -> int:
    """Bring the index of ``store`` up to date (at most ``limit`` mentions); return how many."""
    index = index_for(store)
    with store.read() as cur:
        return index.index_pending(cur, limit)


def remove(store: Store, keys: Sequence[str]) -> None:
    """Delete mentions from the index of ``store``."""
    index_for(store).remove(keys)


def mark_changed(cur: Cursor, keys: Sequence[str]) -> None:
    """Queue mentions whose words changed for re-indexing (inside the writing transaction)."""
    cur.execute(
        "UPDATE mentions SET search_seq = nextval('mention_search_seq')"
        " WHERE key IN (SELECT unnest(?))",
        [list(keys)],
    )
