"""Benchmark `oracle_round` and `index_catch_up` (issue #19).

`oracle_round`: one oracle round that scores the shippers touched by 100 new settlements, on a history of
10k and 100k settlements (`--sizes` for others, e.g. 1000000), each measured in its own process (time and
peak RSS): the project catches its chain index up (the 100 new settlements) and reads only the due
shippers' rows from it (oracle.scores.score_from_ledger); the baseline is the full recompute every reader
did before the index: settlement_frame from the logs since deployment, features of every shipper, then the
due ones scored. Both give the same entries (checked). `index_catch_up`: events indexed per second from
genesis. Histories are generated with the batched submit path (400 records a transaction) on a throwaway
Anvil; about 100 settlements per shipper, so a round's subjects have the same history at every size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_account import Account

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from creditshare.bindings.consortium import Consortium, ProposalKind  # noqa: E402
from creditshare.bindings.settlement_ledger import Settlement, SettlementLedger, settlement_frame  # noqa: E402
from creditshare.core import localchain  # noqa: E402
from creditshare.core.chain import ChainClient, encode_call  # noqa: E402
from creditshare.core.config import load_settings  # noqa: E402
from creditshare.core.ids import parse_bytes32, reference_hash, settlement_id, subject_id, to_hex  # noqa: E402
from creditshare.core.localchain import free_port  # noqa: E402
from creditshare.domain.deploy import deploy_all  # noqa: E402
from creditshare.domain.index import ChainIndex  # noqa: E402

PLATFORM = subject_id("uscc:BENCHPLAT")
PER_SHIPPER = 100
NEW = 100
SLICE = 20_000  # settlements generated and submitted at a time
DAY = 86_400
START = 1_767_225_600  # 2026-01-01


def records(first: int, count: int, shippers: int, rng: random.Random) -> list[Settlement]:
    out = []
    for i in range(first, first + count):
        ref = f"IB-{i:08d}"
        invoice = START + DAY * rng.randint(0, 300)
        out.append(
            Settlement(
                settlement_id(PLATFORM, ref),
                subject_id(f"uscc:IBSHIP{rng.randrange(shippers):06d}"),
                PLATFORM,
                subject_id(f"driver:IB{rng.randrange(5000):05d}"),
                rng.randint(50_000, 5_000_000),
                invoice,
                invoice + 30 * DAY,
                rng.randbytes(32),
                reference_hash=reference_hash(ref),
            )
        )
    return out


def measure(mode: str, data_dir: Path, card: Path, block: int, subjects: list[str]) -> dict[str, Any]:
    """Runs one round in a fresh process (so peak RSS is the round's) and returns its figures."""
    env = {**os.environ, "CREDITSHARE_DATA_DIR": str(data_dir)}
    argv = [sys.executable, __file__, "--round", mode, "--card", str(card), "--block", str(block)]
    done = subprocess.run(argv, input=json.dumps(subjects), capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        # the full recompute may run out of memory on a big history: that is a result, not a crash of the bench
        why = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return {"failed": f"{mode} round failed: {why[:200]}"}
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def one_round(mode: str, card_path: Path, block: int, subjects: set[str]) -> dict[str, Any]:
    from oracle.batch import score_subjects
    from oracle.scores import score_from_ledger
    from scoring.features import build_features
    from scoring.model_card import ModelCard

    card = ModelCard.load(card_path)
    client = ChainClient(load_settings())
    as_of = client.block_timestamp(block)
    before = _status_kib("VmRSS") * 1024
    started = time.perf_counter()
    if mode == "incremental":
        scored = score_from_ledger(client, card, as_of, block=block, subjects=subjects)
    else:
        frame = settlement_frame(SettlementLedger(client), block)
        features = build_features(frame, as_of, roles=("shipper",))
        scored = score_subjects(card, features[features.index.isin(sorted(subjects))])
    seconds = time.perf_counter() - started
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child would report its parent's peak
    peak = _status_kib("VmHWM") * 1024
    entries = [list(map(str, s.entry().as_tuple())) for s in scored]
    return {"seconds": seconds, "peak_bytes": peak, "growth_bytes": max(0, peak - before), "entries": entries}


def _status_kib(field: str) -> int:
    """A memory figure of this process from /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def run(quick: bool = False, sizes: list[int] | None = None) -> list[dict[str, Any]]:
    from scoring.factory import train_scorecard, training_set
    from scoring.synthetic import generate_market

    sizes = sizes or ([2_000, 10_000] if quick else [10_000, 100_000])
    rng = random.Random(19)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="cs-index-bench-") as tmp:
        data = Path(tmp) / "data"
        os.environ.update(
            {
                "CREDITSHARE_DATA_DIR": str(data),
                "CREDITSHARE_NETWORK": "local",
                "CREDITSHARE_LOCAL_PORT": str(free_port()),
            }
        )
        settings = load_settings()
        localchain.start(settings, state_interval=None, history_states=16)  # 1M records fit in memory
        try:
            client = ChainClient(settings)
            committee, platform = Account.create(), Account.create()
            deploy_all(client, committee, [(committee.address, subject_id("uscc:BENCHCOMMITTEE"))], 1)
            Consortium(client).propose(committee, ProposalKind.ADMIT, platform.address, PLATFORM, ("PLATFORM",))
            market = generate_market(n_subjects=1500, seed=3)
            X, y = training_set(market.settlements, market.as_of)
            card = train_scorecard(X, y, name="index-bench", version=1).card
            card_path = card.save(Path(tmp) / "card.json")
            registry = client.contract("ModelRegistry")
            mh = parse_bytes32(card.model_hash)
            client.transact(
                encode_call(registry, "register", mh, 1, 7000, 3000, parse_bytes32(card.file_digest)), committee, "reg"
            )
            client.transact(encode_call(registry, "approvePromotion", mh), committee, "promote")
            ledger = SettlementLedger(client)
            made = 0
            for size in sizes:
                shippers = max(10, size // PER_SHIPPER)
                while made < size:  # in slices: every batch of a submit is simulated before the first is sent
                    step = min(SLICE, size - made)
                    ledger.submit(records(made, step, shippers, rng), platform)
                    made += step
                with ChainIndex(client) as index:  # from genesis: the catch-up rate
                    index.rebuild("benchmark")
                    started = time.perf_counter()
                    events = index.catch_up()
                    rate = events / (time.perf_counter() - started)
                    size_bytes = index.status()["bytes"]
                new = records(made, NEW, shippers, rng)
                ledger.submit(new, platform)
                made += NEW
                block = int(client.w3.eth.block_number)
                subjects = sorted({to_hex(r.shipper) for r in new})
                inc = measure("incremental", data, card_path, block, subjects)
                if "failed" in inc:
                    raise RuntimeError(inc["failed"])
                full = measure("full", data, card_path, block, subjects)
                if "failed" in full:
                    print(full["failed"], file=sys.stderr)
                    full = {"seconds": float("nan"), "peak_bytes": 0, "growth_bytes": 0, "entries": inc["entries"]}
                if inc["entries"] != full["entries"]:
                    raise AssertionError(f"at {size} settlements the index's scores differ from the full recompute")
                tag = f"{size // 1000}k"
                results += [
                    {
                        "name": f"oracle_round_{tag}",
                        "unit": f"s (round scoring {len(subjects)} shippers touched by {NEW} new settlements)",
                        "value": round(inc["seconds"], 3),
                        "baseline": "full recompute (settlement_frame from the logs, every shipper's features)",
                        "baseline_value": round(full["seconds"], 3),
                        "ratio": round(full["seconds"] / max(inc["seconds"], 1e-9), 1),
                    },
                    {
                        "name": f"oracle_round_peak_memory_{tag}",
                        "unit": "MiB peak RSS of the round's process",
                        "value": round(inc["peak_bytes"] / 2**20, 1),
                        "baseline": "full recompute",
                        "baseline_value": round(full["peak_bytes"] / 2**20, 1),
                        "ratio": round(full["peak_bytes"] / max(inc["peak_bytes"], 1), 2),
                    },
                    {
                        "name": f"oracle_round_memory_growth_{tag}",
                        "unit": "MiB the round's process grew over its size before the round (imports excluded)",
                        "value": round(inc["growth_bytes"] / 2**20, 1),
                        "baseline": "full recompute",
                        "baseline_value": round(full["growth_bytes"] / 2**20, 1),
                        "ratio": round(full["growth_bytes"] / max(inc["growth_bytes"], 1), 2),
                    },
                    {
                        "name": f"index_catch_up_{tag}",
                        "unit": f"events/s from genesis ({events} events; index file {size_bytes} bytes)",
                        "value": round(rate),
                        "baseline": "-",
                        "baseline_value": "-",
                        "ratio": "-",
                    },
                ]
                print(json.dumps(results[-4:]), flush=True)
        finally:
            localchain.stop(settings)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="*", help="history sizes (settlements), e.g. 10000 100000 1000000")
    parser.add_argument("--round", choices=["incremental", "full"], help=argparse.SUPPRESS)
    parser.add_argument("--card", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--block", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.round:
        subjects = set(json.loads(sys.stdin.read()))
        print(json.dumps(one_round(args.round, args.card, args.block, subjects)))
        return 0
    for r in run(quick=args.quick, sizes=args.sizes):
        print(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
