"""Debian's Chromium, driven by Playwright, signs in as an agent and works a case to
``closed_public`` in the real dashboard, over a seeded API.

Runs the seeded API on a loopback port and the dashboard beside it, checks that a mention carrying
``<script>`` and Markdown shows as text, and that every step is recorded under the agent who signed
in. The README's screenshots come from the walks over ``escucha demo`` (test_demo_walks.py), never
from these fixtures.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from dashboard.i18n import t
from pipeline.cli import dashboard_command
from tests.browser.conftest import click_row, idle, open_tab, status, wait_for_status
from tests.dashboard.conftest import PASSWORD, ROOT, LiveApi, free_port
from tests.dashboard.conftest import live_api as live_api

pytestmark = pytest.mark.browser


@contextmanager
def streamlit_for(api_url: str, log_folder: Path) -> Iterator[str]:
    """``streamlit run dashboard/app.py`` on a free port, talking to the API at ``api_url``."""
    port = free_port()
    log = (log_folder / "streamlit.log").open("w")
    proc = subprocess.Popen(
        [*dashboard_command(port), "--server.fileWatcherType", "none"],
        env={**os.environ, "ESCUCHA_API_URL": api_url},
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
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def dashboard_url(live_api: LiveApi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with streamlit_for(live_api.url, tmp_path_factory.mktemp("streamlit")) as url:
        yield url


def test_work_a_case_to_closed_public_by_clicking(
    browser: object, dashboard_url: str, live_api: LiveApi
) -> None:
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

    # The queue: pick the case whose mention carries a script and Markdown, and open it.
    page.get_by_role("link", name=re.compile("Queue")).click()
    page.get_by_text("Universal queue").wait_for()
    idle(page)
    page.wait_for_timeout(800)
    # The queue shows what the API answers for the agent, in its order: click that row.
    listed = live_api.get("/cases", as_="mateo", open="true", limit=200)["items"]
    row = next(i for i, case in enumerate(listed) if case["author"] == "mallory")
    click_row(page, row)
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
        open_tab(page, tab)
        if button in ("do_acknowledge", "do_close_public"):
            page.get_by_text("Will post").first.wait_for()
        page.locator(f".st-key-{button} button").click()
        wait_for_status(live_api.get, case_id, wanted)
        page.get_by_text(re.compile(f"Done: .* → {t(f'status_{wanted}', 'en')}")).wait_for()
        idle(page)

    assert status(live_api.get, case_id) == "closed_public"
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
