"""The README's screenshots, taken in Debian's Chromium on what ``make demo`` runs: ``escucha demo``
in a fresh folder (the sandbox's two weeks of Spanish and English mentions, the offline model, the
simulated customers), signed in with the people the demo made.

An agent opens a Facebook complaint from the queue by clicking its row, reads the conversation,
takes it to WhatsApp where the simulated customer writes, and closes it publicly; a brand-team
analyst reads the overview and opens a spike's crisis view.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import (
    SCREENSHOTS,
    choose_channel,
    click_row,
    idle,
    open_tab,
    wait_for_inbound,
    wait_for_status,
)
from tests.dashboard.conftest import free_port

pytestmark = pytest.mark.browser

ESCUCHA = Path(sys.executable).with_name("escucha")


@dataclass
class Demo:
    """``escucha demo`` running: its API, its dashboard and the people it made."""

    api_url: str
    dashboard_url: str
    passwords: dict[str, str]  # name -> password, from sign-ins.txt
    sessions: dict[str, str] = field(default_factory=dict)

    def token(self, name: str) -> str:
        if name not in self.sessions:
            answer = httpx.post(
                f"{self.api_url}/auth/login",
                json={"name": name, "password": self.passwords[name]},
                timeout=30,
            )
            answer.raise_for_status()
            self.sessions[name] = str(answer.json()["token"])
        return self.sessions[name]

    def get(self, path: str, as_: str = "admin", **params: Any) -> Any:
        answer = httpx.get(
            f"{self.api_url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.token(as_)}"},
            timeout=30,
        )
        answer.raise_for_status()
        return answer.json()


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    folder = tmp_path_factory.mktemp("demo")
    api_port, dashboard_port = free_port(), free_port()
    log = (folder / "demo.log").open("w")
    proc = subprocess.Popen(
        [str(ESCUCHA), "demo", "--directory", str(folder / "demo"), "--api-port", str(api_port),
         "--dashboard-port", str(dashboard_port)],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    api_url = f"http://127.0.0.1:{api_port}"
    dashboard_url = f"http://127.0.0.1:{dashboard_port}"
    try:
        deadline = time.monotonic() + 240
        while not (_up(f"{api_url}/health") and _up(f"{dashboard_url}/_stcore/health")):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"escucha demo did not start; see {folder / 'demo.log'}")
            time.sleep(1)
        lines = (folder / "demo" / "sign-ins.txt").read_text(encoding="utf-8").splitlines()
        passwords = {name: password for name, _, password in (li.split("\t") for li in lines)}
        running = Demo(api_url, dashboard_url, passwords)
        # The first poll stores the sandbox's history; wait until it is scored and triaged.
        while running.get("/cases", open="true", limit=1)["total"] < 20:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the demo opened no cases; see {folder / 'demo.log'}")
            time.sleep(2)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        yield running
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def sign_in_as(page: Any, demo: Demo, name: str, *, english: bool) -> None:
    page.goto(demo.dashboard_url)
    page.get_by_role("heading", name="Iniciar sesión").wait_for(timeout=60_000)
    if english:
        page.locator(".st-key-_lang").get_by_text("English", exact=True).click()
        page.get_by_role("heading", name="Sign in").wait_for()
    idle(page)
    page.locator(".st-key-signin_name input").fill(name)
    page.locator(".st-key-signin_password input").fill(demo.passwords[name])
    page.locator(".st-key-signin_submit button").click()
    page.locator("[data-testid='stSidebar']").get_by_text(name, exact=False).first.wait_for(
        timeout=60_000
    )
    idle(page)


def fits_a_laptop(page: Any) -> None:
    """On a 1280x720 screen the page needs no sideways scrolling (tables scroll inside)."""
    size = page.viewport_size
    page.set_viewport_size({"width": 1280, "height": 720})
    idle(page)
    page.wait_for_timeout(500)
    wide = page.evaluate(
        """() => [...document.querySelectorAll("[data-testid='stMain'], body")]
                 .map(e => e.scrollWidth - e.clientWidth)"""
    )
    page.set_viewport_size(size)
    idle(page)
    assert max(wide) <= 1, f"{page.url} scrolls sideways by {max(wide)} px at 1280x720"


def shot(page: Any, name: str, height: int | None = None) -> None:
    """Save a README screenshot of the whole page (the main area scrolls inside Streamlit)."""
    idle(page)
    page.wait_for_timeout(1200)  # charts finish drawing
    if height:
        page.set_viewport_size({"width": 1440, "height": height})
        page.locator("[data-testid='stMain']").evaluate("main => main.scrollTo(0, 0)")
        page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_an_agent_opens_a_case_by_its_row_takes_it_to_whatsapp_and_closes_it_publicly(
    browser: Any, demo: Demo
) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in_as(page, demo, "lucia", english=True)

    # The queue, as the agent sees it at the start of a shift.
    page.get_by_role("link", name=re.compile("Queue")).click()
    page.get_by_role("heading", name="Universal queue").wait_for()
    page.locator("[data-testid='stDataFrame']").first.wait_for()
    shot(page, "queue.png")
    fits_a_laptop(page)

    # Only Facebook comments, then a click on the first row opens its case.
    platform = page.locator(".st-key-q_platform_en [role='combobox']")
    if not platform.is_visible():
        page.locator("[data-testid='stExpander'] summary").filter(has_text="Filters").click()
    platform.wait_for(state="visible")
    for _ in range(3):  # the list of options is redrawn while it opens: choose by keyboard
        platform.click()
        page.keyboard.type("facebook")
        page.keyboard.press("Enter")
        idle(page)
        if platform.input_value() == "facebook":
            break
    assert platform.input_value() == "facebook"
    # The table is drawn again for the filter: wait until it counts Facebook cases only (the
    # demo keeps streaming, so a few more may have opened meanwhile).
    everything = demo.get("/cases", as_="lucia", open="true", limit=1)["total"]
    facebook = demo.get("/cases", as_="lucia", open="true", platform="facebook", limit=1)["total"]
    counted = page.get_by_text(re.compile(r"^\d+ cases ·"))
    deadline = time.monotonic() + 30
    while not facebook <= int(counted.inner_text().split()[0]) <= min(facebook + 5, everything - 1):
        assert time.monotonic() < deadline, counted.inner_text()
        time.sleep(0.3)
    idle(page)
    click_row(page, 0)
    title = page.get_by_role("heading", name=re.compile(r"Case C-\d+"))
    title.wait_for(timeout=30_000)
    case_id = re.search(r"C-\d+", title.inner_text()).group(0)  # type: ignore[union-attr]
    case = demo.get(f"/cases/{case_id}", as_="lucia")["case"]
    assert case["platform"] == "facebook" and case["status"] == "new"
    idle(page)

    def show_latest() -> None:
        page.locator("[data-testid='stSidebar']").get_by_role("link", name="Case").click()
        page.get_by_role("heading", name=re.compile(f"Case {case_id}")).wait_for()
        idle(page)

    get = lambda path: demo.get(path, as_="lucia")  # noqa: E731 - the helpers' GET
    # Acknowledge publicly, choosing WhatsApp: the reply carries the click-to-chat link.
    open_tab(page, "Acknowledge publicly")
    choose_channel(page, case_id, "acknowledge", "WhatsApp", "dm")
    page.locator("textarea").filter(has_text="https://wa.me/").first.wait_for()
    page.locator(".st-key-do_acknowledge button").click()
    wait_for_status(get, case_id, "acknowledged")
    idle(page)

    # The customer taps the link and writes on WhatsApp: one conversation, two channels.
    wait_for_inbound(get, case_id, 1)
    show_latest()
    conversation = page.locator(".st-key-case_conversation")
    conversation.get_by_text("WhatsApp").first.wait_for()
    conversation.get_by_text("Facebook").first.wait_for()

    # A private message on WhatsApp, within its window; the customer answers there.
    open_tab(page, "Private message")
    choose_channel(page, case_id, "private_message", "WhatsApp", "whatsapp")
    page.locator(".st-key-do_private_message button").click()
    wait_for_status(get, case_id, "in_private")
    wait_for_inbound(get, case_id, 2)
    show_latest()

    for tab, button, wanted in [
        ("Resolve", "do_resolve", "resolved"),
        ("Close publicly", "do_close_public", "closed_public"),
    ]:
        open_tab(page, tab)
        if button == "do_close_public":
            page.get_by_text("Will post").first.wait_for()
        page.locator(f".st-key-{button} button").click()
        wait_for_status(get, case_id, wanted)
        idle(page)

    events = get(f"/cases/{case_id}")["events"]
    worked = [e for e in events if e["action"] in ("acknowledge", "private_message", "resolve",
                                                  "close_public")]  # fmt: skip
    assert {e["actor"] for e in worked} == {"lucia"} and len(worked) == 4
    messages = get(f"/cases/{case_id}")["messages"]
    assert {(m["direction"], m["platform"]) for m in messages} >= {
        ("inbound", "whatsapp"),
        ("outbound", "whatsapp"),
        ("outbound", "facebook"),
    }
    show_latest()
    fits_a_laptop(page)
    shot(page, "case.png", height=2400)
    assert dialogs == []
    context.close()


def test_a_brand_analyst_reads_the_overview_and_opens_a_spikes_crisis_view(
    browser: Any, demo: Demo
) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    sign_in_as(page, demo, "marca", english=False)  # the demo speaks Spanish first

    page.get_by_role("heading", name="Resumen de la escucha").wait_for(timeout=30_000)
    page.locator("[data-testid='stVegaLiteChart']").first.wait_for()
    sidebar = page.locator("[data-testid='stSidebar']")
    assert sidebar.get_by_role("link", name=re.compile("Cola")).count() == 0  # no cases
    spikes = page.locator("[class*='st-key-spike_'] button")
    spikes.first.wait_for(timeout=30_000)
    fits_a_laptop(page)
    shot(page, "overview.png", height=3200)

    # The largest spike of the week (the sandbox's fibre outage): open its crisis view.
    sizes = [int(re.search(r"\d+", spikes.nth(i).inner_text()).group(0))  # type: ignore[union-attr]
             for i in range(spikes.count())]  # fmt: skip
    biggest = sizes.index(max(sizes))
    key = spikes.nth(biggest).locator("xpath=ancestor::*[contains(@class, 'st-key-spike_')]")
    index = re.search(r"st-key-spike_(\d+)", key.first.get_attribute("class") or "").group(1)  # type: ignore[union-attr]
    page.locator(f".st-key-crisis_{index} button").click()
    page.get_by_role("heading", name="Vista de crisis").wait_for(timeout=30_000)
    page.get_by_role("heading", name="Las menciones detrás").wait_for()
    idle(page)
    body = page.locator("[data-testid='stMainBlockContainer']").inner_text()
    assert "Casos abiertos" in body
    assert str(max(sizes)) in body  # the spike's mentions are the ones behind the view
    fits_a_laptop(page)
    shot(page, "crisis.png", height=2600)
    context.close()
