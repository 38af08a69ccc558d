"""Debian's Chromium, driven by Playwright, signs in as an agent and works a case to
``closed_public`` in the real dashboard.

Runs the seeded API on a loopback port and ``streamlit run dashboard/app.py`` beside it, checks that
a mention carrying ``<script>`` and Markdown shows as text, that every step is recorded under the
agent who signed in, and saves the README's screenshots.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.dashboard.conftest import PASSWORD, ROOT, LiveApi, free_port
from tests.dashboard.conftest import live_api as live_api

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture(scope="module")
def dashboard_url(live_api: LiveApi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = (tmp_path_factory.mktemp("streamlit") / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
            "--server.port", str(port), "--server.address", "127.0.0.1",
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
        ],
        env={**os.environ, "ESCUCHA_API_URL": live_api.url},
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("streamlit did not start")
        time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's Chromium is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def status(live_api: LiveApi, case_id: str) -> str:
    return str(live_api.get(f"/cases/{case_id}")["case"]["status"])


def wait_for_status(live_api: LiveApi, case_id: str, wanted: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while status(live_api, case_id) != wanted:
        if time.monotonic() > deadline:
            raise AssertionError(f"{case_id} is {status(live_api, case_id)}, not {wanted}")
        time.sleep(0.2)


def idle(page: object) -> None:
    """Wait until Streamlit has finished the current run."""
    page.wait_for_selector("[data-testid='stStatusWidget']", state="detached", timeout=30_000)  # type: ignore[attr-defined]


def test_work_a_case_to_closed_public_by_clicking(
    browser: object, dashboard_url: str, live_api: LiveApi
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1440, "height": 1000})  # type: ignore[attr-defined]
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    # An anonymous visitor gets the sign-in form only, in Spanish first; switch to English.
    page.goto(dashboard_url)
    page.get_by_role("heading", name="Iniciar sesión").wait_for(timeout=30_000)
    assert page.get_by_role("link", name=re.compile("Cola|Queue")).count() == 0
    page.locator(".st-key-_lang").get_by_text("English", exact=True).click()
    page.get_by_role("heading", name="Sign in").wait_for()
    idle(page)

    # A wrong password shows the service's reason; the right one signs the agent in.
    page.locator(".st-key-signin_name input").fill("mateo")
    page.locator(".st-key-signin_password input").fill("not the password")
    page.locator(".st-key-signin_submit button").click()
    page.get_by_text("wrong user name or password").wait_for()
    idle(page)
    page.locator(".st-key-signin_password input").fill(PASSWORD)
    page.locator(".st-key-signin_submit button").click()

    # Overview, in English, with who is signed in in the sidebar.
    page.get_by_text("Listening overview").wait_for(timeout=30_000)
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_text("Mateo Agente").wait_for()
    assert sidebar.get_by_role("link", name=re.compile("Admin")).count() == 0
    assert PASSWORD not in page.url
    page.locator("[data-testid='stVegaLiteChart']").first.wait_for()
    idle(page)
    page.wait_for_timeout(1500)  # let the charts finish drawing
    page.screenshot(path=str(SCREENSHOTS / "overview.png"), full_page=True)

    # The queue: pick the case whose mention carries a script and Markdown, and open it.
    page.get_by_role("link", name=re.compile("Queue")).click()
    page.get_by_text("Universal queue").wait_for()
    idle(page)
    page.wait_for_timeout(800)
    page.screenshot(path=str(SCREENSHOTS / "queue.png"), full_page=True)
    page.locator(".st-key-q_open_pick [role='combobox']").click()
    page.get_by_role("option", name=re.compile("mallory")).click()
    page.locator(".st-key-q_open button").click()
    title = page.get_by_role("heading", name=re.compile(r"Case C-\d+"))
    title.wait_for()
    case_id = re.search(r"C-\d+", title.inner_text()).group(0)  # type: ignore[union-attr]
    idle(page)
    # The case page draws in steps; wait for the mention itself before reading the page.
    page.get_by_text("**negrita**").first.wait_for(timeout=30_000)

    # The mention is text: the script did not run, the Markdown did not render.
    body = page.locator("[data-testid='stMainBlockContainer']").inner_text()
    assert '<script>alert("x")</script>' in body
    assert "**negrita**" in body
    assert "[pulsa](javascript:alert(1))" in body
    assert page.locator("[data-testid='stMainBlockContainer'] script").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    assert dialogs == []

    steps = [
        ("Acknowledge publicly", "do_acknowledge", "acknowledged"),
        ("Private message", "do_private_message", "in_private"),
        ("Resolve", "do_resolve", "resolved"),
        ("Close publicly", "do_close_public", "closed_public"),
    ]
    for tab, button, wanted in steps:
        page.get_by_role("tab", name=tab).click()
        if button in ("do_acknowledge", "do_close_public"):
            page.get_by_text("Will post").first.wait_for()
        if button == "do_acknowledge":
            page.screenshot(path=str(SCREENSHOTS / "case.png"), full_page=True)
        page.locator(f".st-key-{button} button").click()
        wait_for_status(live_api, case_id, wanted)
        page.get_by_text(re.compile(f"Done: .* → {wanted}")).wait_for()
        idle(page)

    assert status(live_api, case_id) == "closed_public"
    assert dialogs == []
    events = live_api.get(f"/cases/{case_id}")["events"]
    worked = [e for e in events if e["action"] in ("acknowledge", "private_message", "resolve",
                                                  "close_public")]  # fmt: skip
    assert len(worked) == 4
    assert {e["actor"] for e in worked} == {"mateo"}

    # Signing out goes back to the form.
    page.locator(".st-key-sign_out button").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    page.get_by_text("You have signed out.").wait_for()

    # A signed-out visitor following a link to a case gets the sign-in form, not the case, and
    # the case once signed in.
    page.goto(f"{dashboard_url}/case?id={case_id}")
    page.get_by_role("heading", name="Iniciar sesión").wait_for()
    idle(page)
    assert page.get_by_text(case_id).count() == 0
    assert page.get_by_text("Page not found").count() == 0
    page.locator(".st-key-signin_name input").fill("mateo")
    page.locator(".st-key-signin_password input").fill(PASSWORD)
    page.locator(".st-key-signin_submit button").click()
    page.get_by_role("heading", name=f"Caso {case_id}").wait_for(timeout=30_000)
    context.close()
