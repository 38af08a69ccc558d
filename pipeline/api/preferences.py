"""The signed-in person's own saved preferences (the queue's filters, for one), by name.

Nobody reads or writes anyone else's: the user is always the caller, never a path parameter.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path

from pipeline.api.deps import ServiceDep
from pipeline.api.policy import PrincipalDep
from pipeline.errors import BadRequest, Conflict
from pipeline.records import utcnow
from pipeline.store import preferences

router = APIRouter(prefix="/me/preferences")

MAX_BYTES = 16 * 1024  # a set of filters is a few hundred bytes
MAX_NAMES = 50  # names one person may save
PreferenceName = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]


class PreferenceTooLarge(BadRequest):
    """A preference over ``MAX_BYTES`` once written as JSON."""

    status = 413


@router.get("/{name}")
def read_preference(name: PreferenceName, service: ServiceDep, principal: PrincipalDep) -> Any:
    """The saved value; an unsaved preference reads as ``{}`` with ``updated_at`` null."""
    with service.store.read() as cur:
        found = preferences.get(cur, principal.name, name)
    return found or {"name": name, "value": {}, "updated_at": None}


@router.put("/{name}")
def save_preference(
    name: PreferenceName,
    value: Annotated[dict[str, Any], Body()],
    service: ServiceDep,
    principal: PrincipalDep,
) -> Any:
    """Save ``value`` (a JSON object, the whole body) as the caller's preference ``name``."""
    size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    if size > MAX_BYTES:
        raise PreferenceTooLarge(
            f"the preference {name} is {size:,} bytes; at most {MAX_BYTES:,} are kept",
            hint="save less: a preference holds choices such as filters, not data",
        )
    now = utcnow()
    with service.store.transaction() as cur:
        is_new = preferences.get(cur, principal.name, name) is None
        if is_new and preferences.count(cur, principal.name) >= MAX_NAMES:
            raise Conflict(
                f"you already keep {MAX_NAMES} preferences; {name} would be one too many",
                hint="reuse one of their names",
            )
        preferences.put(cur, principal.name, name, value, now=now)
    return {"name": name, "value": value, "updated_at": now}
