"""Debian's Chromium, driven by Playwright, signs in as an agent and works a case to
``closed_public`` in the real dashboard.

Runs the seeded API on a loopback port and ``streamlit run dashboard/app.py`` beside it, checks that
a mention carrying ``<script>`` and Markdown shows as text, that every step is recorded under the
agent who signed in, and saves the README's screenshots. A second walk takes a sandbox Facebook
comment to WhatsApp, where the sandbox's simulated customer writes, and back to a public closing
reply on Facebook.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import Error as PlaywrightError

from crawlers.sandbox import SandboxPlatform, load_corpus
from pipeline.api.app import create_app
from pipeline.cli import dashboard_command
from pipeline.service import Service
from pipeline.settings import load_settings
from pipeline.stages.triage import triage_pending
from pipeline.store import Store
from tests.conftest import EXAMPLE, seed_scored
from tests.dashboard.conftest import PASSWORD, ROOT, LiveApi, add_people, free_port
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


@dataclass
class SandboxDemo:
    """The API over a service whose only source is the sandbox, worked by a background loop that
    sends the outbox and reads the simulated customers' private messages, as ``make demo`` does."""

    api: LiveApi
    sandbox: SandboxPlatform
    case_id: str
    comment_id: str
    dashboard_url: str


@pytest.fixture(scope="module")
def sandbox_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxDemo]:
    folder = tmp_path_factory.mktemp("sandbox-demo")
    settings = load_settings(EXAMPLE).model_copy(update={"database": folder / "escucha.duckdb"})
    comment = next(
        i for i in load_corpus()
        if i.platform == "facebook" and i.lang == "es" and i.parent_id == i.thread_id
        and i.expected["complaint"] and i.expected["brand"] == "Orbita"
        and i.expected["urgency_level"] in (1, 2)
    )  # fmt: skip
    sandbox = SandboxPlatform(
        [comment], folder / "sandbox", history=1.0, reply_delay=timedelta(seconds=3),
        csat_templates=[t.csat for t in settings.templates.values() if t.csat],
    )  # fmt: skip
    store = Store.open(settings.database)
    seed_scored(store, native_id=comment.id, text=comment.text, author=comment.author,
                platform="facebook", author_id=comment.author_id, lang="es", source="sandbox",
                urgency_level=2)  # fmt: skip
    (case_id,) = triage_pending(store, settings).opened
    add_people(store)
    service = Service(settings, store, sources={"sandbox": sandbox})
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(service), host="127.0.0.1", port=port, log_level="warning", access_log=False
        )
    )
    stop = threading.Event()

    def work() -> None:
        while not stop.wait(0.3):
            service.outbox.run_once()
            service.poll_private_messages()

    threads = [threading.Thread(target=server.run, daemon=True), threading.Thread(target=work)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the API did not start")
        time.sleep(0.02)
    api = LiveApi(f"http://127.0.0.1:{port}", service, store)
    try:
        with streamlit_for(api.url, folder) as url:
            yield SandboxDemo(api, sandbox, case_id, comment.id, url)
    finally:
        stop.set()
        server.should_exit = True
        for thread in threads:
            thread.join(10)
        store.close()


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


def open_tab(page: object, name: str, timeout: float = 30) -> None:
    """Click the case's tab ``name`` once Streamlit shows one such tab.

    While a run replaces the page, the old tabs can stay in the page beside the new ones for a
    moment; clicking then would be a guess.
    """
    tabs = page.get_by_role("tab", name=name)  # type: ignore[attr-defined]
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
        open_tab(page, tab)
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


def inbound(api: LiveApi, case_id: str) -> list[dict[str, object]]:
    messages = api.get(f"/cases/{case_id}")["messages"]
    return [m for m in messages if m["direction"] == "inbound"]


def wait_for_inbound(api: LiveApi, case_id: str, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len(inbound(api, case_id)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{case_id} has {len(inbound(api, case_id))} customer messages")
        time.sleep(0.3)


def choose_channel(page: object, case_id: str, action: str, label: str, current: str) -> None:
    key = f"channel_{case_id}_{action}_{current}_en"  # the case's channel now, in the key
    picker = page.locator(f".st-key-{key}")  # type: ignore[attr-defined]
    picker.locator("[role='combobox']").click()
    page.get_by_role("option", name=label, exact=True).click()  # type: ignore[attr-defined]
    idle(page)


def test_a_facebook_comment_goes_to_whatsapp_and_back_to_a_public_closing_reply(
    browser: object, sandbox_demo: SandboxDemo
) -> None:
    api, case_id = sandbox_demo.api, sandbox_demo.case_id
    context = browser.new_context(viewport={"width": 1440, "height": 1200})  # type: ignore[attr-defined]
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    # Signed in as an agent, in English, straight to the Facebook case.
    page.goto(f"{sandbox_demo.dashboard_url}/case?id={case_id}")
    page.get_by_role("heading", name="Iniciar sesión").wait_for(timeout=30_000)
    page.locator(".st-key-_lang").get_by_text("English", exact=True).click()
    page.get_by_role("heading", name="Sign in").wait_for()
    idle(page)
    page.locator(".st-key-signin_name input").fill("mateo")
    page.locator(".st-key-signin_password input").fill(PASSWORD)
    page.locator(".st-key-signin_submit button").click()
    page.get_by_role("heading", name=re.compile(f"Case {case_id}")).wait_for(timeout=30_000)
    idle(page)

    def show_latest() -> None:
        """Draw the case again (the page reads the case when it runs)."""
        page.locator("[data-testid='stSidebar']").get_by_role("link", name="Case").click()
        page.get_by_role("heading", name=re.compile(f"Case {case_id}")).wait_for()
        idle(page)

    # Acknowledge publicly, choosing WhatsApp: the reply carries the click-to-chat link.
    open_tab(page, "Acknowledge publicly")
    choose_channel(page, case_id, "acknowledge", "WhatsApp", "dm")
    page.locator("textarea").filter(has_text="https://wa.me/").first.wait_for()
    page.locator(".st-key-do_acknowledge button").click()
    wait_for_status(api, case_id, "acknowledged")
    page.get_by_text(re.compile("Done: .* → acknowledged")).wait_for()
    idle(page)
    (ack,) = sandbox_demo.sandbox.posts()
    assert ack.platform == "facebook" and ack.in_reply_to == sandbox_demo.comment_id
    assert f"?text=Caso%20{case_id}" in ack.text

    # The customer taps the link and writes on WhatsApp; their message shows in the case.
    wait_for_inbound(api, case_id, 1)
    show_latest()
    page.get_by_text(f"Caso {case_id}.", exact=False).first.wait_for()
    assert page.get_by_text(re.compile(r"⬅️ 🔒 whatsapp")).count() >= 1

    # A private message goes to their WhatsApp, within its window, and they answer there.
    open_tab(page, "Private message")
    choose_channel(page, case_id, "private_message", "WhatsApp", "whatsapp")
    page.get_by_text(re.compile("WhatsApp message to 346")).first.wait_for()
    page.locator(".st-key-do_private_message button").click()
    wait_for_status(api, case_id, "in_private")
    idle(page)
    wait_for_inbound(api, case_id, 2)
    show_latest()
    page.get_by_text("número de cliente", exact=False).first.wait_for()

    for tab, button, wanted in [
        ("Resolve", "do_resolve", "resolved"),
        ("Close publicly", "do_close_public", "closed_public"),
    ]:
        open_tab(page, tab)
        if button == "do_close_public":
            page.get_by_text("Will post").first.wait_for()
        page.locator(f".st-key-{button} button").click()
        wait_for_status(api, case_id, wanted)
        page.get_by_text(re.compile(f"Done: .* → {wanted}")).wait_for()
        idle(page)

    deadline = time.monotonic() + 20
    while sandbox_demo.sandbox.posts()[-1].kind != "public_close":
        assert time.monotonic() < deadline, "the public closing reply was not posted"
        time.sleep(0.3)
    closing = sandbox_demo.sandbox.posts()[-1]
    assert closing.platform == "facebook" and closing.in_reply_to == sandbox_demo.comment_id
    kinds = [(p.kind, p.private_channel) for p in sandbox_demo.sandbox.posts()]
    assert kinds == [("public_reply", None), ("private_message", "whatsapp"),
                     ("public_close", None)]  # fmt: skip
    show_latest()
    page.wait_for_timeout(800)
    # The whole conversation in one picture: the page scrolls inside Streamlit's main area.
    page.set_viewport_size({"width": 1440, "height": 2300})
    page.locator("[data-testid='stMain']").evaluate("main => main.scrollTo(0, 0)")
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOTS / "facebook-whatsapp.png"), full_page=True)
    assert dialogs == []
    events = api.get(f"/cases/{case_id}")["events"]
    worked = [e for e in events if e["action"] in ("acknowledge", "private_message", "resolve",
                                                  "close_public")]  # fmt: skip
    assert {e["actor"] for e in worked} == {"mateo"} and len(worked) == 4
    context.close()
