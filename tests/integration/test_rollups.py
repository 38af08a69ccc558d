"""The hourly counts the overview reads stay exactly what counting the mentions gives, through
new mentions, edits, scores and re-scores, whatever the range asked for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.records import Mention, Page
from pipeline.stages.ingest import store_page
from pipeline.store import Store, rollups, rows, scores
from pipeline.store import aggregates as agg
from pipeline.store.search import MentionFilter

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
SENTIMENTS = ("negative", "neutral", "positive")

steps = st.lists(
    st.tuples(
        st.sampled_from(["new", "edit", "score"]),
        st.integers(0, 30),  # which mention
        st.integers(0, 72 * 60),  # minutes after T0
        st.sampled_from(["x", "reddit"]),
        st.sampled_from(SENTIMENTS),
    ),
    min_size=1,
    max_size=40,
)


def _score(store: Store, key: str, sentiment: str, version: int) -> None:
    p = {"negative": 0.1, "neutral": 0.1, "positive": 0.1, sentiment: 0.8}
    batch = pa.Table.from_pylist(
        [
            {
                "mention_key": key, "model_version": f"v{version}", "lang": "es",
                "sentiment": sentiment, "p_negative": p["negative"], "p_neutral": p["neutral"],
                "p_positive": p["positive"], "complaint": 0.1, "intent": "other",
                "urgency_score": 0.1, "urgency_level": version % 4,
                "urgency_reasons": [], "scored_at": T0 + timedelta(seconds=version),
                "mention_lang": "es", "brand": "Orbita" if version % 2 else "Celera",
                "cluster_key": None,
            }
        ],
        schema=scores.SCORE_SCHEMA,
    )  # fmt: skip
    with store.transaction() as cur:
        scores.write(cur, batch)


def _direct(store: Store, f: agg.Filters) -> dict[tuple[str, str, str], int]:
    where, params = MentionFilter(since=f.since, until=f.until).where()
    with store.read() as cur:
        found = rows(
            cur,
            f"""SELECT m.platform, coalesce(m.brand, '') AS brand,
                       coalesce(s.sentiment, '') AS sentiment, count(*) AS n
                FROM mentions m LEFT JOIN current_scores s ON s.mention_key = m.key{where}
                GROUP BY ALL""",
            params,
        )
    return {(r["platform"], r["brand"], r["sentiment"]): int(r["n"]) for r in found}


def _from_cells(store: Store, f: agg.Filters) -> dict[tuple[str, str, str], int]:
    cells, params = agg._cells(f)
    with store.read() as cur:
        found = rows(
            cur,
            f"""SELECT platform, brand, sentiment, sum(mentions) AS n FROM ({cells})
                GROUP BY ALL""",
            params,
        )
    return {(r["platform"], r["brand"], r["sentiment"]): int(r["n"]) for r in found}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    plan=steps,
    since=st.integers(0, 72 * 60),
    length=st.integers(1, 72 * 60),
)
def test_hourly_counts_equal_counting_the_mentions(tmp_path_factory, plan, since, length) -> None:
    path = tmp_path_factory.mktemp("rollups") / "escucha.duckdb"
    with Store.open(path) as store:
        known: dict[int, Mention] = {}
        for version, (action, n, minutes, platform, sentiment) in enumerate(plan):
            if action == "score" and n in known:
                _score(store, known[n].key, sentiment, version)
                continue
            mention = known.get(n) or Mention(
                platform=platform, native_id=str(n), text=f"hola {n}", author=f"a{n}",
                created_at=T0 + timedelta(minutes=minutes), lang="es",
            )  # fmt: skip
            if action == "edit" and n in known:
                mention = Mention(
                    platform=mention.platform, native_id=mention.native_id,
                    text=f"{mention.text} (editado {version})", author=mention.author,
                    created_at=mention.created_at, lang="es",
                )  # fmt: skip
            known[n] = mention
            store_page(store, "test", mention.platform, Page((mention,)))
        start = T0 + timedelta(minutes=since, seconds=17)
        for f in (
            agg.Filters(),
            agg.Filters(since=start),
            agg.Filters(until=start),
            agg.Filters(since=start, until=start + timedelta(minutes=length)),
        ):
            assert _from_cells(store, f) == _direct(store, f)
            assert _negatives(store, f) == _direct_negatives(store, f)
            narrow = MentionFilter(platform="x", sentiment="negative", since=f.since, until=f.until)
            where, params = narrow.where()
            with store.read() as cur:
                direct = cur.execute(
                    f"""SELECT count(*) FROM mentions m
                        LEFT JOIN current_scores s ON s.mention_key = m.key{where}""",
                    params,
                ).fetchone()[0]
                counted = rollups.count(
                    cur, platform="x", sentiment="negative", since=f.since, until=f.until
                )
            assert counted == direct


def _negatives(store: Store, f: agg.Filters) -> list[str]:
    with store.read() as cur:
        return agg.negative_texts(cur, f, limit=3)


def _direct_negatives(store: Store, f: agg.Filters) -> list[str]:
    """The newest three negative texts, read the plain way."""
    where, params = MentionFilter(since=f.since, until=f.until).where()
    joiner = " AND " if where else " WHERE "
    with store.read() as cur:
        found = cur.execute(
            f"""SELECT strip_accents(lower(m.text)) FROM mentions m
                JOIN current_scores s ON s.mention_key = m.key{where}{joiner}s.sentiment = 'negative'
                ORDER BY m.created_at DESC, m.key LIMIT 3""",
            params,
        ).fetchall()
    return [text for (text,) in found]
