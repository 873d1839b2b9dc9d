r"""Interleaved A/B runs of one ``orderwatch`` command in two checkouts: medians and ratios from one session.

On a shared 2-core machine two runs of the same code differ by 20-30 %, more than most changes
being measured; runs of A and B taken at different times compare the machine's load, not the
code. This script alternates them (A, B, A, B, ...), each in a fresh data directory, and prints
one JSON object: every run's figures, the median per side and the ratio B/A of the medians, plus
the CPU seconds (user + system) of each run, which the machine's load disturbs far less than the
wall clock.

    python benchmarks/ab.py --a /path/to/old/checkout --b . --runs 3 \
        --metric seconds --metric replay.wall_seconds -- demo --no-serve --json

Everything after ``--`` is the ``orderwatch`` command; it must print one JSON object (``--json``).
``--metric`` names a number inside it by its dotted path. Both checkouts run with the Python that
runs this script and their own ``src`` first on the path.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def first_json_object(text: str) -> dict[str, Any]:
    """The first JSON object printed (progress output or warnings may come before it)."""
    start = text.find("{")
    if start < 0:
        raise ValueError("the command printed no JSON object")
    value, _ = json.JSONDecoder().raw_decode(text[start:])
    if not isinstance(value, dict):
        raise ValueError("the command's JSON is not an object")
    return value


def dig(data: dict[str, Any], path: str) -> float:
    """The number at dotted ``path`` (``replay.wall_seconds``); a clear error when it is missing."""
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(f"--metric {path}: no {part!r} in the command's JSON")
        value = value[part]
    if not isinstance(value, int | float):
        raise TypeError(f"--metric {path}: {value!r} is not a number")
    return float(value)


def run_once(checkout: Path, command: list[str], metrics: list[str]) -> dict[str, float]:
    """One run of ``orderwatch <command>`` in ``checkout`` with a fresh data directory."""
    with tempfile.TemporaryDirectory(prefix="ab-") as data_dir:
        env = {**os.environ, "ORDERWATCH_DATA_DIR": data_dir, "PYTHONPATH": str(checkout / "src")}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(  # the command is the caller's own
            [sys.executable, "-m", "orderwatch", *command],
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{checkout}: exit {done.returncode}: {done.stderr[-2000:]}")
    data = first_json_object(done.stdout)
    figures = {path: dig(data, path) for path in metrics}
    figures["process_wall_seconds"] = round(wall, 3)
    figures["cpu_seconds"] = round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 3)
    figures["load_average_1m"] = os.getloadavg()[0]
    return figures


def summarize(runs: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    """Medians per side and the ratio B/A of the medians, per figure."""
    names = list(runs["a"][0])
    medians = {side: {n: statistics.median(r[n] for r in runs[side]) for n in names} for side in runs}
    ratios = {n: round(medians["b"][n] / medians["a"][n], 4) if medians["a"][n] else None for n in names}
    return {"median": medians, "ratio_b_over_a": ratios}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--" not in args:
        print("usage: ab.py --a DIR --b DIR [--runs N] [--metric PATH ...] -- COMMAND...", file=sys.stderr)
        return 2
    split = args.index("--")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", type=Path, required=True, help="checkout A (the baseline)")
    parser.add_argument("--b", type=Path, required=True, help="checkout B (the change)")
    parser.add_argument("--runs", type=int, default=3, help="runs per side, alternated")
    parser.add_argument("--metric", action="append", default=[], help="dotted path of a number in the JSON")
    options = parser.parse_args(args[:split])
    command = args[split + 1 :]
    if options.runs < 1:
        parser.error("--runs: must be at least 1")
    for side in (options.a, options.b):
        if not (side / "src" / "orderwatch").is_dir():
            parser.error(f"{side}: not an OrderWatch checkout (no src/orderwatch)")
    runs: dict[str, list[dict[str, float]]] = {"a": [], "b": []}
    for _ in range(options.runs):
        for side, checkout in (("a", options.a), ("b", options.b)):
            runs[side].append(run_once(checkout.resolve(), command, options.metric))
    result = {
        "command": command,
        "a": str(options.a.resolve()),
        "b": str(options.b.resolve()),
        "runs": runs,
        **summarize(runs),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
