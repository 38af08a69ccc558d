"""What an alert says: the Alert and its evidence, one builder per kind, and who counts as a VIP.

Every alert is built here, so each kind reads the same way in Slack, email and webhooks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from pipeline.records import utc
from pipeline.settings import AlertKind, AlertSettings

Severity = Literal["info", "warning", "critical"]
_EXCERPT = 200


@dataclass(frozen=True, slots=True)
class Evidence:
    """A mention that drove an alert, as the alert shows it."""

    platform: str
    author: str
    text: str
    url: str | None = None

    def line(self) -> str:
        text = " ".join(self.text.split())
        if len(text) > _EXCERPT:
            text = text[: _EXCERPT - 1] + "…"
        link = f" ({self.url})" if self.url else ""
        return f"- {self.platform} {self.author}: {text}{link}"


@dataclass(frozen=True, slots=True)
class Alert:
    """One incident to tell people about; ``dedupe_key`` is the same for every repeat of it."""

    kind: AlertKind
    dedupe_key: str
    severity: Severity
    title: str
    summary: str  # one or two sentences: what happened
    created_at: datetime
    dashboard_url: str | None = None
    team: str | None = None
    brand: str | None = None
    evidence: tuple[Evidence, ...] = ()
    terms: tuple[str, ...] = ()
    data: Mapping[str, Any] = field(default_factory=dict)  # figures for machines (webhooks)

    @property
    def body(self) -> str:
        """The human-readable message: what happened, the evidence, the terms and a link."""
        parts = [self.summary]
        if self.evidence:
            parts.append("Mentions:\n" + "\n".join(e.line() for e in self.evidence))
        if self.terms:
            parts.append("Terms: " + ", ".join(self.terms))
        if self.dashboard_url:
            parts.append(f"Open in escucha: {self.dashboard_url}")
        return "\n\n".join(parts)

    def payload(self) -> dict[str, Any]:
        """The JSON document posted to webhooks (documented in docs/care.md)."""
        return {
            "kind": self.kind,
            "dedupe_key": self.dedupe_key,
            "severity": self.severity,
            "title": self.title,
            "summary": self.summary,
            "body": self.body,
            "created_at": utc(self.created_at).isoformat(),
            "dashboard_url": self.dashboard_url,
            "team": self.team,
            "brand": self.brand,
            "mentions": [
                {"platform": e.platform, "author": e.author, "text": e.text, "url": e.url}
                for e in self.evidence
            ],
            "terms": list(self.terms),
            "data": dict(self.data),
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Alert:
        """The alert again from its stored :meth:`payload`, to deliver it in a later run."""
        return cls(
            kind=cast(AlertKind, payload["kind"]),
            dedupe_key=payload["dedupe_key"],
            severity=cast(Severity, payload["severity"]),
            title=payload["title"],
            summary=payload["summary"],
            created_at=datetime.fromisoformat(payload["created_at"]),
            dashboard_url=payload.get("dashboard_url"),
            team=payload.get("team"),
            brand=payload.get("brand"),
            evidence=tuple(
                Evidence(m["platform"], m["author"], m["text"], m.get("url"))
                for m in payload.get("mentions", ())
            ),
            terms=tuple(payload.get("terms", ())),
            data=dict(payload.get("data", {})),
        )


def urgent_case_alert(
    case_id: str,
    *,
    level: int,
    reasons: Sequence[str],
    evidence: Sequence[Evidence],
    now: datetime,
    team: str | None = None,
    brand: str | None = None,
    link: str | None = None,
    terms: Sequence[str] = (),
) -> Alert:
    """An urgent case was opened (urgency level at or above ``alerts.min_urgency_level``)."""
    names = ("none", "normal", "high", "critical")
    why = ", ".join(reasons) or "the urgency model"
    return Alert(
        kind="urgent_case",
        dedupe_key=f"urgent_case:{case_id}",
        severity="critical" if level >= 3 else "warning",
        title=f"Urgent case {case_id} ({names[max(0, min(level, 3))]})",
        summary=f"A {names[max(0, min(level, 3))]} urgency case was opened"
        + (f" for {brand}" if brand else "")
        + (f" in team {team}" if team else "")
        + f". Signals: {why}.",
        created_at=utc(now),
        dashboard_url=link,
        team=team,
        brand=brand,
        evidence=tuple(evidence),
        terms=tuple(terms),
        data={"case_id": case_id, "level": level, "reasons": list(reasons)},
    )


def volume_spike_alert(
    series: str,
    *,
    start: datetime,
    end: datetime,
    observed: int,
    expected: float,
    score: float,
    now: datetime,
    brand: str | None = None,
    evidence: Sequence[Evidence] = (),
    terms: Sequence[str] = (),
    link: str | None = None,
) -> Alert:
    """Mentions in ``series`` (e.g. "Orbita/x/negative") ran well above the seasonal baseline.

    The dedupe key is the series alone, so an ongoing spike is one alert per cooldown.
    """
    ratio = observed / expected if expected > 0 else float("inf")
    return Alert(
        kind="volume_spike",
        dedupe_key=f"volume_spike:{series}",
        severity="critical" if ratio >= 5 and observed >= 50 else "warning",
        title=f"Volume spike: {series}",
        summary=(
            f"{observed} mentions in {series} between {_hhmm(start)} and {_hhmm(end)} UTC, "
            f"against about {expected:.0f} expected for that time of the week "
            f"(x{ratio:.1f}, score {score:.1f})."
        ),
        created_at=utc(now),
        dashboard_url=link,
        brand=brand,
        evidence=tuple(evidence),
        terms=tuple(terms),
        data={
            "series": series,
            "start": utc(start).isoformat(),
            "end": utc(end).isoformat(),
            "observed": observed,
            "expected": round(expected, 2),
            "score": round(score, 2),
        },
    )


def sentiment_drop_alert(
    series: str,
    *,
    start: datetime,
    end: datetime,
    share: float,
    baseline_share: float,
    negative: int,
    total: int,
    now: datetime,
    brand: str | None = None,
    evidence: Sequence[Evidence] = (),
    terms: Sequence[str] = (),
    link: str | None = None,
) -> Alert:
    """The share of negative mentions in ``series`` rose well above its usual level."""
    return Alert(
        kind="sentiment_drop",
        dedupe_key=f"sentiment_drop:{series}",
        severity="warning",
        title=f"Sentiment drop: {series}",
        summary=(
            f"{share:.0%} of mentions in {series} were negative between {_hhmm(start)} and "
            f"{_hhmm(end)} UTC ({negative} of {total}), against {baseline_share:.0%} usually."
        ),
        created_at=utc(now),
        dashboard_url=link,
        brand=brand,
        evidence=tuple(evidence),
        terms=tuple(terms),
        data={"series": series, "share": share, "baseline_share": baseline_share},
    )


def is_vip(
    settings: AlertSettings, *, platform: str, author: str, followers: int | None = None
) -> bool:
    """A VIP is a listed author (``@handle`` or ``platform:handle``) or one with a large reach."""
    handle = author.casefold().lstrip("@")
    for entry in settings.vip_authors:
        wanted = entry.casefold()
        vip_platform, _, vip_handle = wanted.rpartition(":")
        if vip_handle.lstrip("@") == handle and vip_platform in ("", platform.casefold()):
            return True
    return followers is not None and followers >= settings.high_reach_followers


def vip_author_alert(
    mention_key: str,
    *,
    evidence: Evidence,
    followers: int | None,
    now: datetime,
    brand: str | None = None,
    case_id: str | None = None,
    link: str | None = None,
    terms: Sequence[str] = (),
) -> Alert:
    """A VIP or high-reach author mentioned the brand."""
    reach = f" ({followers:,} followers)" if followers else ""
    return Alert(
        kind="vip_author",
        dedupe_key=f"vip_author:{mention_key}",
        severity="warning",
        title=f"VIP mention: {evidence.author} on {evidence.platform}",
        summary=f"{evidence.author}{reach} mentioned {brand or 'the brand'} "
        f"on {evidence.platform}.",
        created_at=utc(now),
        dashboard_url=link,
        brand=brand,
        evidence=(evidence,),
        terms=tuple(terms),
        data={"mention": mention_key, "followers": followers, "case_id": case_id},
    )


def sla_breach_alert(
    case_id: str,
    *,
    clock: Literal["first_response", "resolution"],
    due: datetime,
    now: datetime,
    team: str | None = None,
    brand: str | None = None,
    link: str | None = None,
) -> Alert:
    """A case missed its first-response or resolution SLA; one alert per case and clock."""
    what = "first response" if clock == "first_response" else "resolution"
    return Alert(
        kind="sla_breach",
        dedupe_key=f"sla_breach:{case_id}:{clock}",
        severity="warning",
        title=f"SLA breached: case {case_id} ({what})",
        summary=f"Case {case_id}"
        + (f" in team {team}" if team else "")
        + f" was due a {what} by {utc(due).isoformat(timespec='minutes')} and has none yet.",
        created_at=utc(now),
        dashboard_url=link,
        team=team,
        brand=brand,
        data={"case_id": case_id, "clock": clock, "due": utc(due).isoformat()},
    )


def _hhmm(moment: datetime) -> str:
    return utc(moment).strftime("%Y-%m-%d %H:%M")
