"""Benchmark: replay the whole Olist history and start the demo, printing one JSON object (issue 3).

Targets on the 2-core reference machine: full Olist replay ≤ 300 s on SQLite; demo (20,000
orders over 120 days) ready ≤ 60 s. Run: ``python benchmarks/bench_replay.py [--olist DIR]``.
Each measurement runs the real CLI in a fresh process on a fresh database.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(args: list[str], data_dir: Path) -> tuple[float, dict[str, object]]:
    env = os.environ | {"ORDERWATCH_DATA_DIR": str(data_dir)}
    env.pop("ORDERWATCH_DATABASE_URL", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "orderwatch", *args], env=env, capture_output=True, text=True, check=True
    )
    return time.perf_counter() - started, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--olist", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/olist"
    )
    parser.add_argument("--skip-olist", action="store_true")
    options = parser.parse_args()
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as folder:
        seconds, demo = _run(["demo", "--no-serve", "--json"], Path(folder) / "demo")
        result["demo"] = {
            "seconds": round(seconds, 1),
            "orders": demo["generated"]["UpsertOrder"],  # type: ignore[index]
            "commands": demo["replay"]["commands"],  # type: ignore[index]
            "replay_seconds": demo["replay"]["wall_seconds"],  # type: ignore[index]
        }
        if not options.skip_olist:
            seconds, replay = _run(["replay", "olist", str(options.olist), "--json"], Path(folder) / "olist")
            result["olist_replay"] = {
                "seconds": round(seconds, 1),
                "commands": replay["replay"]["commands"],  # type: ignore[index]
                "events_replayed": replay["replay"]["events_replayed"],  # type: ignore[index]
                "replay_seconds": replay["replay"]["wall_seconds"],  # type: ignore[index]
                "kpis": replay["kpis"]["overall"],  # type: ignore[index]
            }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
