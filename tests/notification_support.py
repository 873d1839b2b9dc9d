"""Helpers for the customer-communication tests: stored messages, a worker subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from orderwatch.bootstrap import App
from orderwatch.services.ports import NewMessage


def store_emails(app: App, count: int, *, now: datetime, prefix: str = "kill") -> list[str]:
    """``count`` pending e-mails (as the planner would store them); their idempotency keys."""
    keys = [f"{prefix}:{index}:email" for index in range(count)]
    messages = [
        NewMessage(
            idempotency_key=key,
            event="shipped",
            channel="email",
            recipient=f"customer{index}@example.com",
            language="en",
            subject=f"Your order {index} is on its way",
            body_text=f"Order {index} left the warehouse.",
            body_html=f"<p>Order {index} left the warehouse.</p>",
            context={},
            send_at=now,
        )
        for index, key in enumerate(keys)
    ]
    with app.uow() as uow:
        uow.notifications.add_messages(messages, now=now)
        uow.commit()
    return keys


def start_worker(
    app: App, tmp_path: Path, *, smtp_port: int, threads: int = 2, **env: str
) -> subprocess.Popen[bytes]:
    """A real ``orderwatch worker`` process on ``app``'s database, sending to ``smtp_port``."""
    environment = {
        **os.environ,
        "ORDERWATCH_DATABASE_URL": app.settings.resolved_database_url,
        "ORDERWATCH_DATA_DIR": str(tmp_path),
        "ORDERWATCH_SMTP_HOST": "127.0.0.1",
        "ORDERWATCH_SMTP_PORT": str(smtp_port),
        "ORDERWATCH_WORKER_LEASE_SECONDS": "3",
        "ORDERWATCH_CHANNEL_TIMEOUT_SECONDS": "2",
        "ORDERWATCH_WORKER_POLL_SECONDS": "0.1",
        **env,
    }
    with (tmp_path / f"worker-{time.monotonic_ns()}.log").open("wb") as log:  # the child keeps its copy
        return subprocess.Popen(
            [sys.executable, "-m", "orderwatch", "worker", "--threads", str(threads), "--batch", "20"],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class HttpReceiver:
    """A real local HTTP server recording POSTs (raw body and headers), answering ``status``."""

    def __init__(self, status: int = 200) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.status = status
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((self.path, dict(self.headers.items()), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
