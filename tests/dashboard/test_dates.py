"""Dates as the reader reads them: their browser's time zone, their language's way of writing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from dashboard import ui

MOMENT = datetime(2026, 12, 2, 9, 5, tzinfo=UTC)


def reader(monkeypatch: pytest.MonkeyPatch, *, lang: str, timezone: str | None, locale: str | None):
    browser = SimpleNamespace(context=SimpleNamespace(timezone=timezone, locale=locale))
    monkeypatch.setattr(ui, "st", browser)
    monkeypatch.setattr(ui, "lang", lambda: lang)


def test_a_reader_in_madrid_reading_spanish(monkeypatch: pytest.MonkeyPatch) -> None:
    reader(monkeypatch, lang="es", timezone="Europe/Madrid", locale="es-ES")
    assert ui.when(MOMENT) == "2 dic 2026, 10:05"
    assert ui.when(MOMENT, with_date=False) == "10:05"
    assert ui.ago(MOMENT, at=MOMENT + timedelta(minutes=5)) == "hace 5 minutos"


def test_a_reader_in_mexico_city_reading_english(monkeypatch: pytest.MonkeyPatch) -> None:
    # The browser speaks Spanish, the reader chose English: English as written in the US.
    reader(monkeypatch, lang="en", timezone="America/Mexico_City", locale="es-MX")
    assert ui.when(MOMENT) == "Dec 2, 2026, 3:05\u202fAM"
    assert ui.ago(MOMENT, at=MOMENT - timedelta(hours=2)) == "in 2 hours"


def test_a_mexican_browser_reading_spanish_gets_its_own_variety(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reader(monkeypatch, lang="es", timezone="America/Mexico_City", locale="es-MX")
    assert ui.reader_locale() == "es_MX"
    assert ui.when(MOMENT) == "2 dic 2026, 3:05\u202fa.m."


def test_an_unknown_zone_or_none_reads_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    reader(monkeypatch, lang="en", timezone="Mars/Olympus_Mons", locale=None)
    assert ui.reader_timezone() == "UTC"
    assert ui.when(MOMENT) == "Dec 2, 2026, 9:05\u202fAM"
    assert ui.when(None) == "—"
