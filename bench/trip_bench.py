"""Trip verification throughput: trips/s judged by scoring/trips.py (numpy over each track's points) vs the
same judgement as a plain per-point Python loop (`check_trip_loop`).

One run, side by side, on synthetic trip logs of the synthetic market (genuine, fabricated and reused tracks,
`points` GPS fixes each; the trips without a log are left out): both must give the same verdict and reasons
on every trip, and the benchmark fails otherwise. Reuse detection (one dict lookup per trip) is in the timed
section of the project's side only (`check_many`), so the ratio is conservative.

Usage: ``.venv/bin/python bench/trip_bench.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scoring.synthetic import generate_market, generate_trips  # noqa: E402
from scoring.trips import check_many, check_trip_loop  # noqa: E402


def run(quick: bool = False) -> list[dict[str, Any]]:
    n_trips, points = (500, 120) if quick else (5_000, 600)
    market = generate_market(n_subjects=300 if quick else 2_000, seed=1)
    trips = [t for t in generate_trips(market.settlements.head(n_trips), seed=1, points=points) if t.log]
    items = [(t.settlement_id, t.log, t.origin, t.destination, t.invoice_date) for t in trips]

    started = time.perf_counter()
    fast = check_many(items)
    fast_s = time.perf_counter() - started

    started = time.perf_counter()
    slow = {sid: check_trip_loop(log, a, b, inv) for sid, log, a, b, inv in items if log is not None}
    slow_s = time.perf_counter() - started

    for sid, check in slow.items():
        # the loop judges one trip alone: compare without the reuse finding, which needs the whole batch
        reasons = tuple(r for r in fast[sid].reasons if not r.startswith("the same track as"))
        if reasons != check.reasons:
            raise AssertionError(f"trip {sid}: numpy and loop disagree: {reasons} vs {check.reasons}")
    value, baseline = len(items) / fast_s, len(items) / slow_s
    return [
        {
            "name": "trip_verify",
            "unit": f"trips/s ({points} GPS points each)",
            "value": round(value),
            "baseline": "plain per-point Python loop",
            "baseline_value": round(baseline),
            "ratio": round(value / baseline, 2),
        }
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a small run")
    args = parser.parse_args()
    print(json.dumps(run(quick=args.quick), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
