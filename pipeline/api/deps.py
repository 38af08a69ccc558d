"""Dependencies shared by the API's routers: the service, the store and the paging parameters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from pydantic import AfterValidator

from pipeline.service import Service
from pipeline.store import Store

# Paging bounds: the database counts rows in 64-bit integers, so an unbounded offset is a 500
# waiting to happen; a billion rows is far beyond any listing a person pages through.
MAX_OFFSET = 1_000_000_000
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
Urgency = Annotated[int | None, Query(ge=0, le=3)]

EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)


def _plausible(moment: datetime) -> datetime:
    """A moment the reports can reason about: the periods before and around it must exist."""
    at = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not EARLIEST <= at < LATEST:
        raise ValueError(f"give a time between {EARLIEST.year} and {LATEST.year}")
    return moment


# A time in a query: ISO 8601, between 1970 and 9000 (a report compares it with the period
# before it, so year 1 would overflow).
Moment = Annotated[datetime, AfterValidator(_plausible)]


def get_service(request: Request) -> Service:
    """The service the app was built over (``app.state.service``)."""
    service: Service = request.app.state.service
    return service


def get_store(request: Request) -> Store:
    """The service's store (the app sets ``app.state.store``)."""
    store: Store = request.app.state.store
    return store


def competitors(request: Request) -> dict[str, list[str]]:
    """Configured brand -> its competitors (empty when the app carries no brands)."""
    settings = getattr(request.app.state.service, "settings", None)
    brands = getattr(settings, "brands", None) or []
    return {b.name: list(b.competitors) for b in brands}


ServiceDep = Annotated[Service, Depends(get_service)]
StoreDep = Annotated[Store, Depends(get_store)]
