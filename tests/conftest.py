"""Shared fixtures: settings from the example config on a temporary database, and helpers to seed
scored mentions without running the model (the model is exercised by its own tests and the
end-to-end tests)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pipeline.records import Mention, Page
from pipeline.settings import Settings, load_settings
from pipeline.stages.ingest import store_page
from pipeline.store import Store, scores

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "escucha.example.toml"


@pytest.fixture
def example_settings(tmp_path: Path) -> Settings:
    settings = load_settings(EXAMPLE)
    return settings.model_copy(update={"database": tmp_path / "escucha.duckdb"})


@pytest.fixture
def store(example_settings: Settings) -> Iterator[Store]:
    with Store.open(example_settings.database) as opened:
        yield opened


def seed_scored(
    store: Store,
    *,
    native_id: str,
    text: str,
    author: str = "ana",
    platform: str = "x",
    lang: str = "es",
    brand: str | None = "Orbita",
    sentiment: str = "negative",
    complaint: float = 0.9,
    urgency_level: int = 1,
    reasons: tuple[str, ...] = (),
    source: str = "seed",
    created_at: datetime | None = None,
    model_version: str = "test-scores",
    author_id: str | None = None,
    scored_at: datetime | None = None,
) -> str:
    """Store a mention and a score for it, as the score stage would, ready for triage."""
    created = created_at or datetime.now(UTC) - timedelta(minutes=5)
    mention = Mention(
        platform=platform, native_id=native_id, text=text, author=author, created_at=created,
        lang=lang, source=source, author_id=author_id,
    )  # fmt: skip
    store_page(store, source, platform, Page((mention,)))
    probabilities = {"negative": 0.1, "neutral": 0.2, "positive": 0.7}
    if sentiment == "negative":
        probabilities = {"negative": 0.85, "neutral": 0.1, "positive": 0.05}
    batch = pa.Table.from_pylist(
        [
            {
                "mention_key": mention.key, "model_version": model_version, "lang": lang,
                "sentiment": sentiment, "p_negative": probabilities["negative"],
                "p_neutral": probabilities["neutral"], "p_positive": probabilities["positive"],
                "complaint": complaint, "intent": "complaint" if complaint > 0.5 else "other",
                "urgency_score": urgency_level / 3, "urgency_level": urgency_level,
                "urgency_reasons": list(reasons), "scored_at": scored_at or datetime.now(UTC),
                "mention_lang": lang, "brand": brand, "cluster_key": None,
            }
        ],
        schema=scores.SCORE_SCHEMA,
    )  # fmt: skip
    with store.transaction() as cur:
        scores.write(cur, batch)
    return mention.key


def sign_in(
    store: Store,
    role: str = "admin",
    *,
    name: str | None = None,
    teams: tuple[str, ...] = (),
    brands: tuple[str, ...] = (),
) -> dict[str, str]:
    """A user with ``role`` (made if new) and the ``Authorization`` header of a fresh session."""
    from pipeline.access import tokens, users
    from pipeline.errors import NotFound
    from pipeline.records import utcnow
    from pipeline.settings import AuthSettings

    name = name or f"test-{role}"
    try:
        user = users.get(store, name)
    except NotFound:
        user = users.add(
            store, name, role=role, password=None, now=utcnow(), teams=teams, brands=brands
        )
    token, _ = tokens.start_session(store, AuthSettings(), user, now=utcnow())
    return {"Authorization": f"Bearer {token}"}
