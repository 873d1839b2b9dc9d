"""Ingestion benchmark (mission D1): webhook events/s, batch events/s, full Olist import seconds.

    fresh database ─▶ seed orders + shipments ─▶ ONE uvicorn process on a free loopback port
        ├─ (a) POST /api/v1/webhooks/generic, one signed event per request, N concurrent clients
        ├─ (b) POST /api/v1/events/batch, 1,000 events per request, API key
        └─ (c) the full Olist import in this process on another fresh database

Each HTTP measurement is repeated and the median printed with every run. For PostgreSQL a
throw-away database is created next to the one in ``--database-url`` and dropped afterwards.
Run as ``orderwatch bench ingest --database-url URL --json`` or ``python benchmarks/bench_ingest.py URL``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from benchmarks.loadgen import build_request, run_load
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from orderwatch.adapters.db.engine import normalize_url
from orderwatch.adapters.db.migrate import upgrade
from orderwatch.bootstrap import App, build_app
from orderwatch.domain.commands import CustomerData, OrderLineData, UpsertOrder, UpsertShipment
from orderwatch.services.ingest import ingest_orders, ingest_shipments
from orderwatch.settings import Settings

CARRIER = "bench-carrier"
STATUSES = ("in_transit", "out_for_delivery", "delivery_failed", "in_transit", "delivered")


@contextmanager
def fresh_database(url: str, tag: str) -> Iterator[str]:
    """A new empty database: a temporary SQLite file, or a throw-away PostgreSQL database."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"orderwatch-bench-{tag}-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        return
    name = f"orderwatch_bench_{tag}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'create database "{name}"'))
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()


def _app(url: str) -> App:
    upgrade(url)
    return build_app(Settings(database_url=url, environment="test"))


def seed(application: App, orders: int) -> list[str]:
    """``orders`` orders with one shipment each; returns the tracking numbers."""
    start = datetime.now(UTC) - timedelta(days=3)
    commands = [
        UpsertOrder(
            ref=f"BENCH-{n:06d}",
            purchased_at=start,
            promised_at=start + timedelta(days=7),
            customer=CustomerData(ref=f"BC-{n:06d}", region="SP"),
            lines=(
                OrderLineData(
                    line_no=1,
                    product_ref="bench-product",
                    supplier_ref="bench-supplier",
                    unit_price_cents=1_000,
                ),
            ),
        )
        for n in range(orders)
    ]
    numbers = [f"BT{n:08d}" for n in range(orders)]
    for index in range(0, orders, 2_000):
        ingest_orders(application.uow(), commands[index : index + 2_000], clock=application.clock)
        ingest_shipments(
            application.uow(),
            [
                UpsertShipment(order_ref=c.ref, carrier_code=CARRIER, tracking_number=t)
                for c, t in zip(commands[index : index + 2_000], numbers[index : index + 2_000], strict=True)
            ],
            clock=application.clock,
        )
    return numbers


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(url: str) -> Iterator[str]:
    """One uvicorn process serving ``create_app`` on a free loopback port."""
    port = _free_port()
    code = (
        "import uvicorn\n"
        "from orderwatch.bootstrap import build_app\n"
        "from orderwatch.entrypoints.api.app import create_app\n"
        "from orderwatch.settings import Settings\n"
        f"api = create_app(build_app(Settings(database_url={url!r})))\n"
        f"uvicorn.run(api, host='127.0.0.1', port={port}, log_level='warning', access_log=False)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], env=os.environ.copy())
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the benchmark server did not start")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def _webhook_requests(
    base: str, secret: str, numbers: list[str], *, events: int, offset: int
) -> list[bytes]:
    """One signed generic-webhook request per event, built before the clock starts."""
    from orderwatch.adapters.webhooks.signatures import GENERIC_HEADER, sign_generic

    host = base.removeprefix("http://")
    moment = datetime.now(UTC) - timedelta(days=1)
    stamp = int(time.time())
    requests = []
    for n in range(events):
        event = {
            "status": STATUSES[(n + offset) % len(STATUSES)],
            "occurred_at": (moment + timedelta(seconds=n + offset * events)).isoformat(),
        }
        body = json.dumps(
            {"carrier": CARRIER, "tracking_number": numbers[n % len(numbers)], "events": [event]}
        ).encode()
        headers = {GENERIC_HEADER: sign_generic(secret, body, stamp), "Content-Type": "application/json"}
        requests.append(build_request("POST", "/api/v1/webhooks/generic", host, headers, body))
    return requests


def _batch_requests(
    base: str, key: str, numbers: list[str], *, events: int, offset: int, size: int = 1_000
) -> list[bytes]:
    """Batch requests of ``size`` events each, with the API key."""
    host = base.removeprefix("http://")
    moment = datetime.now(UTC) - timedelta(days=2)
    requests = []
    for start in range(0, events, size):
        body = json.dumps(
            {
                "events": [
                    {
                        "carrier": CARRIER,
                        "tracking_number": numbers[n % len(numbers)],
                        "status": STATUSES[(n + offset) % len(STATUSES)],
                        "occurred_at": (moment + timedelta(seconds=n + offset * events)).isoformat(),
                        "code": "B",
                        "description": "bench",
                        "location": "loopback",
                    }
                    for n in range(start, min(start + size, events))
                ]
            }
        ).encode()
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        requests.append(build_request("POST", "/api/v1/events/batch", host, headers, body))
    return requests


def _measure(base: str, requests: list[bytes], *, events: int, connections: int) -> dict[str, Any]:
    host, port = base.removeprefix("http://").split(":")
    result = asyncio.run(run_load(host, int(port), requests, connections=connections))
    return {"events_per_second": round(events / result.seconds, 1)} | result.summary()


def _median(runs: list[dict[str, Any]]) -> float:
    return round(statistics.median(r["events_per_second"] for r in runs), 1)


def bench_http(url: str, *, events: int, runs: int, clients: int) -> dict[str, Any]:
    """(a) and (b): webhook and batch events/s against one server on a fresh database."""
    from orderwatch.adapters.db.api_keys import ApiKeyRegistry
    from orderwatch.adapters.db.webhook_secrets import WebhookSecretStore
    from orderwatch.adapters.webhooks.signatures import WebhookSource

    with fresh_database(url, "http") as database:
        application = _app(database)
        numbers = seed(application, max(events // 5, 200))
        _, secret = WebhookSecretStore(application.session_factory, clock=application.clock).add(
            WebhookSource.generic
        )
        key, _ = ApiKeyRegistry(application.session_factory, clock=application.clock).create(
            name="bench", scopes=["events:write"]
        )
        application.engine.dispose()
        with server(database) as base:
            webhook = [
                _measure(
                    base,
                    _webhook_requests(base, secret, numbers, events=events, offset=r),
                    events=events,
                    connections=clients,
                )
                for r in range(runs)
            ]
            batch = [
                _measure(
                    base,
                    _batch_requests(base, key, numbers, events=events * 10, offset=runs + r),
                    events=events * 10,
                    connections=2,
                )
                for r in range(runs)
            ]
    return {
        "webhook": {"median_events_per_second": _median(webhook), "clients": clients, "runs": webhook},
        "batch": {"median_events_per_second": _median(batch), "runs": batch},
    }


def bench_olist(url: str, *, runs: int, olist_dir: Path | None = None) -> dict[str, Any]:
    """(c): the full Olist import on a fresh database, ``runs`` times."""
    from orderwatch.entrypoints.cli.olist_pipeline import import_olist

    seconds = []
    for _ in range(runs):
        with fresh_database(url, "olist") as database:
            application = _app(database)
            report = import_olist(application, olist_dir or application.settings.olist_dir)
            seconds.append(round(report.seconds, 2))
            application.engine.dispose()
    return {"median_seconds": statistics.median(seconds), "runs": seconds, "counts": report.counts}


def run(
    url: str,
    *,
    events: int = 3_000,
    runs: int = 3,
    clients: int = 48,
    olist_runs: int = 1,
    olist_dir: Path | None = None,
) -> dict[str, Any]:
    """Every measurement, as one JSON-ready object."""
    result: dict[str, Any] = {
        "database": make_url(normalize_url(url)).get_backend_name(),
        "targets": {"webhook": 700, "batch": 10_000, "olist_seconds": 45},
    }
    try:
        result |= bench_http(url, events=events, runs=runs, clients=clients)
    except (ImportError, RuntimeError, httpx.HTTPError) as error:
        result["http_error"] = f"{type(error).__name__}: {error}"
    if olist_runs:
        result["olist"] = bench_olist(url, runs=olist_runs, olist_dir=olist_dir)
    return result


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1] if len(sys.argv) > 1 else "sqlite:///unused.sqlite3"), indent=2))
