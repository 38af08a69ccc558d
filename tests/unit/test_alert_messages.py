"""What an alert says survives being stored: a held alert is sent later exactly as first built."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from pipeline.alerts.messages import (
    Alert,
    Evidence,
    sentiment_drop_alert,
    sla_breach_alert,
    urgent_case_alert,
    vip_author_alert,
    volume_spike_alert,
)

NOW = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
EVIDENCE = Evidence("x", "@ana", "El router de Orbita echa humo", "https://x/1")


def test_every_kind_of_alert_reads_the_same_after_a_round_trip_through_its_payload() -> None:
    built = [
        urgent_case_alert(
            "C-000001", level=3, reasons=["safety"], evidence=[EVIDENCE], now=NOW,
            team="crisis", brand="Orbita", link="http://localhost:8501/case?id=C-000001",
            terms=["humo"],
        ),
        volume_spike_alert(
            "Orbita", start=NOW - timedelta(hours=2), end=NOW, observed=120, expected=20.5,
            score=12.3, now=NOW, brand="Orbita", evidence=[EVIDENCE],
        ),
        sentiment_drop_alert(
            "Orbita", start=NOW - timedelta(hours=6), end=NOW, share=0.6, baseline_share=0.1,
            negative=12, total=20, now=NOW, brand="Orbita",
        ),
        vip_author_alert(
            "x:1", evidence=EVIDENCE, followers=250_000, now=NOW, brand="Orbita", case_id=None
        ),
        sla_breach_alert("C-000002", clock="resolution", due=NOW, now=NOW, team="atencion-es"),
    ]  # fmt: skip
    for alert in built:
        stored = json.dumps(alert.payload(), ensure_ascii=False, default=str)
        again = Alert.from_payload(json.loads(stored))
        assert again.payload() == alert.payload()
        assert again.body == alert.body
