"""Listening that explains itself: themes with their growth, top authors, risk categories over
time, spike alerts, and a crisis window (``/listening/...``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.access.roles import Principal
from pipeline.analytics import crisis as judge
from pipeline.analytics.risks import risk_categories
from pipeline.analytics.themes import themes as find_themes
from pipeline.api.aggregates import (
    _NAME,
    ListeningQuery,
    brand_names,
    get_brands,
    resolve_brand,
)
from pipeline.api.deps import Moment, get_store
from pipeline.api.policy import current_principal
from pipeline.errors import BadRequest, NotFound
from pipeline.records import utc, utcnow
from pipeline.store import Cursor, Store
from pipeline.store import listening as queries
from pipeline.store.aggregates import Filters

router = APIRouter(prefix="/listening", tags=["listening"])

MAX_WINDOW = timedelta(days=14)  # the longest crisis window, in hours on its timeline
MAX_PAD = timedelta(hours=24)  # context shown either side of a crisis window
MIN_PAD = timedelta(hours=6)

StoreDep = Annotated[Store, Depends(get_store)]
BrandsDep = Annotated[dict[str, list[str]], Depends(get_brands)]


class ThemesQuery(ListeningQuery):
    limit: int = Field(20, ge=1, le=50, description="how many themes (at most 50)")


class AuthorsQuery(ListeningQuery):
    limit: int = Field(10, ge=1, le=50, description="how many authors per list (at most 50)")


class RisksQuery(ListeningQuery):
    bucket: Literal["hour", "day"] = "day"


class AlertsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(20, ge=1, le=100, description="how many alerts (at most 100)")


class CrisisQuery(BaseModel):
    """A brand and a window, or an alert whose brand and window are used."""

    model_config = ConfigDict(extra="forbid")

    brand: str | None = Field(None, pattern=_NAME)
    start: Moment | None = Field(None, description="window start (inclusive), ISO 8601")
    end: Moment | None = Field(None, description="window end (exclusive), ISO 8601")
    alert: int | None = Field(None, ge=1, le=2**62, description="an alert id instead of a window")
    limit: int = Field(50, ge=1, le=200, description="how many mentions (at most 200)")

    @model_validator(mode="after")
    def _window(self) -> CrisisQuery:
        if self.alert is not None:
            if self.start is not None or self.end is not None:
                raise ValueError("give either `alert` or `start` and `end`, not both")
            return self
        if self.start is None or self.end is None:
            raise ValueError("give `start` and `end` (ISO 8601), or an `alert` id")
        self.start, self.end = utc(self.start), utc(self.end)
        if self.start >= self.end:
            raise ValueError("`start` must be before `end`")
        if self.end - self.start > MAX_WINDOW:
            raise ValueError(f"the window may span at most {MAX_WINDOW.days} days")
        return self


def _previous(f: Filters) -> Filters | None:
    """The period of the same length just before ``f`` (none when ``f`` has no start)."""
    if f.since is None:
        return None
    until = f.until or utcnow()
    try:
        start = f.since - (until - f.since)
    except OverflowError:  # a period of thousands of years has nothing before it to compare
        return None
    return Filters(start, f.since, f.brand, f.platform, f.lang)


def _themes(cur: Cursor, f: Filters, brands: dict[str, list[str]], limit: int) -> dict[str, Any]:
    before = _previous(f)
    return find_themes(
        queries.sample(cur, f),
        queries.sample(cur, before) if before is not None else None,
        exclude=brand_names(brands),
        limit=limit,
    )


@router.get("/themes", summary="top themes and phrases of the period, with their growth")
def themes(
    request: Request,
    params: Annotated[ThemesQuery, Query()],
    store: StoreDep,
    brands: BrandsDep,
) -> dict[str, Any]:
    """Words and 2-3-word phrases with their volume, sentiment split and example mentions, the
    ones that grew most against the previous period of the same length first."""
    params.brand = resolve_brand(request, params.brand, brands)
    f = params.filters()
    with store.read() as cur:
        found = _themes(cur, f, brands, params.limit)
    return {"filters": f.describe(), **found}


@router.get("/authors", summary="top authors by reach and by volume, with their sentiment")
def authors(
    request: Request,
    params: Annotated[AuthorsQuery, Query()],
    store: StoreDep,
    brands: BrandsDep,
) -> dict[str, Any]:
    """The authors of the selection with the most followers (then engagement) and with the most
    mentions; only mentions of brands the caller sees are counted."""
    params.brand = resolve_brand(request, params.brand, brands)
    f = params.filters()
    with store.read() as cur:
        found = queries.top_authors(cur, f, limit=params.limit)
    return {"filters": f.describe(), **{k: [_author(r) for r in v] for k, v in found.items()}}


def _author(row: dict[str, Any]) -> dict[str, Any]:
    polar = row["negative"] + row["positive"]
    net = (row["positive"] - row["negative"]) / polar if polar else None
    keep = ("author_key", "author", "platform", "mentions", "followers", "engagement")
    return {
        **{k: row[k] for k in keep},
        **{k: row[k] for k in ("negative", "neutral", "positive", "last_seen")},
        "net": net,
    }


@router.get("/risks", summary="risk categories (urgency reasons) over time")
def risks(
    request: Request,
    params: Annotated[RisksQuery, Query()],
    store: StoreDep,
    brands: BrandsDep,
) -> dict[str, Any]:
    """Mentions per bucket and risk category; categories carry a stable ``key`` and a label."""
    params.brand = resolve_brand(request, params.brand, brands)
    f = params.filters()
    with store.read() as cur:
        counts = queries.reason_counts(cur, f, params.bucket)
    return {"filters": {**f.describe(), "bucket": params.bucket}, **risk_categories(counts)}


def _visible_brands(principal: Principal, brands: dict[str, list[str]]) -> list[str] | None:
    allowed = principal.brand_scope()
    if allowed is None:
        return None
    return sorted(set(allowed) | {c for b in allowed for c in brands.get(b, ())})


@router.get("/alerts", summary="volume-spike and sentiment-drop alerts, with their windows")
def alerts(
    request: Request,
    params: Annotated[AlertsQuery, Query()],
    store: StoreDep,
    brands: BrandsDep,
) -> dict[str, Any]:
    """The newest spike and sentiment-drop alerts about brands the caller sees, each with the
    brand and window a crisis view opens on."""
    visible = _visible_brands(current_principal(request), brands)
    with store.read() as cur:
        items = queries.recent_alerts(cur, brands=visible, limit=params.limit)
    return {"items": items}


@router.get("/crisis", summary="a crisis window: timeline, mentions, categories, cases, alerts")
def crisis(
    request: Request,
    params: Annotated[CrisisQuery, Query()],
    store: StoreDep,
    brands: BrandsDep,
) -> dict[str, Any]:
    """For a brand and window (or an alert's): hourly volume and negative share against the week
    before, the mentions most urgent and engaged first, risk categories, themes, the cases opened
    from those mentions with their status, and the alerts raised."""
    principal = current_principal(request)
    with store.read() as cur:
        brand, start, end = _window(cur, params)
        brand = resolve_brand(request, brand, brands)
        window = Filters(start, end, brand)
        now = utcnow()
        pad = min(max(MIN_PAD, end - start), MAX_PAD)
        shown_from, shown_to = start - pad, min(end + pad, max(end, now))
        usual = judge.baseline(
            queries.totals(cur, Filters(start - judge.BASELINE, start, brand)),
            hours=judge.BASELINE / judge.HOUR,
        )
        hours = (end - start) / judge.HOUR
        hourly = queries.hourly_sentiment(cur, Filters(shown_from, shown_to, brand))
        timeline = judge.timeline(hourly, start=shown_from, end=shown_to, usual=usual)
        for point in timeline:
            point["in_window"] = start < point["hour"] + judge.HOUR and point["hour"] < end
        mentions = queries.window_mentions(cur, window, limit=params.limit)
        categories = risk_categories(queries.reason_counts(cur, window, "hour"))
        found_themes = _themes(cur, window, brands, 15)
        cases = queries.window_cases(cur, window)
        raised = queries.window_alerts(cur, brand=brand, since=start - pad, until=end + pad)
        summary = judge.summary(queries.totals(cur, window), usual, hours=hours)
    readable = principal.may("cases:read")
    return {
        "brand": brand,
        "start": start,
        "end": end,
        "summary": summary,
        "baseline": usual,
        "timeline": timeline,
        "mentions": mentions,
        "categories": categories["categories"],
        "themes": found_themes["items"],
        "cases_total": len(cases),
        # Someone who may not read cases learns how many there are, not which.
        "cases": [c for c in cases if principal.sees_case(c["team"], c["brand"])]
        if readable
        else None,
        "alerts": raised,
    }


def _window(cur: Cursor, params: CrisisQuery) -> tuple[str | None, datetime, datetime]:
    """The brand and window asked for, or the alert's."""
    if params.alert is None:
        if params.start is None or params.end is None:  # the model refuses this already
            raise BadRequest("give `start` and `end` (ISO 8601), or an `alert` id")
        return params.brand, params.start, params.end
    found = queries.alert(cur, params.alert)
    if found is None:
        raise NotFound(f"no alert {params.alert}; see GET /listening/alerts for the ids")
    created = utc(found["created_at"])
    start = _moment(found.get("start")) or created - MIN_PAD
    end = _moment(found.get("end")) or created + judge.HOUR
    if end <= start:
        end = start + judge.HOUR
    return params.brand or found.get("brand"), start, min(end, start + MAX_WINDOW)


def _moment(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return utc(datetime.fromisoformat(str(value)))
    except ValueError:
        return None
