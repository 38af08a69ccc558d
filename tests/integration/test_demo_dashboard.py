"""``escucha demo`` starts the dashboard on loopback only, without Streamlit's usage statistics."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from pipeline.cli import dashboard_command


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> set[str]:
    """The local addresses listening on ``port``, read from the kernel's socket tables."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        path = Path(table)
        if not path.exists():
            continue
        for row in path.read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port and len(address) == width:
                found.add(address)
    return found


def test_the_command_line_binds_loopback_and_turns_off_usage_stats() -> None:
    command = dashboard_command(8501)
    flags = dict(zip(command[5::2], command[6::2], strict=True))
    assert flags["--server.address"] == "127.0.0.1"
    assert flags["--browser.gatherUsageStats"] == "false"
    assert flags["--server.headless"] == "true"  # no first-run e-mail prompt
    assert (
        dict(zip(*[iter(dashboard_command(1, address="0.0.0.0")[5:])] * 2))["--server.address"]
        == "0.0.0.0"
    )


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux's /proc/net/tcp")
def test_the_demo_dashboard_listens_on_loopback_only() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        dashboard_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while not _listening(port) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert _listening(port) == {"0100007F"}  # 127.0.0.1 and nothing else, v4 or v6
        assert httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=10).text == "ok"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_a_terminated_demo_stops_its_service_and_dashboard(tmp_path: Path) -> None:
    """A supervisor's SIGTERM (or `timeout make demo`) must not leave the ports and database held."""
    import os
    import signal
    import sys

    api, board = _free_port(), _free_port()
    escucha = Path(sys.executable).parent / "escucha"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCUCHA_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    demo = subprocess.Popen(
        [str(escucha), "demo", "--directory", str(tmp_path / "demo"), "--api-port", str(api),
         "--dashboard-port", str(board)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while not (_listening(api) and _listening(board)) and time.monotonic() < deadline:
            assert demo.poll() is None, "the demo exited on its own"
            time.sleep(0.5)
        assert _listening(api) and _listening(board)
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=60)
        deadline = time.monotonic() + 30
        while (_listening(api) or _listening(board)) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not _listening(api) and not _listening(board)
    finally:
        if demo.poll() is None:
            demo.kill()
