"""The aggregates endpoints the dashboard draws its charts from (overview and care)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline.access.roles import scoped_brand
from pipeline.analytics.overview import SPIKE_HISTORY, summarise
from pipeline.api.deps import Moment, competitors, get_store
from pipeline.api.policy import current_principal
from pipeline.errors import BadRequest
from pipeline.records import utc
from pipeline.store import Store
from pipeline.store import aggregates as queries

router = APIRouter(prefix="/aggregates", tags=["aggregates"])

_NAME = r"^[\w .:@&'+-]{1,100}$"


def get_brands(request: Request) -> dict[str, list[str]]:
    """Configured brand -> its competitors, when the app carries settings (else empty)."""
    return competitors(request)


def resolve_brand(request: Request, asked: str | None, brands: dict[str, list[str]]) -> str | None:
    """The brand a listening query runs on: the caller's scope applied (``Forbidden`` outside
    it), and a name that is neither a configured brand nor a competitor refused."""
    brand = scoped_brand(current_principal(request), asked, brands)
    if (
        brand is not None
        and brands
        and brand not in brands
        and not any(brand in c for c in brands.values())
    ):
        raise BadRequest(f"unknown brand {brand!r}; use one of {', '.join(sorted(brands))}")
    return brand


def brand_names(brands: dict[str, list[str]]) -> list[str]:
    """Every configured brand and competitor name (left out of terms and themes)."""
    return [n for name, comps in brands.items() for n in (name, *comps)]


class ListeningQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: Moment | None = Field(None, description="from this time (inclusive), ISO 8601")
    until: Moment | None = Field(None, description="up to this time (exclusive), ISO 8601")
    brand: str | None = Field(None, pattern=_NAME)
    platform: str | None = Field(None, pattern=_NAME)
    lang: str | None = Field(None, pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$|^und$")

    @model_validator(mode="after")
    def _range(self) -> ListeningQuery:
        if self.since is not None:
            self.since = utc(self.since)
        if self.until is not None:
            self.until = utc(self.until)
        if self.since and self.until and self.since >= self.until:
            raise ValueError("`since` must be before `until`")
        return self

    def filters(self) -> queries.Filters:
        return queries.Filters(self.since, self.until, self.brand, self.platform, self.lang)


class OverviewQuery(ListeningQuery):
    bucket: Literal["hour", "day"] = "day"


class CareQuery(ListeningQuery):
    team: str | None = Field(None, pattern=_NAME)
    level: str | None = Field(None, pattern=_NAME)


@router.get("/overview", summary="listening aggregates for the Overview page")
def overview(
    request: Request,
    params: Annotated[OverviewQuery, Query()],
    store: Annotated[Store, Depends(get_store)],
    brands: Annotated[dict[str, list[str]], Depends(get_brands)],
) -> dict[str, Any]:
    """Volume by platform and brand, sentiment share and net sentiment over time, spikes, top
    negative terms, share of voice against the brand's competitors, platform and language split."""
    # A person limited to some brands reads only theirs (and their competitors).
    params.brand = resolve_brand(request, params.brand, brands)
    compared = [params.brand, *brands.get(params.brand, [])] if params.brand is not None else []
    names = brand_names(brands)
    with store.read() as cur:
        found = queries.overview_rows(
            cur, params.filters(), bucket=params.bucket, brands=compared, history=SPIKE_HISTORY
        )
    return summarise(found, brand_names=names)


@router.get("/care", summary="care metrics for the Care metrics page")
def care(
    params: Annotated[CareQuery, Query()],
    store: Annotated[Store, Depends(get_store)],
) -> dict[str, Any]:
    """First response time, time to deflect, share deflected to private, share closed publicly,
    resolution time, SLA compliance per team and level, CSAT (over cases opened in the period)."""
    with store.read() as cur:
        return queries.care(cur, params.filters(), team=params.team, level=params.level)
