"""Benchmark `console_subject_page` (issue #20): a subject page of the member console (`creditshare serve`),
in ms at p50/p95 over a loopback HTTP client once warm, and its first (cold) load, against `creditshare report
SUBJECT` in a subprocess (the CLI's whole read of the same subject) in the same run.

A throwaway Anvil holds N settlements (--demo-size, the default: the demo's 100 shippers and 54k settlements;
--quick: 20 shippers, 2k), generated and submitted in slices of 20k through the batched submit path (400 a
transaction; bench/index_bench.py does the same), so a demo-size history takes a few minutes, not a submit that
simulates 135 batches before sending the first; the console runs as a real `creditshare serve` process.

Cold is the first page after start (the node's chain index caught up from genesis); warm pages on an idle
chain come from the console's per-block memo; `_new_block` pages are each the first after a new block (mined
between requests, not timed): the score, history and states read again, the records from the chain index.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from creditshare.bindings.consortium import Consortium, ProposalKind  # noqa: E402
from creditshare.bindings.settlement_ledger import Settlement, SettlementLedger  # noqa: E402
from creditshare.core import keys, localchain  # noqa: E402
from creditshare.core.chain import ChainClient  # noqa: E402
from creditshare.core.config import load_settings  # noqa: E402
from creditshare.core.ids import reference_hash, settlement_id, subject_id, to_hex  # noqa: E402
from creditshare.core.localchain import free_port  # noqa: E402
from creditshare.domain.deploy import deploy_all  # noqa: E402

PLATFORM = subject_id("uscc:CBPLAT")
DAY = 86_400
START = 1_767_225_600  # 2026-01-01
CLI = str(Path(sys.executable).parent / "creditshare")


DEMO_SHIPPERS = 100
DEMO_SETTLEMENTS = 54_000
SLICE = 20_000  # settlements generated and submitted at a time


def records(first: int, count: int, shippers: int, rng: random.Random) -> list[Settlement]:
    out = []
    for i in range(first, first + count):
        ref = f"CB-{i:08d}"
        invoice = START + DAY * rng.randint(0, 300)
        out.append(
            Settlement(
                settlement_id(PLATFORM, ref),
                subject_id(f"uscc:CBSHIP{i % shippers:04d}"),
                PLATFORM,
                subject_id(f"driver:CB{rng.randrange(500):04d}"),
                rng.randint(50_000, 5_000_000),
                invoice,
                invoice + 30 * DAY,
                rng.randbytes(32),
                reference_hash=reference_hash(ref),
            )
        )
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(quick: bool = False, shippers: int | None = None, settlements: int | None = None) -> list[dict[str, Any]]:
    shippers = shippers or (20 if quick else DEMO_SHIPPERS)
    settlements = settlements or (2_000 if quick else DEMO_SETTLEMENTS)
    rng = random.Random(20)
    with tempfile.TemporaryDirectory(prefix="cs-console-bench-") as tmp:
        data = Path(tmp) / "data"
        env = {
            "CREDITSHARE_DATA_DIR": str(data),
            "CREDITSHARE_NETWORK": "local",
            "CREDITSHARE_LOCAL_PORT": str(free_port()),
            "CREDITSHARE_PASSWORD": "bench-password",
            "CREDITSHARE_SCRYPT_N": "16",
        }
        os.environ.update(env)
        settings = load_settings()
        localchain.start(settings, state_interval=None)
        server = None
        try:
            client = ChainClient(settings)
            committee, platform = Account.create(), Account.create()
            deploy_all(client, committee, [(committee.address, subject_id("uscc:CBCOMMITTEE"))], 1)
            Consortium(client).propose(committee, ProposalKind.ADMIT, platform.address, PLATFORM, ("PLATFORM",))
            ledger = SettlementLedger(client)
            made, built = 0, time.perf_counter()
            while made < settlements:  # in slices: a submit simulates every batch before it sends the first
                step = min(SLICE, settlements - made)
                ledger.submit(records(made, step, shippers, rng), platform, 400)
                made += step
            print(f"history: {made} settlements in {time.perf_counter() - built:.0f} s", file=sys.stderr)
            keys.create_keystore(settings.keystore_dir, "bench", committee.key.hex(), "bench-password")
            port = free_port()
            server = subprocess.Popen(
                [CLI, "serve", "--account", "bench", "--port", str(port)],
                env={**os.environ, **env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)
            deadline = time.monotonic() + 60
            while True:
                try:
                    http.get("/static/console.css")
                    break
                except httpx.TransportError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("the console did not start") from None
                    time.sleep(0.2)
            subjects = [to_hex(subject_id(f"uscc:CBSHIP{i:04d}")) for i in range(min(shippers, 10))]
            started = time.perf_counter()
            r = http.get(f"/subject/{subjects[0]}")
            cold = (time.perf_counter() - started) * 1000
            if r.status_code != 200:
                raise RuntimeError(f"the subject page answered {r.status_code}: {r.text[:500]}")
            for s in subjects:  # each subject's first page: its states read once
                http.get(f"/subject/{s}").raise_for_status()
            warm = []
            for i in range(60):
                started = time.perf_counter()
                http.get(f"/subject/{subjects[i % len(subjects)]}").raise_for_status()
                warm.append((time.perf_counter() - started) * 1000)
            fresh = []
            for i in range(20):
                client.rpc("evm_mine", [], "mine")
                started = time.perf_counter()
                http.get(f"/subject/{subjects[i % len(subjects)]}").raise_for_status()
                fresh.append((time.perf_counter() - started) * 1000)
            cli_ms = []
            for s in subjects[:3]:
                started = time.perf_counter()
                done = subprocess.run([CLI, "--json", "report", s], env={**os.environ, **env}, capture_output=True)
                if done.returncode != 0:
                    summary = {"warm_ms": warm, "new_block_ms": fresh, "cold_ms": cold}
                    print(json.dumps(summary), file=sys.stderr)  # the console's figures are not lost
                    raise RuntimeError(f"creditshare report {s} failed: {done.stderr.decode()[-800:]}")
                cli_ms.append((time.perf_counter() - started) * 1000)
            base = statistics.median(cli_ms)
            p50, p95 = percentile(warm, 0.5), percentile(warm, 0.95)
            label = f"{shippers} shippers, {settlements} settlements"
            return (
                [
                    {
                        "name": f"console_subject_page_p{q}",
                        "unit": f"ms, warm, loopback HTTP ({label})",
                        "value": round(v, 1),
                        "baseline": "creditshare report SUBJECT (subprocess, median of 3)",
                        "baseline_value": round(base, 1),
                        "ratio": round(base / max(v, 1e-9), 1),
                    }
                    for q, v in (("50", p50), ("95", p95))
                ]
                + [
                    {
                        "name": f"console_subject_page_new_block_p{q}",
                        "unit": f"ms, the first page after a new block, loopback HTTP ({label})",
                        "value": round(v, 1),
                        "baseline": "creditshare report SUBJECT (subprocess, median of 3)",
                        "baseline_value": round(base, 1),
                        "ratio": round(base / max(v, 1e-9), 1),
                    }
                    for q, v in (("50", percentile(fresh, 0.5)), ("95", percentile(fresh, 0.95)))
                ]
                + [
                    {
                        "name": "console_subject_page_cold",
                        "unit": f"ms, the first page after start: the chain index caught up from genesis ({label})",
                        "value": round(cold, 1),
                        "baseline": "creditshare report SUBJECT (subprocess, median of 3)",
                        "baseline_value": round(base, 1),
                        "ratio": round(base / max(cold, 1e-9), 1),
                    }
                ]
            )
        finally:
            if server is not None:
                server.terminate()
                server.wait(10)
            localchain.stop(settings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="20 shippers, 2,000 settlements")
    size.add_argument(
        "--demo-size",
        action="store_true",
        help=f"the demo's chain: {DEMO_SHIPPERS} shippers, {DEMO_SETTLEMENTS:,} settlements (the default)",
    )
    parser.add_argument("--shippers", type=int, help="shippers in the history (overrides the size)")
    parser.add_argument("--settlements", type=int, help="settlements in the history (overrides the size)")
    parser.add_argument("--out", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args()
    for name in ("shippers", "settlements"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name} must be a positive number; got {getattr(args, name)}.")
    results = run(quick=args.quick, shippers=args.shippers, settlements=args.settlements)
    print(json.dumps(results, indent=2))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
