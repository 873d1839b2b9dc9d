"""A local SMTP server that keeps what it receives: the demo's mail sink and the tests' real server.

Built on aiosmtpd (a development dependency: the demo, tests and the benchmark use it; a
production deployment points ``ORDERWATCH_SMTP_HOST`` at its real relay). Like Dovecot's
duplicate elimination, the mailbox stores one copy per ``Message-ID``: a message re-sent after a
worker crash (``services/deliveries.py`` states when) is acknowledged and counted, not stored twice.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.policy import default
from typing import Any, Self

from aiosmtpd.controller import Controller


@dataclass(frozen=True, slots=True)
class Received:
    """One message as the server accepted it."""

    message_id: str
    recipients: tuple[str, ...]
    data: bytes

    def parsed(self) -> Message:
        return message_from_bytes(self.data, policy=default)


_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(.*?)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)


def message_id_of(data: bytes) -> str:
    """The ``Message-ID`` header's value ("" when absent), read from the header block only.

    A regular expression rather than ``email`` parsing: a server in a benchmark spends its
    time on the protocol, not on building header objects (the value is one unfolded line in
    every message OrderWatch sends; a folded one would keep its first line only).
    """
    head = data.split(b"\r\n\r\n", 1)[0]
    found = _MESSAGE_ID.search(head)
    return found.group(1).decode("ascii", "replace") if found else ""


class MailboxHandler:
    """aiosmtpd handler: every accepted DATA is logged; the mailbox holds one per Message-ID."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.deliveries: list[Received] = []  # every accepted transaction, duplicates included
        self.mailbox: dict[str, Received] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook
        data = envelope.original_content or envelope.content
        received = Received(message_id_of(data), tuple(envelope.rcpt_tos), bytes(data))
        with self._lock:
            self.deliveries.append(received)
            self.mailbox.setdefault(received.message_id or f"<none-{len(self.deliveries)}>", received)
        return "250 Message accepted for delivery"

    def snapshot(self) -> tuple[list[Received], dict[str, Received]]:
        with self._lock:
            return list(self.deliveries), dict(self.mailbox)


class LocalMailbox:
    """``with LocalMailbox() as box:`` runs the server on ``box.host:box.port`` (0 = a free port)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.handler = MailboxHandler()
        self._controller = Controller(self.handler, hostname=host, port=port or _free_port(host))
        self.host = host
        self.port = self._controller.port

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._controller.stop()


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def serve(port: int = 8025) -> None:
    """Run the mailbox on ``port`` until Ctrl-C, printing a line per message received."""
    import time

    with LocalMailbox(port=port) as box:
        print(f"demo mailbox listening on {box.host}:{box.port}; Ctrl-C stops it")
        seen = 0
        try:
            while True:
                deliveries, _ = box.handler.snapshot()
                for received in deliveries[seen:]:
                    message = received.parsed()
                    print(f"{message['Date']}  {message['To']}  {message['Subject']}")
                seen = len(deliveries)
                time.sleep(0.5)
        except KeyboardInterrupt:
            return


if __name__ == "__main__":  # python -m orderwatch.adapters.mail.local_mailbox [port]
    import sys

    serve(int(sys.argv[1]) if len(sys.argv) > 1 else 8025)
