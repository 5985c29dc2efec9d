"""Runs every benchmark of the project in one run.

Each module in bench/ with a `run(quick: bool) -> list[dict]` contributes
objects {"name", "unit", "value", "baseline", "baseline_value", "ratio"}; the
project and its naive baseline run side by side inside each module. Results go
to bench/results/latest.json and bench/results/latest.md. Timing is noisy on
shared machines: read the ratios.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

MODULES = [
    "settlement_ingest",
    "oracle_throughput",
    "scoring_throughput",
    "scorecard_auc",
    "privacy_bench",
    "list_bench",
    "evidence_bench",
    "index_bench",
    "trip_bench",
    "console_bench",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--only", nargs="*", help="run only these modules")
    args = parser.parse_args()
    results: list[dict] = []
    failures = []
    for name in args.only or MODULES:
        if not (HERE / f"{name}.py").exists():
            continue
        print(f"==> bench {name}", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(name)
            results.extend(module.run(quick=args.quick))
        except Exception:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            failures.append(name)
        print(f"    {name}: {time.perf_counter() - started:.0f}s", flush=True)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        f"# Benchmarks ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, "
        f"{'quick' if args.quick else 'full'})",
        "",
        "| name | unit | value | baseline | baseline value | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['name']} | {r['unit']} | {r['value']} | {r['baseline']} | {r['baseline_value']} | {r['ratio']} |"
        )
    (out / "latest.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if failures:
        print(f"failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
