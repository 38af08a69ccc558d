"""Corrections of a mention's scores, and their export as training data."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from pipeline.access import audit
from pipeline.api.deps import ServiceDep
from pipeline.api.policy import PrincipalDep
from pipeline.errors import BadRequest, NotFound
from pipeline.records import utcnow
from pipeline.store import corrections
from pipeline.store.search import mention

router = APIRouter()

_VALID: dict[str, set[str]] = {
    "sentiment": {"negative", "neutral", "positive"},
    "intent": {"complaint", "question", "praise", "suggestion", "other"},
    "urgency_level": {"0", "1", "2", "3"},
    "complaint": {"0", "1"},
}


class CorrectionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: Literal["sentiment", "urgency_level", "complaint", "intent"]
    value: str | int | float


@router.post("/mentions/{key}/corrections", status_code=201)
def correct_mention(
    key: str, body: CorrectionBody, service: ServiceDep, principal: PrincipalDep
) -> dict[str, Any]:
    value = str(body.value)
    if value not in _VALID[body.field]:
        allowed = ", ".join(sorted(_VALID[body.field]))
        raise BadRequest(f"{body.field} must be one of: {allowed}")
    with service.store.transaction() as cur:
        current = mention(cur, key)  # its scores are the current ones (``current_scores``)
        if current is None:
            raise NotFound(f"no mention {key!r}", hint="use keys like 'x:123' from /mentions")
        old = current.get(body.field)
        corrections.add(
            cur, key, field=body.field, old_value=None if old is None else str(old),
            new_value=value, actor=principal.name, at=utcnow(),
        )  # fmt: skip
    audit.record(
        service.store, principal, "label.correct", now=utcnow(), target=key,
        detail={"field": body.field, "value": value},
    )  # fmt: skip
    return {"mention_key": key, "field": body.field, "old_value": old, "new_value": value}


@router.get("/corrections/export")
def export_corrections(service: ServiceDep, principal: PrincipalDep) -> Response:
    with service.store.read() as cur:
        found = corrections.for_training(cur)
    merged: dict[str, dict[str, Any]] = {}
    for row in found:
        item = merged.setdefault(row["mention_key"], {"text": row["text"], "lang": row["lang"]})
        value: Any = row["new_value"]
        if row["field"] in ("urgency_level", "complaint"):
            value = int(value)
        item[row["field"]] = value
    body = "".join(json.dumps(v, ensure_ascii=False) + "\n" for v in merged.values())
    audit.record(
        service.store, principal, "export.corrections", now=utcnow(), detail={"rows": len(merged)}
    )
    return Response(body, media_type="application/x-ndjson")
