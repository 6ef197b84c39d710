"""A real HTTP server on 127.0.0.1 that records what is posted to it: the notification tests'
receiver (what ntfy, a webhook or any JSON endpoint would get)."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any


class Receiver(http.server.ThreadingHTTPServer):
    """Records each POST (path, headers, body); answers 500 the first ``failures`` times."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.failures = 0
        self.arrived = threading.Condition()

    def wait_for(self, count: int, *, timeout: float = 30.0) -> None:
        """Wait until ``count`` requests arrived; AssertionError after ``timeout`` seconds."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"{len(self.requests)} requests arrived, not {count}")

    @property
    def address(self) -> str:
        """Return ``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.server_address[1]}"

    @property
    def documents(self) -> list[dict[str, Any]]:
        """Return each body received, read as JSON."""
        return [json.loads(body) for _, _, body in self.requests]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.arrived:
            self.server.requests.append((self.path, dict(self.headers), body))
            self.server.arrived.notify_all()
        failing = self.server.failures > 0
        self.server.failures -= 1
        self.send_response(500 if failing else 200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextlib.contextmanager
def receiving() -> Iterator[Receiver]:
    """Run a ``Receiver`` on a thread while the block runs."""
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
