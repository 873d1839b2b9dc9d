"""The benchmark's SMTP server: aiosmtpd in its own processes, several on one port (SO_REUSEPORT).

    bench process ──starts──▶ N sink processes, each: asyncio loop + aiosmtpd SMTP server
                                bound to the same 127.0.0.1:<port> with SO_REUSEPORT
                                (the kernel spreads new connections over them)
                  ◀─counter── every accepted DATA adds 1 to the process's shared counter
                  ◀──pipe──── at stop: the Message-IDs it accepted (duplicates found across all)

Why: a server in the benchmark's own process shares the GIL with the load generator and the
pollers, and one aiosmtpd event loop is itself a ceiling (a few hundred messages/s on this
machine). Several server processes on one port is a legitimate local SMTP set-up (Postfix runs
several ``smtpd`` processes behind one listener); each is a real, unmodified aiosmtpd SMTP
server, answering every command of the protocol. ``ceiling`` measures what this set-up takes
from bare ``smtplib`` clients, so the benchmark can show which of the two bounds the other.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import socket
import time
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from typing import Any, Self

from orderwatch.adapters.mail.local_mailbox import message_id_of


class _CountingHandler:
    """aiosmtpd handler: count each accepted DATA and keep its Message-ID."""

    def __init__(self, counter: Synchronized[int]) -> None:
        self.counter = counter
        self.ids: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook
        self.ids.append(message_id_of(envelope.original_content or envelope.content))
        self.counter.value += 1  # one writer (this process); the bench only reads
        return "250 Message accepted for delivery"


def _serve(port: int, counter: Synchronized[int], results: Connection, ready: Any) -> None:
    from aiosmtpd.smtp import SMTP

    handler = _CountingHandler(counter)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        server = await loop.create_server(
            lambda: SMTP(handler, enable_SMTPUTF8=True), host="127.0.0.1", port=port, reuse_port=True
        )
        ready.set()
        await stop.wait()
        server.close()

    asyncio.run(main())
    results.send(handler.ids)


class SinkProcesses:
    """``with SinkProcesses(n) as sink:`` n aiosmtpd processes on ``sink.port``; ``sink.received()``."""

    def __init__(self, processes: int = 2) -> None:
        self.processes = processes
        self.port = _free_port()
        # fork: started before the bench opens its database (no engine is copied), and unlike
        # spawn it does not re-import the main module (the CLI) in every child.
        context = multiprocessing.get_context("fork")
        self._counters = [context.Value("q", 0, lock=False) for _ in range(processes)]
        self._pipes = [context.Pipe(duplex=False) for _ in range(processes)]
        self._ready = [context.Event() for _ in range(processes)]
        self._children = [
            context.Process(target=_serve, args=(self.port, counter, sending, ready), daemon=True)
            for counter, (_, sending), ready in zip(self._counters, self._pipes, self._ready, strict=True)
        ]
        self.message_ids: list[str] = []

    def __enter__(self) -> Self:
        for child in self._children:
            child.start()
        for ready in self._ready:
            if not ready.wait(60):
                raise RuntimeError("an SMTP sink process did not start in 60 s")
        return self

    def received(self) -> int:
        """Accepted DATA transactions so far, duplicates included."""
        return sum(int(counter.value) for counter in self._counters)

    def __exit__(self, *exc_info: object) -> None:
        for child in self._children:
            if child.pid is not None and child.is_alive():
                child.terminate()  # SIGTERM: the process stops serving and sends its Message-IDs
        for (receiving, _), child in zip(self._pipes, self._children, strict=True):
            if receiving.poll(30):
                self.message_ids.extend(receiving.recv())
            child.join(30)

    def duplicates(self) -> int:
        """Copies beyond the first of one Message-ID (read after the ``with`` block)."""
        return len(self.message_ids) - len(set(self.message_ids))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _blast(port: int, count: int, tag: int) -> None:
    import smtplib

    from orderwatch.adapters.mail.smtp import mime_bytes
    from orderwatch.services.ports import OutgoingMessage

    client = smtplib.SMTP("127.0.0.1", port)
    for index in range(count):
        message = OutgoingMessage(
            index,
            f"ceiling:{tag}:{index}",
            "shipped",
            "email",
            "c@example.com",
            "Seu pedido",
            "Seu pedido saiu do nosso depósito. " * 4,
            "<p>Seu pedido</p>",
            1,
        )
        client.sendmail("b@o.l", ["c@example.com"], mime_bytes(message, sender="b@o.l", domain="o.l"))
    client.quit()


def ceiling(*, server_processes: int, clients: int = 4, per_client: int = 400) -> dict[str, Any]:
    """What the sink set-up accepts from bare smtplib clients (one process each), no database.

    The most any sender could reach against this server set-up on this machine at this moment
    (the clients take CPU too: on a 2-core machine this under-states the server alone).
    """
    with SinkProcesses(server_processes) as sink:
        processes = [
            multiprocessing.Process(target=_blast, args=(sink.port, per_client, tag))
            for tag in range(clients)
        ]
        started = time.perf_counter()
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        elapsed = time.perf_counter() - started
        received = sink.received()
    return {
        "server": f"aiosmtpd, {server_processes} processes on one port (SO_REUSEPORT)",
        "server_processes": server_processes,
        "client_processes": clients,
        "emails": received,
        "emails_per_second": round(received / elapsed, 1),
    }
