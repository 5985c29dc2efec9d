"""Benchmarks on a real 4-node geth Clique network (`make bench-network`; needs `make geth`).

- `network_settlement_ingest`: settlements/s through one node. Project: `creditshare settlements submit
  FILE.csv` (the real CLI in a subprocess, on the consortium profile: parse, check against the chain, batch,
  pipeline). Baseline: a naive web3.py loop on the same network, one transaction per settlement, waiting for
  each receipt (on a chain that seals every period, that wait is the block time).
- `network_capacity_ratio`: the project's rate divided by the chain's physical limit for this configuration,
  block gas limit / block period / gas per settlement (1.0: every block full of settlements).
- `finality_latency` p50 and p95: seconds from sending one settlement to node 0 until its block is on all 4
  nodes (Clique has no finality gadget: "final" here means every node has imported the block).

- What limits the ratio, read from the blocks that carried the project's settlements:
  `network_ingest_block_fill` (gas they used / their gas limit: how full the batches leave a block),
  `network_ingest_block_interval` (mean seconds between them, against the Clique period: whether the nodes
  keep the period with full blocks on this machine) and `network_ingest_chain_rate` (settlements / s over
  those blocks alone, without the command's parse, check and evidence storage before the first send).
  capacity ratio = chain rate / physical limit x (the blocks' span / the command's wall time).

- `--profile`: the CLI runs under cProfile and `network_ingest_phases` says where its time went: interpreter
  start-up and imports, parse, the membership and on-chain plan, evidence storage, the check of every batch
  against the chain, signing, eth_sendRawTransaction, and waiting for receipts (cProfile slows Python code,
  so read the shares, not the seconds).

A fresh network in a temporary folder per run; the naive loop runs first.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_account import Account

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from settlement_ingest import make_rows, naive_loop  # noqa: E402

from creditshare.bindings.consortium import Consortium, ProposalKind  # noqa: E402
from creditshare.bindings.settlement_ledger import DEFAULT_BATCH  # noqa: E402
from creditshare.core import network  # noqa: E402
from creditshare.core.chain import ChainClient  # noqa: E402
from creditshare.core.config import load_settings  # noqa: E402
from creditshare.core.ids import subject_id  # noqa: E402
from creditshare.domain.deploy import deploy_all  # noqa: E402
from creditshare.domain.settlements import parse_csv, write_csv  # noqa: E402


def _finality(net: network.NetworkInfo, client: ChainClient, account: Any, records: list[Any]) -> list[float]:
    """Seconds from sending each record (alone, to node 0) until every node has the block holding it."""
    ledger = client.contract("SettlementLedger")
    w3 = client.w3
    nonce = w3.eth.get_transaction_count(account.address, "pending")
    samples = []
    for record in records:
        tx = ledger.functions.submit([record.as_tuple()], [record.reference_hash]).build_transaction(
            {"from": account.address, "nonce": nonce, "gas": 300_000, "gasPrice": 0, "chainId": net.chain_id}
        )
        nonce += 1
        signed = account.sign_transaction(tx)
        started = time.perf_counter()
        tx_hash = "0x" + bytes(w3.eth.send_raw_transaction(signed.raw_transaction)).hex()
        waiting = set(range(len(net.nodes)))
        while waiting:
            for i in list(waiting):
                receipt = network.rpc(net.nodes[i].rpc_url, "eth_getTransactionReceipt", [tx_hash])
                if receipt:
                    waiting.discard(i)
            time.sleep(0.01)
        samples.append(time.perf_counter() - started)
    return samples


def _ingest_blocks(url: str, first: int, last: int) -> list[dict[str, int]]:
    """(number, timestamp, transactions, gasUsed, gasLimit) of the blocks first..last holding transactions."""
    out = []
    for number in range(first, last + 1):
        block = network.rpc(url, "eth_getBlockByNumber", [hex(number), False])
        if block and block["transactions"]:
            out.append(
                {
                    "number": number,
                    "timestamp": int(block["timestamp"], 16),
                    "transactions": len(block["transactions"]),
                    "gas_used": int(block["gasUsed"], 16),
                    "gas_limit": int(block["gasLimit"], 16),
                }
            )
    return out


#: the functions whose cumulative time makes up the CLI's phases (file name, function name)
PHASES = {
    "parse": ("settlements.py", "parse_csv"),
    "plan (members, ids on chain)": ("settlements.py", "plan_submission"),
    "evidence storage": ("settlements.py", "store_documents"),
    "check against the chain": ("chain.py", "check_calls"),
    "signing": ("signers/local.py", "sign_transaction"),
    "eth_sendRawTransaction": ("eth.py", "send_raw_transaction"),
    "waiting for receipts": ("chain.py", "wait_receipt"),
}


def _hot(profile: Path, count: int = 12) -> list[str]:
    """The `count` functions with the most time of their own in a cProfile dump: "seconds file:function"."""
    stats = pstats.Stats(str(profile)).stats  # type: ignore[attr-defined]
    ranked = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:count]
    return [f"{v[2]:.2f} {Path(k[0]).name}:{k[2]}" for k, v in ranked]


def _phases(profile: Path) -> dict[str, float]:
    """Seconds of each phase (cumulative time of its function) and of the whole run, from a cProfile dump."""
    stats = pstats.Stats(str(profile)).stats  # type: ignore[attr-defined]
    found: dict[str, float] = {}
    for (filename, _line, function), (_cc, _nc, _tt, cumulative, _callers) in stats.items():
        for phase, (suffix, name) in PHASES.items():
            if function == name and filename.endswith(suffix):
                found[phase] = max(found.get(phase, 0.0), cumulative)
    total = max(cumulative for (_cc, _nc, _tt, cumulative, _callers) in stats.values())
    main = next((v[3] for k, v in stats.items() if k[2] == "submit" and k[0].endswith("settlements_cmd.py")), 0.0)
    found["start-up and imports (outside the command)"] = total - main
    found["total"] = total
    return {k: round(v, 2) for k, v in found.items()}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run(
    quick: bool = False,
    gas_limit: int = network.DEFAULT_GAS_LIMIT,
    batch_size: int | None = None,
    profile: bool = False,
) -> list[dict[str, Any]]:
    count = 2_000 if quick else 20_000
    naive_count = 10 if quick else 30  # one per block at best: a sample measures the rate
    latency_n = 10 if quick else 40
    with tempfile.TemporaryDirectory(prefix="cs-net-bench-") as tmp:
        folder = Path(tmp)
        data = folder / "data"
        net = network.init_network(data, 4, gas_limit=gas_limit)
        try:
            network.up(net)
            env = {
                **os.environ,
                "CREDITSHARE_DATA_DIR": str(data),
                "CREDITSHARE_NETWORK": "consortium",
                "CREDITSHARE_RPC_URL": "",
                "CREDITSHARE_NODE": "0",
            }
            os.environ.update(env)
            settings = load_settings()
            client = ChainClient(settings)
            committee, platform = Account.create(), Account.create()
            shippers = [Account.create() for _ in range(20)]
            deploy_all(client, committee, [(committee.address, subject_id("uscc:BENCHCOMMITTEE"))], 1)
            gov = Consortium(client)
            gov.propose(committee, ProposalKind.ADMIT, platform.address, subject_id("uscc:BENCHPLAT"), ("PLATFORM",))
            for i, s in enumerate(shippers):
                gov.propose(
                    committee, ProposalKind.ADMIT, s.address, subject_id(f"uscc:BENCHSHIP{i:02d}"), ("SHIPPER",)
                )
            project_csv, naive_csv, latency_csv = folder / "project.csv", folder / "naive.csv", folder / "lat.csv"
            write_csv(project_csv, make_rows(folder, count, "P", 1))
            write_csv(naive_csv, make_rows(folder, naive_count, "N", 2))
            write_csv(latency_csv, make_rows(folder, latency_n, "L", 3))

            naive_s, naive_gas = naive_loop(client, platform, [r.settlement for r in parse_csv(naive_csv)])

            url = net.nodes[0].rpc_url
            first_block = int(network.rpc(url, "eth_blockNumber", []), 16) + 1
            started = time.perf_counter()
            command = [str(ROOT / ".venv" / "bin" / "creditshare")]
            if profile:
                command = [sys.executable, "-m", "cProfile", "-o", str(folder / "cli.prof"), *command]
            out = subprocess.run(
                [*command, "--json", "settlements", "submit", str(project_csv)]
                + (["--batch-size", str(batch_size)] if batch_size else []),
                env={**env, "CREDITSHARE_PRIVATE_KEY": platform.key.hex()},
                capture_output=True,
                text=True,
                check=True,
            )
            project_s = time.perf_counter() - started
            result = json.loads(out.stdout)
            assert result["submitted"] == count, result
            blocks = _ingest_blocks(url, first_block, int(network.rpc(url, "eth_blockNumber", []), 16))
            latencies = _finality(net, client, platform, [r.settlement for r in parse_csv(latency_csv)])
            phases = _phases(folder / "cli.prof") if profile else None
            hot = _hot(folder / "cli.prof") if profile else []
        finally:
            for node in net.nodes:
                network.stop_node(node)
    project_rate, naive_rate = count / project_s, naive_count / naive_s
    gas_each = int(result["gas_per_settlement"])
    physical = gas_limit / net.period / gas_each
    # the blocks that carried the ingest: the first one's period counts (its transactions waited for it)
    span = blocks[-1]["timestamp"] - blocks[0]["timestamp"] + net.period
    chain_rate = count / span
    fill = sum(b["gas_used"] for b in blocks) / sum(b["gas_limit"] for b in blocks)
    interval = span / len(blocks)
    profiled = (
        [
            {
                "name": "network_ingest_phases",
                "unit": "s of the CLI's time under cProfile, by phase (cumulative; read the shares)",
                "value": phases["total"],
                "baseline": "the CLI's whole run under cProfile",
                "baseline_value": phases["total"],
                "ratio": 1.0,
                "phases": phases,
                "most_own_time": hot,
            }
        ]
        if phases
        else []
    )
    return profiled + [
        {
            "name": "network_settlement_ingest",
            "unit": "settlements/s",
            "value": round(project_rate, 1),
            "baseline": "naive web3.py loop, one tx per settlement, 4-node geth Clique (1 s blocks)",
            "baseline_value": round(naive_rate, 2),
            "ratio": round(project_rate / naive_rate, 1),
            "n": count,
            "baseline_n": naive_count,
            "baseline_gas_per_settlement": naive_gas // naive_count,
            # the command's own timing (without interpreter start-up), for reading the capacity ratio
            "command_seconds": result["seconds"],
            "batch_size": batch_size or DEFAULT_BATCH,
            # what was sent: the ledger lowers a batch no block holds (settlement_ledger.batch_size_for)
            "settlements_per_transaction": round(count / max(1, sum(b["transactions"] for b in blocks)), 1),
        },
        {
            "name": "network_capacity_ratio",
            "unit": "project rate / (gas limit / period / gas per settlement)",
            "value": round(project_rate / physical, 3),
            "baseline": f"physical limit: {gas_limit} gas / {net.period} s / {gas_each} gas per settlement",
            "baseline_value": round(physical, 1),
            "ratio": round(project_rate / physical, 3),
        },
        {
            "name": "network_ingest_chain_rate",
            "unit": "settlements/s over the blocks that carried them",
            "value": round(chain_rate, 1),
            "baseline": "physical limit (as network_capacity_ratio)",
            "baseline_value": round(physical, 1),
            "ratio": round(chain_rate / physical, 3),
            "blocks": len(blocks),
            "span_seconds": span,
            # the rest of the command's time: start-up, parse, check against the chain, evidence storage
            "share_of_command": round(span / project_s, 3),
        },
        {
            "name": "network_ingest_block_fill",
            "unit": "gas used / block gas limit, over the ingest's blocks",
            "value": round(fill, 3),
            "baseline": "a block full of settlements",
            "baseline_value": 1.0,
            "ratio": round(fill, 3),
            "transactions_per_block": round(sum(b["transactions"] for b in blocks) / len(blocks), 2),
        },
        {
            "name": "network_ingest_block_interval",
            "unit": "s between the ingest's blocks (mean)",
            "value": round(interval, 2),
            "baseline": f"Clique period {net.period} s",
            "baseline_value": net.period,
            "ratio": round(interval / net.period, 2),
        },
        {
            "name": "finality_latency_p50",
            "unit": "s (send to block on all 4 nodes)",
            "value": round(statistics.median(latencies), 3),
            "baseline": f"Clique period {net.period} s",
            "baseline_value": net.period,
            "ratio": round(statistics.median(latencies) / net.period, 2),
            "n": len(latencies),
        },
        {
            "name": "finality_latency_p95",
            "unit": "s (send to block on all 4 nodes)",
            "value": round(_percentile(latencies, 0.95), 3),
            "baseline": f"Clique period {net.period} s",
            "baseline_value": net.period,
            "ratio": round(_percentile(latencies, 0.95) / net.period, 2),
            "n": len(latencies),
        },
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--gas-limit", type=int, default=network.DEFAULT_GAS_LIMIT, help="block gas limit")
    parser.add_argument(
        "--batch-size", type=int, help="settlements per transaction (default: the CLI's; try batch_for_block's)"
    )
    parser.add_argument("--profile", action="store_true", help="run the CLI under cProfile; report its phases")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    args = parser.parse_args()
    results = run(args.quick, args.gas_limit, args.batch_size, args.profile)
    text = json.dumps(results, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)
