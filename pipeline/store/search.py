"""Named queries behind the mention and case lists: filters, full-text search and pagination.

With a full-text index (``pipeline/store/fulltext.py``) a search asks the index for the matching
mentions, ranked, with the platform and dates applied there, then reads those rows here with the
other filters. Without one, each word of ``q`` is matched as a folded substring.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

import pyarrow as pa

from pipeline.records import FINAL_STATUSES
from pipeline.store import Cursor, rollups, rows, scalar
from pipeline.store.fulltext import FullTextIndex
from pipeline.store.scores import CURRENT_SCORE

# With filters the index cannot apply, the best SEARCH_WINDOW matches are filtered here; past
# that many matches the total is extrapolated from them (and labelled an estimate).
SEARCH_WINDOW = 20_000
# A search first indexes up to this many mentions written since the last index commit, so what
# was just written is found; a larger backlog is left to the service cycle.
CATCH_UP = 5_000

MENTION_COLUMNS = """m.key, m.platform, m.native_id, m.source, m.kind, m.brand, m.text, m.title,
    m.url, coalesce(m.lang, m.lang_hint) AS lang, m.author, m.author_key, m.author_followers,
    m.created_at, m.rating, m.likes, m.replies, m.shares, m.parent_key, m.thread_key,
    s.sentiment, s.p_negative, s.p_neutral, s.p_positive, s.complaint, s.intent,
    s.urgency_score, s.urgency_level, s.urgency_reasons,
    (SELECT min(cm.case_id) FROM case_mentions cm WHERE cm.mention_key = m.key) AS case_id"""


@dataclass(frozen=True)
class MentionFilter:
    q: str | None = None
    platform: str | None = None
    brand: str | None = None
    lang: str | None = None
    sentiment: str | None = None
    min_urgency: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    case: str | None = None  # "open" (attached to a case) or "none"

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("m.platform", self.platform),
            ("m.brand", self.brand),
            ("coalesce(m.lang, m.lang_hint)", self.lang),
            ("s.sentiment", self.sentiment),
        ):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.min_urgency is not None:
            clauses.append("s.urgency_level >= ?")
            params.append(self.min_urgency)
        if self.since is not None:
            clauses.append("m.created_at >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("m.created_at < ?")
            params.append(self.until)
        if self.case == "open":
            clauses.append("EXISTS (SELECT 1 FROM case_mentions cm WHERE cm.mention_key = m.key)")
        elif self.case == "none":
            clauses.append(
                "NOT EXISTS (SELECT 1 FROM case_mentions cm WHERE cm.mention_key = m.key)"
            )
        for word in (self.q or "").split()[:10]:
            clauses.append(
                "strip_accents(lower(coalesce(m.title, '') || ' ' || m.text || ' ' || m.author))"
                " LIKE '%' || strip_accents(lower(?)) || '%' ESCAPE '\\'"
            )
            params.append(word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def beyond_index(self) -> bool:
        """Whether a filter other than the words, platform and dates is set."""
        return bool(self.brand or self.lang or self.sentiment or self.case) or (
            self.min_urgency is not None
        )


@dataclass(frozen=True, slots=True)
class MentionPage:
    """One page of the mention list; ``total_is_estimate`` when counting exactly was too costly."""

    items: list[dict[str, Any]]
    total: int
    total_is_estimate: bool = False
    after: tuple[datetime, str] | None = None  # where the next page starts (newest-first lists)


def mentions(
    cur: Cursor,
    filters: MentionFilter,
    *,
    limit: int = 50,
    offset: int = 0,
    index: FullTextIndex | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """The page and the total (see ``page``)."""
    found = page(cur, filters, limit=limit, offset=offset, index=index)
    return found.items, found.total


def page(
    cur: Cursor,
    filters: MentionFilter,
    *,
    limit: int = 50,
    offset: int = 0,
    after: tuple[datetime, str] | None = None,
    index: FullTextIndex | None = None,
) -> MentionPage:
    """Mentions matching ``filters``: newest first, or best match first when searching ``q``
    with an ``index``."""
    if filters.q and filters.q.strip() and index is not None:
        return _search(cur, filters, index, limit=limit, offset=offset)
    where, params = filters.where()
    scored = filters.sentiment or filters.min_urgency is not None
    base = f"FROM mentions m {CURRENT_SCORE if scored else ''}{where}"
    if filters.q or filters.case:
        total = int(scalar(cur, f"SELECT count(*) {base}", params))
    else:  # the hourly counts hold every other filter: no need to count the mentions
        total = rollups.count(
            cur, platform=filters.platform, brand=filters.brand, lang=filters.lang,
            since=filters.since, until=filters.until, sentiment=filters.sentiment,
            min_urgency=filters.min_urgency,
        )  # fmt: skip
    keyset, keyset_params = "", []
    if after is not None:
        joiner = " AND " if where else " WHERE "
        keyset = f"{joiner}(m.created_at < ? OR (m.created_at = ? AND m.key > ?))"
        keyset_params = [after[0], after[0], after[1]]
    # The page's keys first (Top-N over the mentions alone), then their columns.
    items = rows(
        cur,
        f"""SELECT {MENTION_COLUMNS}
            FROM (SELECT m.key {base}{keyset}
                  ORDER BY m.created_at DESC, m.key LIMIT ? OFFSET ?) page
            JOIN mentions m ON m.key = page.key {CURRENT_SCORE}
            ORDER BY m.created_at DESC, m.key""",  # noqa: S608 - fixed fragments, ? params
        [*params, *keyset_params, limit, offset],
    )
    following = None
    if len(items) == limit:
        following = (items[-1]["created_at"], items[-1]["key"])
    return MentionPage(items, total, after=following)


def _search(
    cur: Cursor, filters: MentionFilter, index: FullTextIndex, *, limit: int, offset: int
) -> MentionPage:
    index.try_index_pending(cur, CATCH_UP)
    q = filters.q or ""
    pushed = partial(
        index.search, q, platform=filters.platform, since=filters.since, until=filters.until
    )
    if not filters.beyond_index():
        hits = pushed(limit=limit, offset=offset)
        return MentionPage(_rows_by_rank(cur, hits.ids, "", [], limit, 0), hits.total)
    hits = pushed(limit=max(SEARCH_WINDOW, offset + limit))
    rest = replace(filters, q=None, platform=None, since=None, until=None)
    where, params = rest.where()
    extra = where.replace(" WHERE ", " AND ", 1)
    items = _rows_by_rank(cur, hits.ids, extra, params, limit, offset)
    matched = _count_by_rank(cur, hits.ids, extra, params)
    if hits.total <= len(hits.ids):
        return MentionPage(items, matched)
    return MentionPage(items, round(matched * hits.total / len(hits.ids)), total_is_estimate=True)


def _rows_by_rank(
    cur: Cursor, ids: list[int], extra: str, params: list[Any], limit: int, offset: int
) -> list[dict[str, Any]]:
    if not ids:
        return []
    cur.register("search_hits", pa.table({"id": ids, "rank": list(range(len(ids)))}))
    try:
        return rows(
            cur,
            f"""SELECT {MENTION_COLUMNS}
                FROM search_hits h JOIN mentions m ON m.search_id = h.id {CURRENT_SCORE}
                WHERE true{extra}
                ORDER BY h.rank LIMIT ? OFFSET ?""",  # noqa: S608 - fixed fragments, ? params
            [*params, limit, offset],
        )
    finally:
        cur.unregister("search_hits")


def _count_by_rank(cur: Cursor, ids: list[int], extra: str, params: list[Any]) -> int:
    if not ids:
        return 0
    cur.register("search_hits", pa.table({"id": ids}))
    try:
        counted = cur.execute(
            f"""SELECT count(*)
                FROM search_hits h JOIN mentions m ON m.search_id = h.id {CURRENT_SCORE}
                WHERE true{extra}""",  # noqa: S608 - fixed fragments, ? params
            params,
        ).fetchall()  # read to the end, so the view can be dropped
        return int(counted[0][0])
    finally:
        cur.unregister("search_hits")


def mention(cur: Cursor, key: str) -> dict[str, Any] | None:
    sql = f"SELECT {MENTION_COLUMNS} FROM mentions m {CURRENT_SCORE} WHERE m.key = ?"  # noqa: S608 - fixed fragments
    found = rows(cur, sql, [key])
    return found[0] if found else None


@dataclass(frozen=True)
class CaseFilter:
    statuses: tuple[str, ...] = ()
    open: bool | None = None
    team: str | None = None
    level: str | None = None
    assignee: str | None = None
    platform: str | None = None
    lang: str | None = None
    brand: str | None = None
    min_urgency: int | None = None
    # The asker's scope (``Principal.case_teams`` / ``case_brands``): None = no limit.
    in_teams: tuple[str, ...] | None = None
    in_brands: tuple[str, ...] | None = None

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, allowed in (("c.team", self.in_teams), ("c.brand", self.in_brands)):
            if allowed is not None:
                clauses.append(f"{column} IN (SELECT unnest(?))")
                params.append(list(allowed))
        if self.statuses:
            clauses.append("c.status IN (SELECT unnest(?))")
            params.append(list(self.statuses))
        if self.open is True:
            clauses.append("c.status NOT IN (SELECT unnest(?))")
            params.append(list(FINAL_STATUSES))
        elif self.open is False:
            clauses.append("c.status IN (SELECT unnest(?))")
            params.append(list(FINAL_STATUSES))
        for column, value in (
            ("c.team", self.team),
            ("c.level", self.level),
            ("c.assignee", self.assignee),
            ("c.platform", self.platform),
            ("c.lang", self.lang),
            ("c.brand", self.brand),
        ):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.min_urgency is not None:
            clauses.append("c.urgency_level >= ?")
            params.append(self.min_urgency)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def cases(
    cur: Cursor, filters: CaseFilter, *, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """The queue: open cases first, then by the due time of the clock that matters now,
    priority and urgency; with the text and link of the mention that opened each."""
    where, params = filters.where()
    total = int(scalar(cur, f"SELECT count(*) FROM cases c{where}", params))  # noqa: S608 - fixed fragments
    # The page of cases first, then the text of their mentions (a lookup per case, not a scan).
    items = rows(
        cur,
        f"""SELECT c.*, m.text AS text, m.url AS url
            FROM (SELECT c.*, CASE WHEN c.first_response_at IS NULL THEN c.first_response_due
                                   ELSE c.resolution_due END AS sla_due
                  FROM cases c{where}
                  ORDER BY (c.status IN ('closed', 'dismissed')), sla_due NULLS LAST,
                           c.priority DESC, c.urgency_level DESC, c.id
                  LIMIT ? OFFSET ?) c
            JOIN mentions m ON m.key = c.mention_key
            ORDER BY (c.status IN ('closed', 'dismissed')), c.sla_due NULLS LAST,
                     c.priority DESC, c.urgency_level DESC, c.id""",  # noqa: S608 - fixed fragments, ? params
        [*params, limit, offset],
    )
    return items, total
