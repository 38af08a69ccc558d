"""A loopback HTTP server with fault injection, the base of every fake platform.

Each fake registers routes (method, path regex, handler). Before a route runs, the server may
answer with a fault instead: one scripted in ``faults`` (429 with reset headers, 5xx, malformed
JSON, a slow answer), a random one when ``fail_rate`` is set, or 401 when ``expired`` is set.
Every request is logged in ``requests`` so tests can count what the connector sent.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    match: re.Match[str] | None = None

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Response:
    status: int = 200
    body: Any = None  # JSON-serialisable, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Fault:
    """One scripted misbehaviour, consumed by the next request that can fail."""

    status: int = 500
    body: Any = None
    headers: dict[str, str] | None = None
    delay: float = 0.0
    reset_in: float | None = 1.0  # for 429: reset header at now + reset_in (None: no header)
    malformed: bool = False
    slow: bool = False  # answer normally, but after ``delay`` seconds


Handler = Callable[[Request], Response]


class FakeServer:
    """A threaded HTTP server on 127.0.0.1 with an ephemeral port."""

    exempt: tuple[str, ...] = ()  # path prefixes never failed (e.g. token endpoints)

    def __init__(self, *, seed: int = 0) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.faults: deque[Fault] = deque()
        self.fail_rate = 0.0
        self.fail_statuses: tuple[int, ...] = (429, 500, 503)
        self.rng = random.Random(seed)
        self.delay = 0.0  # added to every answer
        self.expired = False
        self.requests: list[Request] = []
        self.failures = 0
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- to override -------------------------------------------------------------------------
    def rate_headers(self, reset: float) -> dict[str, str]:
        return {}

    def error_body(self, status: int) -> Any:
        return {"error": {"code": status, "message": f"fake error {status}"}}

    def unauthorized(self, request: Request) -> Response:
        return Response(401, self.error_body(401))

    def authorized(self, request: Request) -> bool:
        return True

    # -- plumbing ----------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeServer:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(
                    method=self.command,
                    path=split.path,
                    query={k: v[0] for k, v in parse_qs(split.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                response = fake.dispatch(request)
                if response.delay:
                    time.sleep(response.delay)
                if isinstance(response.body, bytes):
                    payload = response.body
                elif response.body is None:
                    payload = b""
                else:
                    payload = json.dumps(response.body).encode()
                try:
                    self.send_response(response.status)
                    headers = {
                        "Content-Type": "application/json; charset=UTF-8",
                        **response.headers,
                    }
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def dispatch(self, request: Request) -> Response:
        with self.lock:
            self.requests.append(request)
            fault = self._next_fault(request)
        extra = self.delay
        if fault is not None and not fault.slow:
            self.failures += 1
            return self._fault_response(fault)
        if fault is not None:
            extra += fault.delay
        if self.expired and not request.path.startswith(self.exempt or ("\0",)):
            return self.unauthorized(request)
        if not self.authorized(request):
            return self.unauthorized(request)
        for method, pattern, handler in self.routes:
            match = pattern.match(request.path)
            if method == request.method and match:
                request.match = match
                with self.lock:
                    response = handler(request)
                response.delay += extra
                return response
        return Response(404, self.error_body(404), delay=extra)

    def _next_fault(self, request: Request) -> Fault | None:
        if self.exempt and request.path.startswith(self.exempt):
            return None
        if self.faults:
            return self.faults.popleft()
        if self.fail_rate and self.rng.random() < self.fail_rate:
            return Fault(status=self.rng.choice(self.fail_statuses))
        return None

    def _fault_response(self, fault: Fault) -> Response:
        if fault.malformed:
            return Response(200, b'{"data": [unterminated', delay=fault.delay)
        headers = dict(fault.headers or {})
        if fault.status == 429 and fault.reset_in is not None and fault.headers is None:
            headers.update(self.rate_headers(time.time() + fault.reset_in))
        body = fault.body if fault.body is not None else self.error_body(fault.status)
        return Response(fault.status, body, headers, delay=fault.delay)

    def count(self, method: str, path_regex: str) -> int:
        pattern = re.compile(path_regex)
        with self.lock:
            return sum(1 for r in self.requests if r.method == method and pattern.search(r.path))
