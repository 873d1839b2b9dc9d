"""A lean HTTP/1.1 load generator for the ingestion benchmark: pre-built requests, keep-alive sockets.

Why not httpx: on this 2-core machine an ``httpx.AsyncClient`` spends about 2-4 ms of CPU per
request, so the client, not the server, set the webhook figure (a bare ``/healthz`` topped out
near 240 requests/s through it). Here every request is built as bytes before the clock starts;
each connection writes one request, reads the status line, headers and ``Content-Length`` body,
and takes the next, so the client costs a few tens of microseconds per request.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    """What a run measured: requests/s over the whole run, status counts, latency quantiles."""

    requests: int
    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, object]:
        ordered = sorted(self.latencies_ms)
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "requests_per_second": round(self.per_second, 1),
            "status": {str(k): v for k, v in sorted(self.statuses.items())},
            "latency_ms_p50": round(statistics.median(ordered), 2) if ordered else None,
            "latency_ms_p99": round(ordered[int(len(ordered) * 0.99) - 1], 2) if ordered else None,
        }


def build_request(method: str, path: str, host: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    """One HTTP/1.1 keep-alive request as bytes."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
            break
    if length:
        await reader.readexactly(length)
    return status


async def run_load(host: str, port: int, requests: list[bytes], *, connections: int) -> LoadResult:
    """Send every request over ``connections`` concurrent keep-alive connections."""
    next_index = 0
    statuses: Counter[int] = Counter()
    latencies: list[float] = []

    async def connection() -> None:
        nonlocal next_index
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while next_index < len(requests):
                request = requests[next_index]
                next_index += 1
                sent = time.perf_counter()
                writer.write(request)
                statuses[await _read_response(reader)] += 1
                latencies.append((time.perf_counter() - sent) * 1000)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return LoadResult(len(requests), time.perf_counter() - started, statuses, latencies)
