"""The platforms' messaging windows: when a brand may still write to a customer, and how.

Every rule here is a platform's, written down once (connectors enforce them when sending, the
case page shows them, the composer explains a refusal):

- **Private reply** to a Facebook or Instagram comment: one message to its author, within 7 days
  of the comment. Used once, it is gone.
- **Messenger and Instagram direct messages**: free messages within 24 hours of the customer's
  last message (the standard messaging window); with the page's ``HUMAN_AGENT`` tag, a person may
  answer for 7 days.
- **WhatsApp Business**: free-form messages within 24 hours of the customer's last message (the
  customer-service window); outside it only an approved template may be sent.
- E-mail, X and Reddit DMs have no window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

PRIVATE_REPLY_PLATFORMS = frozenset({"facebook", "instagram"})
PRIVATE_REPLY_WINDOW = timedelta(days=7)
STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
WINDOWED_CHANNELS = frozenset({"messenger", "instagram_dm", "whatsapp"})

Kind = Literal["private_reply", "messaging"]


@dataclass(frozen=True)
class Window:
    """Whether a brand may write now on one channel, until when, and why (for people)."""

    kind: Kind
    channel: str
    open: bool
    closes_at: datetime | None
    reason: str
    template_only: bool = False  # WhatsApp outside its window: approved templates only
    # Why, as a stable code a reader's language names: used, expired, not_written, open, closed.
    code: str = "open"

    def left(self, now: datetime) -> timedelta | None:
        return None if self.closes_at is None else max(self.closes_at - now, timedelta(0))


def private_reply(
    platform: str, comment_at: datetime, *, used: bool, now: datetime
) -> Window | None:
    """The private reply to a comment's author (Facebook, Instagram), or None elsewhere."""
    if platform not in PRIVATE_REPLY_PLATFORMS:
        return None
    closes = comment_at + PRIVATE_REPLY_WINDOW
    if used:
        return Window(
            "private_reply", platform, False, closes, "already used for this comment", code="used"
        )
    if now >= closes:
        return Window(
            "private_reply", platform, False, closes, "more than 7 days after the comment",
            code="expired",
        )  # fmt: skip
    return Window("private_reply", platform, True, closes, "one message, within 7 days")


def messaging(
    channel: str,
    last_inbound_at: datetime | None,
    *,
    now: datetime,
    human_agent: bool = False,
) -> Window | None:
    """The window to write on ``channel`` after the customer's last message, or None when the
    channel has no window (e-mail, X and Reddit DMs)."""
    if channel not in WINDOWED_CHANNELS:
        return None
    length = HUMAN_AGENT_WINDOW if human_agent and channel != "whatsapp" else STANDARD_WINDOW
    if last_inbound_at is None:
        closes = None
        reason = "the customer has not written on this channel yet"
        is_open = False
        code = "not_written"
    else:
        closes = last_inbound_at + length
        is_open = now < closes
        hours = int(length.total_seconds() // 3600)
        reason = (
            f"within {hours} h of the customer's last message"
            if is_open
            else f"more than {hours} h since the customer's last message"
        )
        code = "open" if is_open else "closed"
    if channel == "whatsapp" and not is_open:
        return Window("messaging", channel, False, closes, reason + "; send an approved template",
                      template_only=True, code=code)  # fmt: skip
    return Window("messaging", channel, is_open, closes, reason, code=code)
