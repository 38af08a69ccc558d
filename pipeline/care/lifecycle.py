"""The case lifecycle as an explicit state machine: which action is allowed from which status.

new ─► acknowledged ─► in_private ─► resolved ─► closed_public ─► closed
 ├─► dismissed (reason required)          escalate/assign: any open status, status unchanged
 └── reopen: resolved, closed_public, closed, dismissed ─► in_private (or new if never deflected)
"""

from __future__ import annotations

from typing import Final

from pipeline.records import FINAL_STATUSES, OPEN_STATUSES, STATUSES

__all__ = ["FINAL_STATUSES", "OPEN_STATUSES", "STATUSES", "TRANSITIONS"]


# action -> (statuses it is allowed from, status it leads to; None = unchanged or computed)
TRANSITIONS: Final[dict[str, tuple[tuple[str, ...], str | None]]] = {
    "acknowledge": (("new",), "acknowledged"),
    "private_message": (("new", "acknowledged", "in_private"), "in_private"),
    "customer_reply": (("acknowledged", "in_private", "resolved", "closed_public"), None),
    "resolve": (("acknowledged", "in_private"), "resolved"),
    "close_public": (("resolved",), "closed_public"),
    "close": (("closed_public",), "closed"),
    "dismiss": (("new", "acknowledged", "in_private"), "dismissed"),
    "escalate": (OPEN_STATUSES, None),
    "assign": (OPEN_STATUSES, None),
    "reopen": (("resolved", "closed_public", "closed", "dismissed"), None),
}

ACTIONS: Final = tuple(TRANSITIONS)
POSTING_ACTIONS: Final = {
    "acknowledge": "public_reply",
    "private_message": "private_message",
    "close_public": "public_close",
}


def allowed(action: str, status: str) -> bool:
    rule = TRANSITIONS.get(action)
    return rule is not None and status in rule[0]


def next_status(action: str, status: str, *, deflected: bool) -> str:
    """The status after ``action``; the caller has checked ``allowed`` first."""
    target = TRANSITIONS[action][1]
    if target is not None:
        return target
    if action == "reopen":
        return "in_private" if deflected else "new"
    if action == "customer_reply" and status in ("resolved", "closed_public"):
        # The customer wrote again after we thought it was solved: back to the conversation.
        return "in_private"
    return status


def actions_from(status: str) -> list[str]:
    """Actions a person may take on a case in ``status`` (customer_reply is recorded, not taken)."""
    return [a for a, (sources, _) in TRANSITIONS.items() if status in sources]
