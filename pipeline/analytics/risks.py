"""Risk categories over time, from the urgency reasons the scorer records with each score.

A category has a stable ``key`` (what the dashboard translates) and an English ``label``. Today
the keys come from the reasons themselves ("safety: gas leak" -> ``safety_gas_leak``); reasons
that carry figures are grouped by their prefix ("reach: 120k followers" -> ``reach``); the risk
head's reasons carry their taxonomy key ("risk: data_breach" -> ``data_breach``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pipeline.fold import fold

# Reason prefixes whose detail varies from one mention to the next: one category each.
GROUPS: dict[str, tuple[str, str]] = {
    "model": ("complaint", "complaint (model)"),
    "repeated contact": ("repeated_contact", "repeated contact"),
    "reach": ("reach", "author reach"),
    "engagement": ("engagement", "engagement"),
}
_SLUG = re.compile(r"[^a-z0-9]+")


def category(reason: str) -> tuple[str, str]:
    """The category ``(key, label)`` of one urgency reason.

    The risk head's reasons name their taxonomy category ("risk: physical_safety" ->
    ``physical_safety``), a brand's own categories included.
    """
    text = " ".join(reason.split())
    prefix = fold(text.split(":", 1)[0].strip())
    if ":" in text and prefix in GROUPS:
        return GROUPS[prefix]
    if ":" in text and prefix == "risk":
        detail = re.sub(r"\s*\([^)]*\)", "", text.split(":", 1)[1]).strip()
        key = _SLUG.sub("_", fold(detail)).strip("_") or "other"
        return key, detail.replace("_", " ")
    label = re.sub(r"\s*\([^)]*\)", "", text).strip() or text
    key = _SLUG.sub("_", fold(label)).strip("_") or "other"
    return key, label


def risk_categories(counts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``counts`` (bucket, reason, mentions) as categories, most mentions first, and the
    mentions per bucket and category (oldest bucket first)."""
    totals: dict[str, int] = {}
    labels: dict[str, str] = {}
    series: dict[tuple[Any, str], int] = {}
    for row in counts:
        key, label = category(str(row["reason"]))
        labels.setdefault(key, label)
        n = int(row["mentions"])
        totals[key] = totals.get(key, 0) + n
        series[(row["bucket"], key)] = series.get((row["bucket"], key), 0) + n
    return {
        "categories": [
            {"key": key, "label": labels[key], "mentions": n}
            for key, n in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "series": [
            {"bucket": bucket, "category": key, "mentions": n}
            for (bucket, key), n in sorted(series.items(), key=lambda kv: (kv[0][0], kv[0][1]))
        ],
    }
