"""The risk taxonomy (docs/risk-taxonomy.md) and the labelled risk set that teaches it.

A risk-set row is one JSON object a line::

    {"id", "writer", "text", "lang": "es"|"en", "variety", "platform", "sector", "brand",
     "categories": [key, ...], "hard_negative_of": [key, ...], "urgency_level": 0..3,
     "sentiment": "negative"|"neutral"|"positive", "complaint": 0|1}

``categories`` are the taxonomy keys the text *is*; ``hard_negative_of`` the keys whose words it
shares without being them ("este descuento es fuego"). ``urgency_level`` is what the text alone
deserves (reach and engagement are inputs at scoring time, not labels); it is never below the
highest default level of its categories.

``python -m classifiers.taxonomy check FILE...`` validates files and prints their counts.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import InputError
from pipeline.records import SENTIMENTS

# key → default urgency level (0 none · 1 normal · 2 flag now · 3 critical)
CATEGORIES: dict[str, int] = {
    "physical_safety": 3,
    "product_safety_defect": 3,
    "health_dependency": 3,
    "vulnerable_customer": 2,
    "fraud_unauthorised_charge": 2,
    "account_takeover": 3,
    "data_breach": 3,
    "phishing_impersonation": 2,
    "essential_service_outage": 3,
    "mass_outage": 2,
    "legal_regulator": 2,
    "staff_harassment_discrimination": 2,
    "violence_threat_self_harm": 3,
    "press_viral_attention": 2,
    "churn_threat": 1,
}
KEYS: tuple[str, ...] = tuple(CATEGORIES)
PLATFORMS = frozenset(
    {"x", "reddit", "youtube", "google_reviews", "review_site", "forum", "news_comment",
     "facebook", "instagram", "tiktok", "app_store"}
)  # fmt: skip
LANGS = frozenset({"es", "en"})


@dataclass(frozen=True, slots=True)
class RiskRow:
    id: str
    writer: str
    text: str
    lang: str
    sector: str
    platform: str
    categories: tuple[str, ...]
    hard_negative_of: tuple[str, ...]
    urgency_level: int
    sentiment: int  # index into SENTIMENTS
    complaint: int
    variety: str = ""
    brand: str = ""


def _keys(row: dict[str, Any], field: str) -> tuple[str, ...]:
    value = row.get(field, [])
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"'{field}' must be a list of category keys")
    unknown = [k for k in value if k not in CATEGORIES]
    if unknown:
        raise ValueError(f"'{field}' has unknown keys {unknown}; known: {', '.join(KEYS)}")
    return tuple(dict.fromkeys(value))


def parse_risk_row(row: dict[str, Any]) -> RiskRow:
    """One JSON object → RiskRow; raises ValueError saying what is wrong."""
    if not isinstance(row, dict):
        raise ValueError("a row must be a JSON object")
    for field in ("id", "writer", "text", "lang", "sector", "platform"):
        if not isinstance(row.get(field), str) or not row[field].strip():
            raise ValueError(f"a row needs a non-empty string '{field}'")
    if row["lang"] not in LANGS:
        raise ValueError(f"lang {row['lang']!r} is not one of {sorted(LANGS)}")
    if row["platform"] not in PLATFORMS:
        raise ValueError(f"platform {row['platform']!r} is not one of {sorted(PLATFORMS)}")
    categories = _keys(row, "categories")
    negatives = _keys(row, "hard_negative_of")
    if set(categories) & set(negatives):
        raise ValueError("a key cannot be both in 'categories' and in 'hard_negative_of'")
    level = row.get("urgency_level")
    if not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= 3:
        raise ValueError("'urgency_level' must be an integer 0..3")
    floor = max((CATEGORIES[k] for k in categories), default=0)
    if level < floor:
        raise ValueError(f"urgency_level {level} is below its categories' default level {floor}")
    sentiment = row.get("sentiment")
    if sentiment not in SENTIMENTS:
        raise ValueError(f"sentiment {sentiment!r} is not one of {', '.join(SENTIMENTS)}")
    complaint = row.get("complaint")
    if complaint not in (0, 1) or isinstance(complaint, bool):
        raise ValueError("'complaint' must be 0 or 1")
    return RiskRow(
        id=row["id"],
        writer=row["writer"],
        text=row["text"],
        lang=row["lang"],
        sector=row["sector"],
        platform=row["platform"],
        categories=categories,
        hard_negative_of=negatives,
        urgency_level=level,
        sentiment=SENTIMENTS.index(sentiment),
        complaint=int(complaint),
        variety=str(row.get("variety") or ""),
        brand=str(row.get("brand") or ""),
    )


def read_risk_rows(paths: Iterable[Path]) -> list[RiskRow]:
    """Every row of the given risk-set files; raises InputError naming the file and line."""
    rows: list[RiskRow] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the file ({exc})", path=str(path)) from exc
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = parse_risk_row(json.loads(line))
            except (ValueError, TypeError) as exc:
                raise InputError(
                    str(exc), path=str(path), line=number, hint="fix or remove that line"
                ) from exc
            if row.id in seen:
                raise InputError(
                    f"id {row.id!r} is used twice (first in {seen[row.id]})",
                    path=str(path),
                    line=number,
                    hint="give every row its own id",
                )
            seen[row.id] = f"{path.name}:{number}"
            rows.append(row)
    return rows


def summary(rows: Sequence[RiskRow]) -> dict[str, Any]:
    """Counts a labelling pass is checked against."""
    return {
        "rows": len(rows),
        "lang": dict(Counter(r.lang for r in rows)),
        "sectors": len({r.sector for r in rows}),
        "platforms": dict(Counter(r.platform for r in rows)),
        "level": dict(sorted(Counter(r.urgency_level for r in rows).items())),
        "categories": {k: sum(k in r.categories for r in rows) for k in KEYS},
        "hard_negatives": {k: sum(k in r.hard_negative_of for r in rows) for k in KEYS},
        "duplicate_texts": len(rows) - len({r.text.strip().lower() for r in rows}),
    }


def agreement(first: Sequence[RiskRow], second: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Cohen's kappa between the first labels and a second pass over some of the same ids."""
    from sklearn.metrics import cohen_kappa_score

    by_id = {r.id: r for r in first}
    pairs = [(by_id[s["id"]], s) for s in second if s.get("id") in by_id]
    if not pairs:
        raise ValueError("the second pass shares no id with the risk set")
    a = [p[0] for p in pairs]
    b = [p[1] for p in pairs]

    def kappa(x: list[Any], y: list[Any], weights: str | None = None) -> float:
        return round(float(cohen_kappa_score(x, y, weights=weights)), 3)

    level_a, level_b = [r.urgency_level for r in a], [int(s["urgency_level"]) for s in b]
    per_category = {
        k: kappa([k in r.categories for r in a], [k in s["categories"] for s in b]) for k in KEYS
    }
    return {
        "rows": len(pairs),
        "level_exact": round(
            sum(x == y for x, y in zip(level_a, level_b, strict=True)) / len(pairs), 3
        ),
        "level_kappa": kappa(level_a, level_b),
        "level_kappa_quadratic": kappa(level_a, level_b, "quadratic"),
        "flag_kappa": kappa([x >= 2 for x in level_a], [y >= 2 for y in level_b]),
        "critical_kappa": kappa([x == 3 for x in level_a], [y == 3 for y in level_b]),
        "sentiment_kappa": kappa([SENTIMENTS[r.sentiment] for r in a], [s["sentiment"] for s in b]),
        "complaint_kappa": kappa([r.complaint for r in a], [int(s["complaint"]) for s in b]),
        "same_categories": round(
            sum(set(r.categories) == set(s["categories"]) for r, s in pairs) / len(pairs), 3
        ),
        "category_kappa_mean": round(sum(per_category.values()) / len(per_category), 3),
        "category_kappa": per_category,
    }


USAGE = (
    "usage: python -m classifiers.taxonomy check FILE...\n"
    "       python -m classifiers.taxonomy agreement SECOND_PASS FILE..."
)


def main(argv: Sequence[str]) -> int:
    if (
        len(argv) < 2
        or argv[0] not in ("check", "agreement")
        or (argv[0] == "agreement" and len(argv) < 3)
    ):
        sys.stderr.write(USAGE + "\n")
        return 2
    files = argv[1:] if argv[0] == "check" else argv[2:]
    try:
        rows = read_risk_rows(Path(p) for p in files)
        if argv[0] == "check":
            result = summary(rows)
        else:
            lines = Path(argv[1]).read_text(encoding="utf-8").splitlines()
            result = agreement(rows, [json.loads(line) for line in lines if line.strip()])
    except (InputError, OSError, ValueError, KeyError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    sys.stdout.write(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
