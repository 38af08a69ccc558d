"""A seeded database of N realistic mentions for the latency benchmark, cached between runs.

What it holds: N mentions over the 90 days ending at generation time on x, reddit, youtube,
google_reviews and forum; Spanish and English; texts are the bundled sandbox corpus's (hand-written,
with labels), most with a neutral city or sign-off tail so that texts vary; authors repeat along a
Zipf-like curve; nearly half of reddit and forum items and a quarter of youtube's are replies in
threads; likes and shares follow a long tail; about 5% are complaints, two past outages add bursts
of them; brand "Orbita" and its competitors "Celera" and "Ondanet", as in escucha.example.toml.

How it is written, through the product's own functions:
- mentions: ``stages.ingest.store_page`` in pages of up to 20,000, one source per platform, exactly
  what a connector's pages go through;
- scores: THE BENCH SHORTCUT. A million texts through the CPU model would take hours, so a seeded
  RNG draws each score from the text's labels in the corpus (the sentiment, complaint, intent and
  urgency a careful reader gave it, with some model noise) and the rows, in
  ``store.scores.SCORE_SCHEMA``, go through ``store.scores.write``: the score history,
  ``current_scores`` and the mentions' brand, language, cluster and stage are set exactly as the
  score stage sets them. The brand comes from the product's ``BrandMatcher`` and the cluster from
  ``near_duplicate_key``, as in ``stages.score``;
- cases: ``stages.triage.triage_pending`` in a loop until it has nothing left. Only mentions newer
  than ``service.case_max_age`` (3 days) are answerable, so a few thousand open cases, not a million;
- search: ``store.fulltext.index_pending`` brings the full-text index up to date, as
  ``escucha import`` does.

The file is cached under ``$BENCH_CACHE_DIR`` (default: the temp dir's ``escucha-bench``), named by
N, the seed and a fingerprint of the schema and of what decides the content (``fingerprint``), so a
second run reuses it; delete the folder to force a rebuild. Callers work on a copy.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import random
import shutil
import tempfile
import time
import tomllib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from crawlers.sandbox import DEFAULT_CORPUS, CorpusItem, load_corpus
from pipeline.fold import fold
from pipeline.records import INTENTS, SENTIMENTS, Mention, Page
from pipeline.settings import Settings, load_settings
from pipeline.stages.enrich import BrandMatcher, near_duplicate_key
from pipeline.stages.ingest import store_page
from pipeline.stages.triage import triage_pending
from pipeline.store import Store, fulltext, scores

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "escucha.example.toml"
DAYS = 90
PAGE = 20_000
TRIAGE_BATCH = 20_000
MODEL_VERSION = "bench-synthetic"
PLATFORMS = {"x": 0.40, "reddit": 0.20, "forum": 0.15, "youtube": 0.15, "google_reviews": 0.10}
REPLY_SHARE = {"x": 0.08, "reddit": 0.45, "forum": 0.45, "youtube": 0.25, "google_reviews": 0.0}
GIVES_LANG = {"x", "youtube"}  # platforms whose API reports a language hint
HAS_FOLLOWERS = {"x", "youtube", "reddit"}
ES_SHARE = 0.6
POST_SHARES = {
    "complaint": 0.035, "question": 0.15, "praise": 0.2, "suggestion": 0.07, "other": 0.4,
    "spam": 0.05, "offtopic": 0.085,
}  # fmt: skip
REPLY_SHARES = {"complaint": 0.05, "question": 0.25, "other": 0.7}
INCIDENTS = ((61, 10, "es"), (19, 18, "en"))  # days ago, hour (UTC), language: 0.4% of N each
INCIDENT_SHARE = 0.004
HOURLY = (1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 8, 8, 7, 7, 7, 8, 9, 9, 8, 6, 4, 2)
SIGNAL_REASONS = {
    "safety": "safety: injury", "data_leak": "data leak", "fraud": "fraud: account or payment",
    "outage": "outage: many affected", "emergency": "outage: many affected",
    "legal": "legal: lawyer or regulator", "churn": "churn threat",
    "repeated_contact": "repeated contact: says no answer", "vulnerable": "vulnerable customer",
}  # fmt: skip
# Neutral tails: they name no brand and no excluded term, so the brand of a text is its corpus
# text's (brands are matched once per corpus text).
CITIES = {
    "es": ("Madrid", "Valencia", "Sevilla", "Bilbao", "Zaragoza", "Málaga", "Murcia", "Vigo",
           "Granada", "Oviedo", "Alicante", "Córdoba", "Gijón", "Cádiz", "Burgos", "León"),
    "en": ("London", "Leeds", "Bristol", "Glasgow", "Cardiff", "Brighton", "Dublin", "Austin",
           "Denver", "Toronto", "Leicester", "Belfast", "York", "Bath", "Boston", "Perth"),
}  # fmt: skip
TAILS = {
    "es": (" Desde {city}.", " ({city})", " #{city}", " Saludos desde {city}.", " {city}.",
           " ¿Alguien más?", " Gracias.", " Un saludo.", " 🙏", " 🤔", " Lo comento por aquí."),
    "en": (" From {city}.", " ({city})", " #{city}", " Greetings from {city}.", " {city}.",
           " Anyone else?", " Thanks.", " Cheers.", " 🙏", " 🤔", " Just saying."),
}  # fmt: skip
_ID_PREFIX = {"x": "", "reddit": "t3_", "youtube": "yt", "google_reviews": "gr", "forum": "p"}


def cache_dir() -> Path:
    return Path(os.environ.get("BENCH_CACHE_DIR") or Path(tempfile.gettempdir()) / "escucha-bench")


def fingerprint() -> str:
    """Changes with the schema and with what decides the content (this generator, the example
    config, the corpus, the brand matcher and triage). A cached database from an older schema is
    rebuilt rather than migrated, so the figures are those of a database written by today's code."""
    digest = hashlib.sha256()
    paths = [Path(__file__), EXAMPLE, DEFAULT_CORPUS, ROOT / "pipeline/records.py"]
    paths += sorted((ROOT / "pipeline/store/migrations").glob("*.sql"))
    paths += [ROOT / f"pipeline/stages/{name}.py" for name in ("enrich", "triage")]
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


# -- the service's config ---------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are valid TOML
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} as TOML")


def write_config(path: Path, database: Path, *, tick: str | None = None) -> Path:
    """The example config with ``database`` and no sources (the service polls nothing)."""
    data = tomllib.loads(EXAMPLE.read_text("utf-8"))
    data.pop("sources", None)
    data.pop("sandbox", None)
    data["database"] = str(database)
    if tick is not None:
        data.setdefault("service", {})["tick"] = tick
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict | list)]
    lines += [f"{k} = {_toml_value(v)}" for k, v in data.items() if _plain_list(v)]
    for key, value in data.items():
        if isinstance(value, dict):
            lines += ["", f"[{key}]", *(f"{k} = {_toml_value(v)}" for k, v in value.items())]
        elif isinstance(value, list) and not _plain_list(value):
            for table in value:
                lines += ["", f"[[{key}]]", *(f"{k} = {_toml_value(v)}" for k, v in table.items())]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def _plain_list(value: Any) -> bool:
    return isinstance(value, list) and not any(isinstance(v, dict) for v in value)


# -- texts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pool:
    """Corpus items drawn with weights that give each category its share."""

    items: tuple[CorpusItem, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, items: list[CorpusItem], shares: dict[str, float]) -> _Pool | None:
        counts: dict[str, int] = {}
        for item in items:
            counts[item.expected["category"]] = counts.get(item.expected["category"], 0) + 1
        kept = [i for i in items if shares.get(i.expected["category"], 0) > 0]
        if not kept:
            return None
        weights = [shares[i.expected["category"]] / counts[i.expected["category"]] for i in kept]
        return cls(tuple(kept), tuple(np.cumsum(weights).tolist()))

    def pick(self, u: float) -> CorpusItem:
        index = bisect.bisect_right(self.cumulative, u * self.cumulative[-1])
        return self.items[min(index, len(self.items) - 1)]


def _pools(corpus: Iterable[CorpusItem]) -> dict[tuple[str, str, str], _Pool]:
    """Pools by (role, platform, lang): role is post, reply or incident."""
    grouped: dict[tuple[str, str, str], list[CorpusItem]] = {}
    for item in corpus:
        if item.platform not in PLATFORMS or item.lang not in ("es", "en"):
            continue
        role = "reply" if item.parent_id else "post"
        grouped.setdefault((role, item.platform, item.lang), []).append(item)
        signals = item.expected.get("signals") or ()
        if role == "post" and "outage" in signals and item.expected.get("brand") == "Orbita":
            grouped.setdefault(("incident", "any", item.lang), []).append(item)
    pools: dict[tuple[str, str, str], _Pool] = {}
    for key, items in grouped.items():
        pool = _Pool.of(items, REPLY_SHARES if key[0] == "reply" else POST_SHARES)
        if key[0] == "incident":
            pool = _Pool.of(items, {"complaint": 1.0})
        if pool is not None:
            pools[key] = pool
    return pools


# -- scores -------------------------------------------------------------------------------------


def _score(rng: random.Random, item: CorpusItem) -> dict[str, Any]:
    """What a decent model would say about a text the corpus labels: mostly right, a bit noisy."""
    expected = item.expected
    sentiment = str(expected.get("sentiment", "neutral"))
    if rng.random() < 0.08:
        sentiment = rng.choice(SENTIMENTS)
    top = rng.uniform(0.5, 0.97)
    rest = 1.0 - top
    split = rng.random() * rest
    others = [s for s in SENTIMENTS if s != sentiment]
    p = {sentiment: top, others[0]: split, others[1]: rest - split}
    is_complaint = bool(expected.get("complaint"))
    complaint = rng.uniform(0.55, 0.99) if is_complaint else rng.uniform(0.0, 0.4)
    if not is_complaint and rng.random() < 0.005:
        complaint = rng.uniform(0.5, 0.7)
    intent = str(expected.get("intent", "other"))
    if rng.random() < 0.05:
        intent = rng.choice(INTENTS)
    level = int(expected.get("urgency_level", 0))
    reasons = [f"model: complaint ({complaint:.2f})"] if complaint >= 0.5 else []
    for signal in expected.get("signals") or ():
        reason = SIGNAL_REASONS.get(signal)
        if reason and reason not in reasons:
            reasons.append(reason)
    return {
        "sentiment": sentiment, "p_negative": p["negative"], "p_neutral": p["neutral"],
        "p_positive": p["positive"], "complaint": complaint, "intent": intent,
        "urgency_score": (level + rng.uniform(0.05, 0.95)) / 4, "urgency_level": level,
        "urgency_reasons": reasons if level else [],
    }  # fmt: skip


# -- the generator ------------------------------------------------------------------------------


def _times(np_rng: np.random.Generator, n: int, now: datetime) -> tuple[np.ndarray, np.ndarray]:
    """Sorted creation times (seconds since the epoch) with a daily rhythm, and incident flags."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    hourly = np.array(HOURLY, dtype=float) / sum(HOURLY)
    days = np_rng.integers(0, DAYS, n)
    hours = np_rng.choice(24, n, p=hourly)
    seconds = midnight - days * 86400.0 + hours * 3600.0 + np_rng.random(n) * 3600.0
    flags = np.zeros(n, dtype=np.int8)
    burst = int(n * INCIDENT_SHARE)
    for number, (ago, hour, _) in enumerate(INCIDENTS, start=1):
        start = number * burst
        if start + burst > n:
            break
        seconds[start : start + burst] = (
            midnight - ago * 86400.0 + hour * 3600.0 + np_rng.random(burst) ** 2 * 6 * 3600.0
        )
        flags[start : start + burst] = number
    seconds = np.where(seconds > now.timestamp(), seconds - 86400.0, seconds)
    order = np.argsort(seconds, kind="stable")
    return seconds[order], flags[order]


def _handles(corpus: Iterable[CorpusItem], settings: Settings) -> list[str]:
    ours = {fold(h).lstrip("@").removeprefix("u/") for b in settings.brands for h in b.handles}
    names = sorted({item.author.lower() for item in corpus} - ours)
    return [n for n in names if not any(o in n for o in ours)]


def generate(path: Path, n: int, seed: int, settings: Settings) -> dict[str, float]:
    """Write N mentions, their scores and the cases triage opens into a new database at ``path``."""
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    now = datetime.now(UTC)
    corpus = load_corpus()
    pools = _pools(corpus)
    handles = _handles(corpus, settings)
    matcher = BrandMatcher.from_settings(settings)
    brand_of: dict[str, str | None] = {}
    cluster_of: dict[str, str] = {}  # texts repeat: each is keyed once
    names = sorted({i.author_name for i in corpus if i.author_name})

    seconds, flags = _times(np_rng, n, now)
    platform_names = list(PLATFORMS)
    platform_of = np_rng.choice(len(platform_names), n, p=list(PLATFORMS.values()))
    authors_per_platform = max(2_000, n // 5)
    # Zipf-Mandelbrot: a few prolific authors, a long tail of one-off ones.
    zipf = np.cumsum(1.0 / (np.arange(authors_per_platform) + 30.0) ** 1.1)
    author_rank = np.searchsorted(zipf, np_rng.random(n) * zipf[-1])
    followers = {
        p: np.minimum(np_rng.lognormal(4.5, 1.9, authors_per_platform), 3e6).astype(int)
        for p in platform_names
    }
    likes = np.minimum(np_rng.pareto(1.4, n) * 2, 50_000).astype(int)
    shares = (likes * np_rng.random(n) * 0.3).astype(int)
    replies = np.minimum(np_rng.pareto(1.8, n), 2_000).astype(int)
    uniform = np_rng.random((n, 4))

    recent: dict[str, deque[tuple[str, str, str]]] = {p: deque(maxlen=400) for p in platform_names}
    buffers: dict[str, list[tuple[Mention, CorpusItem]]] = {p: [] for p in platform_names}
    timings = {"ingest_s": 0.0, "scores_s": 0.0, "triage_s": 0.0, "index_s": 0.0, "cases": 0.0}

    with Store.open(path) as store:

        def flush(platform: str) -> None:
            page = buffers[platform]
            if not page:
                return
            started = time.perf_counter()
            mentions = tuple(m for m, _ in page)
            cursor = {"until": mentions[-1].created_at.isoformat()}
            store_page(store, f"bench-{platform}", platform, Page(mentions, cursor=cursor))
            timings["ingest_s"] += time.perf_counter() - started
            started = time.perf_counter()
            rows: dict[str, list[Any]] = {name: [] for name in scores.SCORE_SCHEMA.names}
            for mention, item in page:
                if item.id not in brand_of:
                    brand_of[item.id] = matcher.match(item.text, item.title)
                scored_at = min(now, mention.created_at + timedelta(seconds=rng.uniform(5, 120)))
                row = {
                    "mention_key": mention.key, "model_version": MODEL_VERSION,
                    "lang": item.lang, **_score(rng, item), "scored_at": scored_at,
                    "mention_lang": mention.lang or item.lang, "brand": brand_of[item.id],
                    "cluster_key": cluster_of.get(mention.text)
                    or cluster_of.setdefault(mention.text, near_duplicate_key(mention.text)),
                }  # fmt: skip
                for name, value in row.items():
                    rows[name].append(value)
            with store.transaction() as cur:
                scores.write(cur, pa.Table.from_pydict(rows, schema=scores.SCORE_SCHEMA))
            timings["scores_s"] += time.perf_counter() - started
            page.clear()

        for i in range(n):
            platform = platform_names[int(platform_of[i])]
            u = uniform[i]
            parent = None
            if flags[i]:
                lang = INCIDENTS[int(flags[i]) - 1][2]
                item = pools[("incident", "any", lang)].pick(float(u[0]))
                platform = item.platform if item.platform in PLATFORMS else platform
            else:
                lang = "es" if u[1] < ES_SHARE else "en"
                if u[2] < REPLY_SHARE[platform] and recent[platform]:
                    parent = recent[platform][int(u[3] * len(recent[platform]))]
                    lang = parent[2]
                role = "reply" if parent else "post"
                pool = pools.get((role, platform, lang)) or pools[("post", platform, lang)]
                item = pool.pick(float(u[0]))
                if item.parent_id is None:
                    parent = None
            text = item.text
            if rng.random() < (0.2 if parent else 0.65):
                tail = rng.choice(TAILS[lang])
                text += tail.format(city=rng.choice(CITIES[lang]))
            rank = int(author_rank[i])
            base = handles[rank % len(handles)]
            author = base if rank < len(handles) else f"{base}{rank // len(handles)}"
            prefix = _ID_PREFIX[platform]
            if platform == "reddit" and parent:
                prefix = "t1_"
            native_id = f"{prefix}{seed}{i:08d}" if platform != "x" else str(10**18 + i)
            mention = Mention(
                platform=platform, native_id=native_id, text=text, author=author,
                created_at=datetime.fromtimestamp(float(seconds[i]), UTC),
                url=f"https://sandbox.escucha.local/{platform}/{native_id}",
                lang=lang if platform in GIVES_LANG else None, title=item.title,
                rating=item.rating, parent_id=parent[0] if parent else None,
                thread_id=parent[1] if parent else None,
                author_name=names[rank % len(names)] if platform in HAS_FOLLOWERS else None,
                author_followers=int(followers[platform][rank]) if platform in HAS_FOLLOWERS
                else None,
                likes=int(likes[i]), replies=0 if parent else int(replies[i]),
                shares=int(shares[i]) if platform in ("x", "youtube") else 0,
                kind="review" if platform == "google_reviews" else "comment" if parent else "post",
                source=f"bench-{platform}",
            )  # fmt: skip
            if platform in ("reddit", "forum", "youtube", "x") and (not parent or u[3] < 0.3):
                recent[platform].append((native_id, parent[1] if parent else native_id, lang))
            buffers[platform].append((mention, item))
            if len(buffers[platform]) >= PAGE:
                flush(platform)
        for platform in platform_names:
            flush(platform)

        started = time.perf_counter()
        while step := triage_pending(store, settings, batch=TRIAGE_BATCH):
            timings["cases"] += len(step.opened)
        timings["triage_s"] = time.perf_counter() - started
        # As `escucha import` does: searchable as soon as the database is ready.
        started = time.perf_counter()
        fulltext.index_pending(store, limit=None)
        timings["index_s"] = time.perf_counter() - started
        with store.read() as cur:
            cur.execute("CHECKPOINT")
    return timings


def cached_database(n: int, seed: int) -> tuple[Path, float | None, dict[str, float]]:
    """The database for N and the seed: built now (answers the seconds it took) or reused (None)."""
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"mentions-{n}-seed{seed}"
    final = folder / f"{stem}-{fingerprint()}.duckdb"
    if final.exists():
        return final, None, {}
    for stale in folder.glob(f"{stem}-*"):
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink()
    work = Path(tempfile.mkdtemp(prefix="build-", dir=folder))
    try:
        database = work / "escucha.duckdb"
        settings = load_settings(write_config(work / "escucha.toml", database))
        started = time.perf_counter()
        timings = generate(database, n, seed, settings)
        elapsed = time.perf_counter() - started
        if Path(f"{database}.wal").exists():
            raise RuntimeError(f"{database} was not checkpointed")
        # Whatever the store keeps beside the file (``<file>.*``) belongs to the cached database.
        for sidecar in work.glob(f"{database.name}.*"):
            sidecar.replace(folder / f"{final.name}{sidecar.name[len(database.name) :]}")
        database.replace(final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final, elapsed, timings
