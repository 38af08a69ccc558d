"""Debian's Chromium driven by Playwright, and the waits a Streamlit page needs: a run to finish,
a tab to be the only one of its name, a case to reach a status, a customer to write."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.dashboard.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = ROOT / "docs" / "screenshots"

Get = Callable[[str], Any]  # GET a path of the API, the JSON answer


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's Chromium is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def idle(page: Any) -> None:
    """Wait until Streamlit has finished the current run."""
    page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=30_000)


def open_tab(page: Any, name: str, timeout: float = 30) -> None:
    """Click the case's tab ``name`` once Streamlit shows one such tab.

    While a run replaces the page, the old tabs can stay in the page beside the new ones for a
    moment; clicking then would be a guess.
    """
    tabs = page.get_by_role("tab", name=name)
    deadline = time.monotonic() + timeout
    while True:
        idle(page)
        if tabs.count() == 1:
            try:
                tabs.click(timeout=5_000)
                return
            except PlaywrightError:
                pass  # the page was replaced between counting and clicking
        if time.monotonic() > deadline:
            raise AssertionError(f"{tabs.count()} tabs named {name!r}")
        time.sleep(0.2)


def status(get: Get, case_id: str) -> str:
    return str(get(f"/cases/{case_id}")["case"]["status"])


def wait_for_status(get: Get, case_id: str, wanted: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while status(get, case_id) != wanted:
        if time.monotonic() > deadline:
            raise AssertionError(f"{case_id} is {status(get, case_id)}, not {wanted}")
        time.sleep(0.2)


def inbound(get: Get, case_id: str) -> list[dict[str, Any]]:
    messages = get(f"/cases/{case_id}")["messages"]
    return [m for m in messages if m["direction"] == "inbound"]


def wait_for_inbound(get: Get, case_id: str, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(inbound(get, case_id)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{case_id} has {len(inbound(get, case_id))} customer messages")
        time.sleep(0.5)


def choose_channel(page: Any, case_id: str, action: str, label: str, current: str) -> None:
    key = f"channel_{case_id}_{action}_{current}_en"  # the case's channel now, in the key
    picker = page.locator(f".st-key-{key}")
    picker.locator("[role='combobox']").click()
    page.get_by_role("option", name=label, exact=True).click()
    idle(page)


def click_row(page: Any, row: int) -> None:
    """Select row ``row`` (0 = first) of the page's table by its row marker, as a person does:
    Streamlit draws tables on a canvas, so the click goes to the row's place."""
    grid = page.locator("[data-testid='stDataFrame']").first
    grid.wait_for()
    box = grid.bounding_box()
    header = row_height = 35  # Streamlit's default row height, the header included
    page.mouse.click(box["x"] + 18, box["y"] + header + row_height * row + row_height / 2)
