"""Labelled examples for training and evaluation: reading JSONL files and recording their hashes.

Accepted rows (one JSON object a line): sentiment rows ``{"text", "label"|"sentiment", "lang"}``,
complaint rows ``{"text", "complaint", "severity"?}``, brand-mention and correction rows
``{"text", "lang", "sentiment"?, "complaint"?, "urgency_level"?}``. Missing labels are ``None``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import InputError
from pipeline.records import SENTIMENTS

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled text; any label may be missing."""

    text: str
    lang: str | None = None
    sentiment: int | None = None  # index into SENTIMENTS
    complaint: int | None = None
    severity: float | None = None  # [0, 1]: X-CI severity / 4, or urgency level / 3
    urgency_level: int | None = None
    platform: str | None = None
    author_followers: int | None = None
    likes: int = 0
    replies: int = 0
    shares: int = 0
    prior_contacts: int = 0


def _sentiment(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("label")
    if isinstance(value, str) and value.lower() in SENTIMENTS:
        return SENTIMENTS.index(value.lower())
    raise ValueError(f"sentiment {value!r} is not one of {', '.join(SENTIMENTS)}")


def parse_row(row: dict[str, Any]) -> Example:
    """One JSON object → Example (raises ValueError for a malformed row)."""
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a row needs a non-empty 'text'")
    sentiment = _sentiment(row.get("sentiment", row.get("label")))
    complaint = row.get("complaint")
    if isinstance(complaint, dict):
        complaint = complaint.get("label")
    if complaint is not None:
        complaint = int(bool(complaint))
    level = row.get("urgency_level")
    level = None if level is None else int(level)
    if level is not None and not 0 <= level <= 3:
        raise ValueError(f"urgency_level {level} is not in 0..3")
    severity: float | None = None
    if row.get("severity") is not None:
        severity = float(row["severity"]) / 4.0
    elif level is not None:
        severity = level / 3.0
    elif complaint == 0:
        severity = 0.0
    return Example(
        text=text,
        lang=row.get("lang"),
        sentiment=sentiment,
        complaint=complaint,
        severity=severity,
        urgency_level=level,
        platform=row.get("platform"),
        author_followers=row.get("author_followers"),
        likes=int(row.get("likes") or 0),
        replies=int(row.get("replies") or 0),
        shares=int(row.get("shares") or 0),
        prior_contacts=int(row.get("prior_contacts") or 0),
    )


def read_examples(path: Path) -> list[Example]:
    """Every row of a labelled JSONL file; raises InputError naming the bad line."""
    examples: list[Example] = []
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    examples.append(parse_row(json.loads(line)))
                except (ValueError, TypeError, json.JSONDecodeError) as exc:
                    raise InputError(
                        str(exc), path=str(path), line=number, hint="fix or remove that line"
                    ) from exc
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc})", path=str(path)) from exc
    return examples


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def short_name(path: Path, parts: int = 3) -> str:
    """The last path parts (``sentiment/umsab/es/train.jsonl``): enough to identify a data file."""
    return "/".join(path.resolve().parts[-parts:])


def describe_files(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Name, sha256 and row count of each data file, for the training record."""
    described = []
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            rows = sum(1 for line in handle if line.strip())
        described.append({"file": short_name(path), "sha256": sha256(path), "rows": rows})
    return described


def languages(examples: Sequence[Example]) -> list[str]:
    return sorted({e.lang or "und" for e in examples})
