"""The FastAPI application: service health, mentions, cases and their actions.

Every error the product raises on purpose becomes a 4xx with a message; a 500 is a bug.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from pipeline.care import customers as people
from pipeline.care import lifecycle
from pipeline.care.cases import ActionRequest, author_history
from pipeline.errors import CaseError, ConfigError, EscuchaError, InputError, StorageError
from pipeline.records import utcnow
from pipeline.service import Service
from pipeline.store import rows
from pipeline.store.search import CaseFilter, MentionFilter, cases, mention, mentions

router = APIRouter()
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0)]
Urgency = Annotated[int | None, Query(ge=0, le=3)]


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


class ActionBody(BaseModel):
    actor: str = Field(min_length=1, max_length=200)
    text: str | None = Field(None, max_length=10_000)
    reason: str | None = Field(None, max_length=2_000)
    team: str | None = None
    level: str | None = None
    assignee: str | None = None
    direction: Literal["up", "down"] | None = None


class BulkAssignBody(BaseModel):
    case_ids: list[str] = Field(min_length=1, max_length=1000)
    assignee: str = Field(min_length=1)
    actor: str = Field(min_length=1)


class CorrectionBody(BaseModel):
    field: Literal["sentiment", "urgency_level", "complaint", "intent"]
    value: str | int | float
    actor: str = Field(min_length=1)


_VALID_CORRECTIONS: dict[str, Any] = {
    "sentiment": {"negative", "neutral", "positive"},
    "intent": {"complaint", "question", "praise", "suggestion", "other"},
    "urgency_level": {"0", "1", "2", "3"},
    "complaint": {"0", "1"},
}


@router.get("/health")
def health(service: ServiceDep) -> dict[str, Any]:
    stats = service.stats()
    return {
        "status": "ok" if service.classifier_error is None else "degraded",
        "database": service.store.path,
        "mentions": stats["mentions"],
        "model": service.model_version,
        "model_error": service.classifier_error,
        "sources": len(service.sources),
    }


@router.get("/stats")
def stats(service: ServiceDep) -> dict[str, Any]:
    return service.stats()


@router.get("/sources")
def sources(service: ServiceDep) -> list[dict[str, Any]]:
    health_rows = service.sources_health()
    known = {row["source"] for row in health_rows}
    for config in service.settings.sources:
        if config.name not in known:
            health_rows.append({"source": config.name, "platform": config.platform})
    for row in health_rows:
        config_error = service.source_errors.get(row["source"])
        if config_error:
            row["last_error"] = config_error
    return health_rows


@router.get("/alerts")
def list_alerts(service: ServiceDep, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    with service.store.read() as cur:
        items = rows(
            cur,
            "SELECT id, kind, dedupe_key, severity, title, body, created_at, status, error"
            " FROM alerts ORDER BY id DESC LIMIT ? OFFSET ?",
            [limit, offset],
        )
        total = cur.execute("SELECT count(*) FROM alerts").fetchone()
    return {"items": items, "total": int(total[0]) if total else 0}


@router.get("/config/ui")
def ui_config(service: ServiceDep) -> dict[str, Any]:
    settings = service.settings
    with service.store.read() as cur:
        platforms = [
            r[0]
            for r in cur.execute("SELECT DISTINCT platform FROM mentions ORDER BY 1").fetchall()
        ]
        langs = [
            r[0]
            for r in cur.execute(
                "SELECT DISTINCT lang FROM mentions WHERE lang IS NOT NULL ORDER BY 1"
            ).fetchall()
        ]
    return {
        "brands": [
            {"name": b.name, "competitors": b.competitors, "languages": b.languages}
            for b in settings.brands
        ],
        "platforms": platforms,
        "languages": langs,
        "teams": [
            {"name": t.name, "level": t.level, "agents": [a.name for a in t.agents]}
            for t in settings.teams
        ],
        "levels": settings.levels,
        "statuses": list(lifecycle.STATUSES),
        "actions": list(lifecycle.ACTIONS),
        "ui_language": settings.service.ui_language,
        "dashboard_url": settings.service.dashboard_url,
    }


def _mention_filter(
    q: str | None = None,
    platform: str | None = None,
    brand: str | None = None,
    lang: str | None = None,
    sentiment: Literal["negative", "neutral", "positive"] | None = None,
    min_urgency: Urgency = None,
    since: datetime | None = None,
    until: datetime | None = None,
    case: Literal["open", "none"] | None = None,
) -> MentionFilter:
    if since and until and since >= until:
        raise HTTPException(400, "`since` must be before `until`")
    return MentionFilter(q, platform, brand, lang, sentiment, min_urgency, since, until, case)


MentionFilterDep = Annotated[MentionFilter, Depends(_mention_filter)]


@router.get("/mentions")
def list_mentions(
    service: ServiceDep, filters: MentionFilterDep, limit: Limit = 50, offset: Offset = 0
) -> dict[str, Any]:
    with service.store.read() as cur:
        items, total = mentions(cur, filters, limit=limit, offset=offset)
    return {"items": items, "total": total}


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Spreadsheet-safe cell: text starting with a formula character gets a leading quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


@router.get("/mentions/export")
def export_mentions(
    service: ServiceDep,
    filters: MentionFilterDep,
    format: Literal["csv", "parquet"] = "csv",
    limit: Annotated[int, Query(ge=1, le=1_000_000)] = 100_000,
) -> Response:
    with service.store.read() as cur:
        items, _ = mentions(cur, filters, limit=limit, offset=0)
    columns = list(items[0].keys()) if items else ["key", "text"]
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    if format == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(
            [{k: neutralise(_plain(v)) for k, v in item.items()} for item in items]
        )
        sink = io.BytesIO()
        pq.write_table(table, sink)
        return Response(
            sink.getvalue(),
            media_type="application/vnd.apache.parquet",
            headers={"Content-Disposition": f'attachment; filename="mentions-{stamp}.parquet"'},
        )

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for item in items:
            writer.writerow([neutralise(_plain(item.get(c))) for c in columns])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)
        yield buffer.getvalue()

    return StreamingResponse(
        generate(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="mentions-{stamp}.csv"'},
    )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return value


@router.get("/mentions/{key}")
def get_mention(key: str, service: ServiceDep) -> dict[str, Any]:
    with service.store.read() as cur:
        found = mention(cur, key)
        if found is None:
            raise HTTPException(404, f"no mention {key!r}")
        thread_key = found["thread_key"] or found["key"]
        found["thread"] = rows(
            cur,
            "SELECT key, author, text, created_at FROM mentions WHERE thread_key = ? OR key = ?"
            " ORDER BY created_at",
            [thread_key, thread_key],
        )
        found["author_profile"] = rows(
            cur, "SELECT * FROM authors WHERE key = ?", [found["author_key"]]
        )
        found["corrections"] = rows(
            cur, "SELECT * FROM corrections WHERE mention_key = ? ORDER BY id", [key]
        )
    return found


@router.post("/mentions/{key}/corrections", status_code=201)
def correct_mention(key: str, body: CorrectionBody, service: ServiceDep) -> dict[str, Any]:
    value = str(body.value)
    if value not in _VALID_CORRECTIONS[body.field]:
        allowed = ", ".join(sorted(_VALID_CORRECTIONS[body.field]))
        raise HTTPException(400, f"{body.field} must be one of: {allowed}")
    with service.store.transaction() as cur:
        current = mention(cur, key)
        if current is None:
            raise HTTPException(404, f"no mention {key!r}")
        old = current.get(body.field)
        cur.execute(
            """INSERT INTO corrections (mention_key, field, old_value, new_value, actor, created_at)
               VALUES (?, ?, ?, ?, ?, ?)""",
            [key, body.field, None if old is None else str(old), value, body.actor, utcnow()],
        )
    return {"mention_key": key, "field": body.field, "old_value": old, "new_value": value}


@router.get("/corrections/export")
def export_corrections(service: ServiceDep) -> Response:
    with service.store.read() as cur:
        found = rows(
            cur,
            """SELECT c.mention_key, c.field, c.new_value, m.text,
                   coalesce(m.lang, m.lang_hint) AS lang
               FROM corrections c JOIN mentions m ON m.key = c.mention_key ORDER BY c.id""",
        )
    merged: dict[str, dict[str, Any]] = {}
    for row in found:
        item = merged.setdefault(row["mention_key"], {"text": row["text"], "lang": row["lang"]})
        value: Any = row["new_value"]
        if row["field"] in ("urgency_level", "complaint"):
            value = int(value)
        item[row["field"]] = value
    body = "".join(json.dumps(v, ensure_ascii=False) + "\n" for v in merged.values())
    return Response(body, media_type="application/x-ndjson")


@router.get("/cases")
def list_cases(
    service: ServiceDep,
    status: Annotated[list[str] | None, Query()] = None,
    open: bool | None = None,
    team: str | None = None,
    level: str | None = None,
    assignee: str | None = None,
    platform: str | None = None,
    lang: str | None = None,
    brand: str | None = None,
    min_urgency: Urgency = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    unknown = sorted(set(status or []) - set(lifecycle.STATUSES))
    if unknown:
        raise HTTPException(400, f"unknown status {unknown}; use {list(lifecycle.STATUSES)}")
    filters = CaseFilter(
        tuple(status or ()), open, team, level, assignee, platform, lang, brand, min_urgency
    )
    with service.store.read() as cur:
        items, total = cases(cur, filters, limit=limit, offset=offset)
    return {"items": items, "total": total}


@router.get("/cases/{case_id}")
def get_case(case_id: str, service: ServiceDep) -> dict[str, Any]:
    return service.cases.detail(case_id)


@router.get("/cases/{case_id}/preview/{action}")
def preview(case_id: str, action: str, service: ServiceDep) -> dict[str, Any]:
    if action not in lifecycle.POSTING_ACTIONS:
        raise HTTPException(
            400, f"{action!r} posts nothing; preview one of {sorted(lifecycle.POSTING_ACTIONS)}"
        )
    found = service.cases.preview(case_id, action)
    return found.__dict__


@router.post("/cases/{case_id}/actions/{action}")
def act(case_id: str, action: str, body: ActionBody, service: ServiceDep) -> dict[str, Any]:
    return service.cases.act(case_id, action, ActionRequest(**body.model_dump()))


@router.post("/cases/bulk-assign")
def bulk_assign(body: BulkAssignBody, service: ServiceDep) -> dict[str, Any]:
    done, failed = [], {}
    for case_id in body.case_ids:
        try:
            service.cases.act(
                case_id, "assign", ActionRequest(actor=body.actor, assignee=body.assignee)
            )
            done.append(case_id)
        except CaseError as exc:
            failed[case_id] = str(exc)
    return {"assigned": done, "failed": failed}


class LinkBody(BaseModel):
    a: str = Field(min_length=3)
    b: str = Field(min_length=3)
    actor: str = Field(min_length=1)
    decision: Literal["linked", "rejected"] = "linked"
    reason: str | None = None
    confidence: float | None = Field(None, ge=0, le=1)


class ShiftBody(BaseModel):
    on_shift: bool
    actor: str = Field(min_length=1)


@router.get("/customers/suggestions")
def customer_suggestions(
    service: ServiceDep, min_confidence: Annotated[float, Query(ge=0, le=1)] = 0.5
) -> list[dict[str, Any]]:
    return [s.__dict__ for s in people.suggestions(service.store, min_confidence=min_confidence)]


@router.post("/customers/links", status_code=201)
def link_customers(body: LinkBody, service: ServiceDep) -> dict[str, Any]:
    return people.decide_link(
        service.store, body.a, body.b, decision=body.decision, actor=body.actor,
        reason=body.reason, confidence=body.confidence,
    )  # fmt: skip


@router.get("/customers/{author_key}")
def customer(author_key: str, service: ServiceDep) -> dict[str, Any]:
    accounts = people.linked_accounts(service.store, author_key)
    with service.store.read() as cur:
        history = author_history(cur, author_key)
    return {"accounts": accounts, "history": history}


@router.get("/agents")
def list_agents(service: ServiceDep) -> list[dict[str, Any]]:
    return people.agents(service.store, service.settings)


@router.put("/agents/{name}/shift")
def set_agent_shift(name: str, body: ShiftBody, service: ServiceDep) -> dict[str, Any]:
    people.set_shift(
        service.store, service.settings, name, on_shift=body.on_shift, actor=body.actor
    )
    return next(a for a in people.agents(service.store, service.settings) if a["name"] == name)


def create_app(service: Service, *, run_scheduler: bool = False) -> FastAPI:
    """The API over ``service``; with ``run_scheduler`` the service loop runs with the app."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        if run_scheduler:
            service.start()
        try:
            yield
        finally:
            if run_scheduler:
                service.stop()

    app = FastAPI(
        title="escucha",
        version="0.1.0",
        description="Social listening and social customer care: mentions, cases, replies.",
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.store = service.store
    app.include_router(router)
    try:
        aggregates = importlib.import_module("pipeline.api.aggregates")
    except ModuleNotFoundError:
        aggregates = None
    if aggregates is not None:
        app.include_router(aggregates.router)

    @app.exception_handler(CaseError)
    async def _case_error(request: Request, exc: CaseError) -> JSONResponse:
        missing = "no such case" in exc.message or exc.message.startswith("no ")
        status = 404 if missing else 409
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(InputError)
    @app.exception_handler(ConfigError)
    async def _bad_input(request: Request, exc: EscuchaError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(StorageError)
    async def _storage(request: Request, exc: StorageError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    return app
