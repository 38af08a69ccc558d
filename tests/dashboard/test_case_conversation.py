"""The case page tells the whole story without leaving it: the conversation on every channel in
time order with delivery states, the customer panel (confirm and undo a link), and all of it in
the reader's language."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest  # noqa: TID253 - testing the dashboard

from pipeline.records import DeliveryStatus, utcnow
from pipeline.settings import load_settings
from pipeline.stages.triage import triage_pending
from pipeline.store import Store, rows
from pipeline.store import outbox as outbox_q
from tests.conftest import EXAMPLE, seed_scored
from tests.dashboard.conftest import LiveApi, add_people, dashboard, open_page, seed, serving, texts


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """Its own seeded service (these tests add customers and messages the other pages' tests
    do not expect), with one person, rosa_perez, writing on X and on Reddit."""
    folder = tmp_path_factory.mktemp("conversation")
    settings = load_settings(EXAMPLE).model_copy(update={"database": folder / "escucha.duckdb"})
    store = Store.open(settings.database)
    seed(store, settings)
    seed_scored(store, native_id="rosa1", author="rosa_perez", platform="x",
                text="Orbita lleva una semana sin arreglar mi router")  # fmt: skip
    seed_scored(store, native_id="rosa2", author="rosa_perez", platform="reddit",
                text="Orbita tampoco me responde en Reddit")  # fmt: skip
    triage_pending(store, settings)
    add_people(store)
    with serving(settings, store) as live:
        yield live
    store.close()


def case_of(live: LiveApi, words: str) -> str:
    for case in live.get("/cases", limit=200)["items"]:
        if words in (case.get("text") or ""):
            return str(case["id"])
    raise AssertionError(f"no case whose text has {words!r}")


def outbox_id(live: LiveApi, case_id: str, text: str) -> int:
    sent = live.get(f"/cases/{case_id}")["outbox"]
    return int(next(o["id"] for o in sent if o["text"] == text))


def talk(live: LiveApi, case_id: str) -> None:
    """A public reply the customer read, a private message that failed, then the customer
    writing on WhatsApp."""
    act = f"/cases/{case_id}/actions"
    live.send("POST", f"{act}/acknowledge", {"text": "Lo miramos ya, te escribimos"}, as_="marta")
    ack = outbox_id(live, case_id, "Lo miramos ya, te escribimos")
    with live.store.transaction() as cur:
        outbox_q.mark_sent(cur, ack, "x-reply-1", None, utcnow())
    live.service.cases.apply_delivery(
        DeliveryStatus(platform="x", platform_id="x-reply-1", status="read", at=utcnow())
    )
    live.send("POST", f"{act}/private_message", {"text": "¿Nos das tu número?"}, as_="mateo")
    with live.store.transaction() as cur:
        outbox_q.mark_failed(cur, outbox_id(live, case_id, "¿Nos das tu número?"), "DMs closed")
    live.service.cases.record_customer_message(
        case_id, "Mejor por **WhatsApp**: <b>600</b>", native_id="wamid.1",
        at=utcnow(), platform="whatsapp",
    )  # fmt: skip


def bubbles(at: AppTest) -> list[tuple[str, str, str]]:
    """Each message of the conversation: its heading caption, its text, its delivery caption."""
    found = []
    for message in at.chat_message:
        captions = [c.value for c in message.caption]
        found.append((captions[0], message.markdown[0].value, captions[-1]))
    return found


def test_the_conversation_shows_every_channel_in_time_order_with_delivery(world) -> None:
    case_id = case_of(world, "caída general otra vez número 5")
    talk(world, case_id)
    at = open_page(dashboard(world, "marta"), "case", id=case_id)
    said = bubbles(at)
    texts_in_order = [text for _, text, _ in said]
    assert texts_in_order == [
        "Orbita caída general otra vez número 5",
        "Lo miramos ya, te escribimos",
        "¿Nos das tu número?",
        "Mejor por \\*\\*WhatsApp\\*\\*\\: \\<b\\>600\\</b\\>",  # shown as text, never markup
    ]
    (post, _, post_state), (reply, _, read), (private, _, failed), (wa, _, wa_state) = said
    assert "**Customer**" in post and "Public post" in post and "user5" in post
    assert "**Brand**" in reply and ":material/public: Public reply" in reply
    assert "marta" in reply  # who sent it
    assert read == ":material/visibility: read"
    assert ":material/chat: Private message" in private and "mateo" in private
    assert failed == ":material/error: failed: DMs closed"
    assert "**Customer**" in wa and ":material/smartphone: WhatsApp" in wa
    assert wa_state == ":material/call_received: received"
    assert post_state.endswith("received")
    for heading, _, _ in said:
        # relative, then absolute in the reader's locale ("Dec 2, 2026, 9:57 AM")
        assert re.search(r"ago · [A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d\d\s[AP]M", heading)
    avatars = [m.avatar for m in at.chat_message]
    assert set(avatars) == {":material/person:", ":material/support_agent:"}


def test_a_suggested_link_is_confirmed_then_undone_from_the_case(world) -> None:
    case_id = case_of(world, "sin arreglar mi router")
    at = open_page(dashboard(world, "mateo"), "case", id=case_id)
    page = texts(at)
    assert "**Possible accounts of this customer** (1)" in page
    assert "reddit\\:rosa\\_perez" in page and "the same handle" in page
    assert "followers not recorded" in page or "followers" in page
    assert "No previous cases." in page

    at.button(key="cust_link_reddit_rosa_perez").click().run()
    assert not at.exception, [e.value for e in at.exception]
    page = texts(at)
    assert "reddit\\:rosa\\_perez linked to this customer." in page
    assert "linked by mateo" in page
    assert "**The customer's previous cases** (1)" in page  # the Reddit case, with its outcome
    assert "New" in page and "no survey answer" in page
    customer = world.get("/customers/x:rosa_perez", as_="mateo")
    assert {a["key"] for a in customer["accounts"]} == {"x:rosa_perez", "reddit:rosa_perez"}

    at.button(key="cust_undo_reddit_rosa_perez").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "reddit\\:rosa\\_perez left this customer." in texts(at)
    customer = world.get("/customers/x:rosa_perez", as_="mateo")
    assert [a["key"] for a in customer["accounts"]] == ["x:rosa_perez"]
    assert at.button(key="cust_link_reddit_rosa_perez")  # suggested again, to decide afresh
    with world.store.read() as cur:
        audit = rows(cur, "SELECT actor, action FROM audit_log WHERE action LIKE 'customer.%'")
    assert [(a["actor"], a["action"]) for a in audit] == [
        ("mateo", "customer.linked"),
        ("mateo", "customer.unlinked"),
    ]


ENGLISH = ("new", "public reply", "in the thread of", "acknowledged", "queued", "received",
           "customer", "ago", "followers", "done", "private message", "post")  # fmt: skip


def test_in_spanish_the_case_page_has_no_english_status_or_action_words(world) -> None:
    case_id = case_of(world, "caída general otra vez número 6")
    talk(world, case_id)
    at = open_page(dashboard(world, "marta", lang="es"), "case", id=case_id)
    at.button(key="do_resolve").click().run()
    assert not at.exception, [e.value for e in at.exception]
    page = texts(at)
    assert "Hecho: Resolver → Resuelto" in page
    assert "Conversación en todos los canales" in page and "Respuesta pública" in page
    tabs = [tab.label for tab in at.tabs]
    assert "Cerrar en público" in tabs
    assert (
        "Se publicará **en público** en **x**, en respuesta pública de cierre en el hilo de" in page
    )
    for word in ENGLISH:
        found = re.search(rf"\b{word}\b", page, re.IGNORECASE)
        assert found is None, (
            f"{word!r} in: …{page[max(0, found.start() - 80) : found.end() + 80]}…"
        )
