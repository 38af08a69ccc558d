"""The composer offers first the channel a customer can be reached on now: a linked WhatsApp
number they wrote from, and says so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from pipeline.records import InboundMessage
from pipeline.settings import load_settings
from pipeline.stages.triage import triage_pending
from pipeline.store import Store
from tests.conftest import EXAMPLE, seed_scored
from tests.dashboard.conftest import LiveApi, add_people, dashboard, open_page, serving, texts

WA_ID = "34600111222"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveApi, str]]:
    """Ana wrote on WhatsApp about her first Facebook complaint, an agent linked the number to
    her, the case was closed; then she complains again on Facebook."""
    folder = tmp_path_factory.mktemp("reachable")
    settings = load_settings(EXAMPLE).model_copy(update={"database": folder / "escucha.duckdb"})
    store = Store.open(settings.database)
    add_people(store)

    def complaint(native_id: str, text: str) -> str:
        seed_scored(store, native_id=native_id, text=text, author="Ana Gómez",
                    platform="facebook", author_id="psid-ana")  # fmt: skip
        (case_id,) = triage_pending(store, settings).opened
        return case_id

    first = complaint("fb-1", "Orbita me ha cobrado dos veces")
    with serving(settings, store) as live:
        written = InboundMessage(platform="whatsapp", native_id="wamid.1", sender=WA_ID,
                                 text=f"Hola, Caso {first}", created_at=datetime.now(UTC))  # fmt: skip
        assert live.service._record_message(written)
        author = live.get(f"/cases/{first}")["case"]["author_key"]
        live.send("POST", "/customers/links",
                  {"a": author, "b": f"whatsapp:{WA_ID}", "decision": "linked"}, as_="marta")  # fmt: skip
        live.send("POST", f"/cases/{first}/actions/dismiss", {"reason": "por teléfono"},
                  as_="marta")  # fmt: skip
        second = complaint("fb-2", "Y ahora tampoco tengo línea")
        yield live, second
    store.close()


def test_the_composer_starts_on_the_channel_the_customer_can_be_reached_on(world) -> None:
    live, case_id = world
    at = open_page(dashboard(live, "marta"), "case", id=case_id)
    picker = at.selectbox(key=f"channel_{case_id}_private_message_whatsapp_en")
    assert picker.value == "WhatsApp"
    assert f"They can be reached now on WhatsApp ({WA_ID})" in texts(at)
    at.button(key="do_private_message").click().run()
    assert not at.exception, [e.value for e in at.exception]
    case = live.get(f"/cases/{case_id}")["case"]
    assert (case["private_channel"], case["private_conversation"]) == ("whatsapp", WA_ID)
