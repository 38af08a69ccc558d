"""Named queries behind the mention and case lists: filters, word search and pagination."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipeline.records import FINAL_STATUSES
from pipeline.store import Cursor, rows, scalar
from pipeline.store.scores import CURRENT_SCORE

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


def mentions(
    cur: Cursor, filters: MentionFilter, *, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    where, params = filters.where()
    base = f"FROM mentions m {CURRENT_SCORE}{where}"
    total = int(scalar(cur, f"SELECT count(*) {base}", params))
    items = rows(
        cur,
        f"SELECT {MENTION_COLUMNS} {base} ORDER BY m.created_at DESC, m.key LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return items, total


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

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
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
    where, params = filters.where()
    base = f"FROM cases c JOIN mentions m ON m.key = c.mention_key{where}"
    total = int(scalar(cur, f"SELECT count(*) {base}", params))
    items = rows(
        cur,
        f"""SELECT c.*, m.text AS text, m.url AS url,
                CASE WHEN c.first_response_at IS NULL THEN c.first_response_due
                     ELSE c.resolution_due END AS sla_due
            {base}
            ORDER BY (c.status IN ('closed', 'dismissed')), sla_due NULLS LAST,
                     c.priority DESC, c.urgency_level DESC, c.id
            LIMIT ? OFFSET ?""",
        [*params, limit, offset],
    )
    return items, total
