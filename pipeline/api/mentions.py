"""Mentions: the filtered list, its CSV/Parquet export, and one mention with its thread."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from pipeline.access import audit
from pipeline.access.roles import scoped_brand, sees_brand
from pipeline.api import exports
from pipeline.api.deps import Limit, Offset, ServiceDep, Urgency, competitors
from pipeline.api.policy import PrincipalDep, current_principal
from pipeline.errors import BadRequest, Conflict, Forbidden, NotFound
from pipeline.records import utcnow
from pipeline.store import catalog, corrections, fulltext
from pipeline.store.search import MentionFilter, mention, mentions, page

router = APIRouter()


def mention_filter(
    request: Request,
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
        raise BadRequest("`since` must be before `until`")
    # A person limited to some brands reads only theirs (and their competitors).
    brand = scoped_brand(current_principal(request), brand, competitors(request))
    return MentionFilter(q, platform, brand, lang, sentiment, min_urgency, since, until, case)


MentionFilterDep = Annotated[MentionFilter, Depends(mention_filter)]


@router.get("/mentions")
def list_mentions(
    service: ServiceDep,
    filters: MentionFilterDep,
    limit: Limit = 50,
    offset: Offset = 0,
    after: Annotated[str | None, Query(max_length=1100)] = None,
) -> dict[str, Any]:
    index = fulltext.index_for(service.store)
    with service.store.read() as cur:
        found = page(cur, filters, limit=limit, offset=offset, after=_cursor(after), index=index)
    return {
        "items": found.items,
        "total": found.total,
        "total_is_estimate": found.total_is_estimate,
        "next": None if found.after is None else f"{found.after[0].isoformat()}|{found.after[1]}",
    }


def _cursor(after: str | None) -> tuple[datetime, str] | None:
    """``next`` from the previous page: its last mention's time and key."""
    if after is None:
        return None
    moment, _, key = after.partition("|")
    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or not key:
        raise BadRequest("`after` is not a cursor from a previous page's `next`")
    return parsed, key


@router.get("/mentions/export")
def export_mentions(
    request: Request,
    service: ServiceDep,
    filters: MentionFilterDep,
    format: Literal["csv", "parquet"] = "csv",
    limit: Annotated[int, Query(ge=1, le=1_000_000)] = 100_000,
) -> Response:
    with service.store.read() as cur:
        items, _ = mentions(
            cur, filters, limit=limit, offset=0, index=fulltext.index_for(service.store)
        )
    audit.record(
        service.store, current_principal(request), "export.mentions", now=utcnow(),
        detail={"rows": len(items), "format": format},
    )  # fmt: skip
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    if format == "parquet":
        return exports.parquet(items, f"mentions-{stamp}.parquet")
    columns = list(items[0].keys()) if items else ["key", "text"]
    return exports.csv_stream(items, columns, f"mentions-{stamp}.csv")


@router.get("/mentions/{key}")
def get_mention(key: str, service: ServiceDep, request: Request) -> dict[str, Any]:
    with service.store.read() as cur:
        found = mention(cur, key)
        if found is None:
            raise NotFound(f"no mention {key!r}", hint="use keys like 'x:123' from /mentions")
        if not sees_brand(current_principal(request), found["brand"], competitors(request)):
            raise Forbidden(f"mention {key!r} is about a brand you do not see")
        found["thread"] = catalog.thread(cur, found["thread_key"] or found["key"])
        found["author_profile"] = catalog.author_profile(cur, found["author_key"])
        found["corrections"] = corrections.for_mention(cur, key)
    return found


class HideBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hidden: bool = True
    reason: str | None = Field(None, max_length=500)


@router.post("/mentions/{key}/hide")
def hide_mention(
    key: str, body: HideBody, service: ServiceDep, principal: PrincipalDep, request: Request
) -> dict[str, Any]:
    """Hide a public comment on its platform (abuse, spam, personal data posted in public), or
    show it again: Facebook and Instagram keep it visible to its author only."""
    with service.store.read() as cur:
        found = mention(cur, key)
    if found is None:
        raise NotFound(f"no mention {key!r}", hint="use keys like 'facebook:123' from /mentions")
    if not sees_brand(principal, found["brand"], competitors(request)):
        raise Forbidden(f"mention {key!r} is about a brand you do not see")
    moderator = service.moderator(found["source"], found["platform"])
    if moderator is None:
        raise Conflict(f"comments on {found['platform']} cannot be hidden from escucha",
                       hint="Facebook and Instagram sources can hide comments")  # fmt: skip
    moderator.hide(found["native_id"], hidden=body.hidden)
    audit.record(
        service.store, principal, "mention.hide" if body.hidden else "mention.show",
        now=utcnow(), target=key, detail={"reason": body.reason} if body.reason else None,
    )  # fmt: skip
    return {"mention_key": key, "hidden": body.hidden}
