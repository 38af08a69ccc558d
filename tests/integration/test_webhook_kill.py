"""``escucha serve`` killed with SIGKILL while WhatsApp deliveries arrive, again and again: every
customer message ends up on its case exactly once.

Meta retries a delivery until it hears 200. So a delivery the service acknowledged must survive
the kill (it was committed before the 200), and one it did not acknowledge is sent again after the
restart and must not be stored twice. The kill lands at a different moment each round: before the
request, while it is being stored, after the answer, while the cycle processes it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pipeline.access import tokens, users
from pipeline.records import utcnow
from pipeline.settings import AuthSettings, load_settings
from pipeline.stages.triage import triage_pending
from pipeline.store import Store
from pipeline.store import webhooks as webhooks_q
from tests.conftest import EXAMPLE, seed_scored
from tests.dashboard.conftest import free_port
from tests.fakes.whatsapp import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    TOKEN,
    VERIFY_TOKEN,
    WABA_ID,
    FakeWhatsApp,
)

ESCUCHA = Path(sys.executable).with_name("escucha")
WA_ID = "34611222333"
ROUNDS = 4


def config_for(folder: Path, fake_url: str) -> Path:
    """The example configuration with one WhatsApp source, pointed at the fake, as the private
    channel."""
    text = EXAMPLE.read_text(encoding="utf-8")
    sandbox = '[[sources]]\nname = "sandbox"\nplatform = "sandbox"\nevery = "5s"\n'
    assert sandbox in text
    whatsapp = (
        f'[[sources]]\nname = "wa"\nplatform = "whatsapp"\napi_base_url = "{fake_url}"\n'
        f'phone_number_id = "{PHONE_NUMBER_ID}"\nwaba_id = "{WABA_ID}"\n'
        'template = "caso_actualizacion"\nretry_backoff = "0.01s"\nevery = "1h"\n'
    )
    text = text.replace(sandbox, whatsapp).replace('kind = "email"', 'kind = "whatsapp"')
    config = folder / "escucha.toml"
    config.write_text(text, encoding="utf-8")
    return config


@pytest.fixture
def fake() -> Iterator[FakeWhatsApp]:
    with FakeWhatsApp() as server:
        yield server


def serve(config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ESCUCHA_WHATSAPP_TOKEN": TOKEN, "ESCUCHA_META_APP_SECRET": APP_SECRET,
           "ESCUCHA_META_VERIFY_TOKEN": VERIFY_TOKEN, "ESCUCHA_SERVICE__TICK": "0.2s"}  # fmt: skip
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(ESCUCHA), "serve", "--config", str(config), "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"escucha serve did not start; see {log}")
        time.sleep(0.1)


def test_deliveries_survive_sigkills_and_are_recorded_once(tmp_path: Path, fake) -> None:
    config = config_for(tmp_path, fake.url)
    settings = load_settings(config, {})
    with Store.open(settings.database) as store:
        seed_scored(store, native_id="yt-1", text="Mi pedido no llega", author="Ana",
                    platform="youtube")  # fmt: skip
        (case_id,) = triage_pending(store, settings).opened
        admin = users.add(store, "ops", role="admin", password=None, now=utcnow())
        token, _ = tokens.start_session(store, AuthSettings(), admin, now=utcnow())
    rng = random.Random(17)
    port, log = free_port(), tmp_path / "serve.log"
    deliveries = [
        fake.customer_writes(WA_ID, f"Caso {case_id}, mensaje {n}") for n in range(ROUNDS)
    ]
    acknowledged: set[int] = set()

    def deliver(numbers: list[int]) -> None:
        """Meta posting deliveries; one that got no 200 will be sent again later."""
        for n in numbers:
            body, signature = deliveries[n]
            try:
                answer = httpx.post(
                    f"http://127.0.0.1:{port}/webhooks/wa", content=body, timeout=5,
                    headers={"Content-Type": "application/json",
                             "X-Hub-Signature-256": signature},
                )  # fmt: skip
            except httpx.TransportError:
                return  # the service died under it
            if answer.status_code == 200:
                acknowledged.add(n)

    for round_ in range(ROUNDS):
        process = serve(config, port, log)
        # Everything not acknowledged yet, this round's message last; killed at a random moment.
        due = [n for n in range(round_ + 1) if n not in acknowledged]
        sender = threading.Thread(target=deliver, args=(due,))
        sender.start()
        time.sleep(rng.uniform(0.0, 0.4))
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        sender.join(30)

    # The last restart: Meta retries what never got its 200, and the cycle processes the rest.
    process = serve(config, port, log)
    try:
        deliver([n for n in range(ROUNDS) if n not in acknowledged])
        assert acknowledged == set(range(ROUNDS))
        headers = {"Authorization": f"Bearer {token}"}
        wanted = [f"Caso {case_id}, mensaje {n}" for n in range(ROUNDS)]
        deadline = time.monotonic() + 60
        while True:
            detail = httpx.get(f"http://127.0.0.1:{port}/cases/{case_id}", headers=headers).json()
            texts = [m["text"] for m in detail["messages"] if m["direction"] == "inbound"]
            if all(text in texts for text in wanted) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
    assert sorted(texts) == sorted(wanted), "each message exactly once"
    with Store.open(settings.database) as store, store.read() as cur:
        assert webhooks_q.counts(cur) == {"pending": 0, "processed": ROUNDS, "set_aside": 0}
