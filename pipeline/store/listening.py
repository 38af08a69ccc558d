"""Named queries behind "listening that explains itself": samples of texts for themes, authors,
urgency reasons per bucket, and a crisis window (hourly counts, mentions, cases, alerts).

The filters are the dashboard's ``Filters``; WHERE clauses come from fixed fragments with ``?``
parameters only. Judging the rows (growth, categories, baselines) is ``pipeline.analytics``'s job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pipeline.store import Cursor, one, rollups, rows
from pipeline.store.aggregates import Bucket, Filters, _bucket, _cells, _mention_where
from pipeline.store.scores import CURRENT_SCORE, SCORED
from pipeline.store.search import MENTION_COLUMNS

# Texts read for the themes of one period: enough for stable shares, few enough to stay fast.
THEMES_SAMPLE = 4000
EXCERPT = 400  # characters of a text kept for themes and their examples


@dataclass(frozen=True, slots=True)
class SampledMention:
    """A mention read for its words: its text (cut to ``EXCERPT``), sentiment and engagement."""

    key: str
    text: str
    sentiment: str  # '' while not scored
    engagement: int


@dataclass(frozen=True, slots=True)
class Sample:
    """Some of the mentions of a period (all of them when ``len(items) == total``)."""

    items: list[SampledMention]
    total: int


def sample(cur: Cursor, f: Filters, *, limit: int = THEMES_SAMPLE) -> Sample:
    """Up to ``limit`` mentions of the selection, spread over the period (ordered by a hash of
    their key, so the same selection reads the same mentions), and how many there are in all."""
    total = rollups.count(
        cur, platform=f.platform, brand=f.brand, lang=f.lang, since=f.since, until=f.until
    )
    if total == 0:
        return Sample([], 0)
    where, params = _mention_where(f)
    found = cur.execute(
        f"""SELECT m.key, left(m.text, ?), coalesce(s.sentiment, ''),
                   (m.likes + m.replies + m.shares)::BIGINT
            FROM mentions m {CURRENT_SCORE}{where}
            ORDER BY hash(m.key), m.key LIMIT ?""",  # noqa: S608 - fixed fragments, ? params
        [EXCERPT, *params, limit],
    ).fetchall()
    items = [SampledMention(key, text, sentiment, int(n)) for key, text, sentiment, n in found]
    return Sample(items, max(total, len(items)))


def reason_counts(cur: Cursor, f: Filters, bucket: Bucket = "day") -> list[dict[str, Any]]:
    """Scored mentions per bucket and urgency reason, the reason's numbers written as ``#``
    ("reach: # followers"), so one reason is one row whatever its figures."""
    where, params = _mention_where(f)
    joiner = " AND " if where else " WHERE "
    return rows(
        cur,
        f"""SELECT {_bucket(bucket)} AS bucket, reason, count(*)::BIGINT AS mentions FROM (
                SELECT date_trunc('hour', m.created_at) AS hour,
                       unnest(list_distinct(list_transform(s.urgency_reasons,
                           lambda r: regexp_replace(r, '[0-9][0-9.,]*[kM]?', '#', 'g')))) AS reason
                FROM mentions m {SCORED}{where}{joiner}len(s.urgency_reasons) > 0)
            GROUP BY ALL ORDER BY bucket, mentions DESC, reason""",  # noqa: S608 - fixed fragments, ? params
        params,
    )


AuthorOrder = Literal["reach", "volume"]


def top_authors(cur: Cursor, f: Filters, *, limit: int = 10) -> dict[str, list[dict[str, Any]]]:
    """The authors of the selection with the most reach (followers, then engagement) and with
    the most mentions, each with their sentiment counts: ``{"reach": [...], "volume": [...]}``.

    Followers nobody recorded count as none: such authors rank by engagement only."""
    where, params = _mention_where(f)
    found = rows(
        cur,
        f"""WITH per_author AS (
                SELECT m.author_key, arg_max(m.author, m.created_at) AS author,
                       any_value(m.platform) AS platform, count(*)::BIGINT AS mentions,
                       max(m.author_followers) AS followers,
                       sum(m.likes + m.replies + m.shares)::BIGINT AS engagement,
                       count(*) FILTER (WHERE s.sentiment = 'negative')::BIGINT AS negative,
                       count(*) FILTER (WHERE s.sentiment = 'neutral')::BIGINT AS neutral,
                       count(*) FILTER (WHERE s.sentiment = 'positive')::BIGINT AS positive,
                       max(m.created_at) AS last_seen
                FROM mentions m {CURRENT_SCORE}{where}
                GROUP BY m.author_key)
            SELECT *,
                   row_number() OVER (ORDER BY coalesce(followers, 0) DESC, engagement DESC,
                                      mentions DESC, author_key) AS reach_rank,
                   row_number() OVER (ORDER BY mentions DESC, engagement DESC, author_key)
                       AS volume_rank
            FROM per_author
            QUALIFY reach_rank <= ? OR volume_rank <= ?""",  # noqa: S608 - fixed fragments, ? params
        [*params, limit, limit],
    )
    by_reach = sorted((r for r in found if r["reach_rank"] <= limit), key=lambda r: r["reach_rank"])
    by_volume = sorted(
        (r for r in found if r["volume_rank"] <= limit), key=lambda r: r["volume_rank"]
    )
    return {"reach": by_reach, "volume": by_volume}


# -- a crisis window -------------------------------------------------------------------------------


def hourly_sentiment(cur: Cursor, f: Filters) -> list[dict[str, Any]]:
    """Per hour with mentions: how many, how many scored, how many scored negative."""
    cells, params = _cells(f)
    return rows(
        cur,
        f"""SELECT hour, sum(mentions)::BIGINT AS mentions,
                   coalesce(sum(mentions) FILTER (WHERE sentiment <> ''), 0)::BIGINT AS scored,
                   coalesce(sum(mentions) FILTER (WHERE sentiment = 'negative'), 0)::BIGINT
                       AS negative
            FROM ({cells}) GROUP BY hour ORDER BY hour""",  # noqa: S608 - fixed fragments, ? params
        params,
    )


def totals(cur: Cursor, f: Filters) -> dict[str, int]:
    """Mentions, scored mentions and negative ones in the selection."""
    cells, params = _cells(f)
    found = one(
        cur,
        f"""SELECT coalesce(sum(mentions), 0)::BIGINT AS mentions,
                   coalesce(sum(mentions) FILTER (WHERE sentiment <> ''), 0)::BIGINT AS scored,
                   coalesce(sum(mentions) FILTER (WHERE sentiment = 'negative'), 0)::BIGINT
                       AS negative
            FROM ({cells})""",  # noqa: S608 - fixed fragments, ? params
        params,
    )
    return {k: int(v) for k, v in (found or {}).items()}


def window_mentions(cur: Cursor, f: Filters, *, limit: int = 50) -> list[dict[str, Any]]:
    """The mentions of the selection, most urgent first, then most engaged, then newest."""
    where, params = _mention_where(f)
    return rows(
        cur,
        f"""SELECT {MENTION_COLUMNS}, (m.likes + m.replies + m.shares)::BIGINT AS engagement
            FROM mentions m {CURRENT_SCORE}{where}
            ORDER BY coalesce(s.urgency_level, -1) DESC, engagement DESC, m.created_at DESC,
                     m.key
            LIMIT ?""",  # noqa: S608 - fixed fragments, ? params
        [*params, limit],
    )


def window_cases(cur: Cursor, f: Filters, *, limit: int = 200) -> list[dict[str, Any]]:
    """The cases holding a mention of the selection, most urgent first, with their status."""
    where, params = _mention_where(f)
    return rows(
        cur,
        f"""SELECT c.id, c.status, c.brand, c.platform, c.team, c.level, c.assignee,
                   c.urgency_level, c.opened_at, c.updated_at, c.mention_key
            FROM cases c
            WHERE c.id IN (SELECT cm.case_id FROM case_mentions cm
                           JOIN mentions m ON m.key = cm.mention_key{where})
            ORDER BY c.urgency_level DESC, c.opened_at, c.id LIMIT ?""",  # noqa: S608 - fixed fragments, ? params
        [*params, limit],
    )


_ALERT_COLUMNS = """a.id, a.kind, a.severity, a.title, a.status, a.created_at, a.delivered_at,
    json_extract_string(a.payload, '$.brand') AS brand,
    json_extract_string(a.payload, '$.data.start') AS start,
    json_extract_string(a.payload, '$.data.end') AS "end" """


def window_alerts(
    cur: Cursor, *, brand: str | None, since: datetime, until: datetime, limit: int = 100
) -> list[dict[str, Any]]:
    """The alerts raised in ``[since, until)`` about ``brand`` (any brand when ``None``)."""
    return rows(
        cur,
        f"""SELECT {_ALERT_COLUMNS} FROM alerts a
            WHERE a.created_at >= ? AND a.created_at < ?
              AND (?::VARCHAR IS NULL OR json_extract_string(a.payload, '$.brand') = ?)
            ORDER BY a.created_at, a.id LIMIT ?""",  # noqa: S608 - fixed fragments, ? params
        [since, until, brand, brand, limit],
    )


SPIKE_KINDS = ("volume_spike", "sentiment_drop")


def recent_alerts(
    cur: Cursor, *, brands: Sequence[str] | None, limit: int = 20
) -> list[dict[str, Any]]:
    """The newest volume-spike and sentiment-drop alerts (about ``brands`` when given), with the
    window each one covers."""
    clause, params = "", [list(SPIKE_KINDS)]
    if brands is not None:
        clause = " AND json_extract_string(a.payload, '$.brand') IN (SELECT unnest(?))"
        params.append(list(brands))
    return rows(
        cur,
        f"""SELECT {_ALERT_COLUMNS} FROM alerts a
            WHERE a.kind IN (SELECT unnest(?)){clause}
            ORDER BY a.created_at DESC, a.id DESC LIMIT ?""",  # noqa: S608 - fixed fragments, ? params
        [*params, limit],
    )


def alert(cur: Cursor, alert_id: int) -> dict[str, Any] | None:
    """One alert with its brand and window (``None`` when there is no such alert)."""
    return one(cur, f"SELECT {_ALERT_COLUMNS} FROM alerts a WHERE a.id = ?", [alert_id])  # noqa: S608 - fixed fragments
