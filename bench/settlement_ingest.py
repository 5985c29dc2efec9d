"""Benchmark `settlement_ingest` and `settlement_gas`.

Project: `creditshare settlements submit FILE.csv` (the real CLI in a
subprocess: parse, validate the whole file against the chain, batch, send).
Baseline: a naive web3.py loop, one transaction per settlement (build, sign,
send, wait for the receipt). Both run against the same fresh Anvil in one run.

Also the gas of the later lifecycle steps, each as the CLI sends them on the
project's settlements: `pledge` (one receivable, with its fingerprint slot),
`pay` (the shipper's declaration, per settlement in a batch) and
`confirmPayment` (the platform's confirmation of receipt, per settlement).
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
from creditshare.bindings.settlement_ledger import SettlementLedger  # noqa: E402
from creditshare.core import localchain  # noqa: E402
from creditshare.core.chain import ChainClient  # noqa: E402
from creditshare.core.config import load_settings  # noqa: E402
from creditshare.core.ids import subject_id  # noqa: E402
from creditshare.core.localchain import free_port  # noqa: E402
from creditshare.domain.deploy import deploy_all  # noqa: E402
from creditshare.domain.settlements import parse_csv, write_csv  # noqa: E402


def make_rows(folder: Path, count: int, prefix: str, seed: int) -> list[dict[str, Any]]:
    """Synthetic settlements of one platform and 20 shippers, each with its own evidence file."""
    rng = random.Random(seed)
    (folder / "evidence").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(count):
        name = f"evidence/{prefix}-{i:06d}.txt"
        (folder / name).write_text(f"waybill {prefix}-{i} weight {rng.randint(100, 30000)}kg\n")
        day = 1 + i % 28
        rows.append(
            {
                "reference": f"{prefix}-{i:06d}",
                "shipper": f"uscc:BENCHSHIP{i % 20:02d}",
                "platform": "uscc:BENCHPLAT",
                "carrier": f"driver:BENCH{rng.randint(0, 499):04d}",
                "amount_fen": rng.randint(50_000, 5_000_000),
                "invoice_date": f"2026-09-{day:02d}",
                "due_date": f"2026-10-{day:02d}",
                "evidence": name,
            }
        )
    return rows


def naive_loop(client: ChainClient, account: Any, records: list[Any]) -> tuple[float, int]:
    """One transaction per settlement: build, sign, send, wait. Returns (seconds, total gas)."""
    w3 = client.w3
    ledger = client.contract("SettlementLedger")
    nonce = w3.eth.get_transaction_count(account.address)
    gas_total = 0
    started = time.perf_counter()
    for record in records:
        tx = ledger.functions.submit([record.as_tuple()], [record.reference_hash]).build_transaction(
            {
                "from": account.address,
                "nonce": nonce,
                "gas": 300_000,
                "gasPrice": 0,
                "chainId": client.settings.network.chain_id,
            }
        )
        signed = account.sign_transaction(tx)
        # a short poll interval keeps the baseline as fast as this loop can be
        receipt = w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(signed.raw_transaction), poll_latency=0.005
        )
        assert receipt["status"] == 1
        gas_total += int(receipt["gasUsed"])
        nonce += 1
    return time.perf_counter() - started, gas_total


def run(quick: bool = False) -> list[dict[str, Any]]:
    count = 1_000 if quick else 10_000
    naive_count = 500 if quick else 2_000  # the naive rate is steady: a sample measures it
    with tempfile.TemporaryDirectory(prefix="cs-bench-") as tmp:
        folder = Path(tmp)
        env = {
            **os.environ,
            "CREDITSHARE_DATA_DIR": str(folder / "data"),
            "CREDITSHARE_NETWORK": "local",
            "CREDITSHARE_LOCAL_PORT": str(free_port()),
        }
        os.environ.update(env)
        settings = load_settings()
        # no periodic state dumps: a dump stalls the node for a time that grows with
        # the chain, which would charge the longer-running naive loop more
        localchain.start(settings, state_interval=None)
        try:
            committee, platform, lender = Account.create(), Account.create(), Account.create()
            shippers = [Account.create() for _ in range(20)]
            client = ChainClient(settings)
            deploy_all(client, committee, [(committee.address, subject_id("uscc:BENCHCOMMITTEE"))], 1)
            gov = Consortium(client)
            gov.propose(committee, ProposalKind.ADMIT, platform.address, subject_id("uscc:BENCHPLAT"), ("PLATFORM",))
            gov.propose(committee, ProposalKind.ADMIT, lender.address, subject_id("uscc:BENCHBANK"), ("LENDER",))
            for i, s in enumerate(shippers):
                gov.propose(
                    committee, ProposalKind.ADMIT, s.address, subject_id(f"uscc:BENCHSHIP{i:02d}"), ("SHIPPER",)
                )

            project_csv = folder / "project.csv"
            write_csv(project_csv, make_rows(folder, count, "P", 1))
            naive_csv = folder / "naive.csv"
            write_csv(naive_csv, make_rows(folder, naive_count, "N", 2))
            naive_records = [r.settlement for r in parse_csv(naive_csv)]

            # the naive loop runs first, on the fresh chain: the node slows as the chain grows, so this
            # order favours the baseline
            naive_s, naive_gas = naive_loop(client, platform, naive_records)

            cli_env = {**env, "CREDITSHARE_PRIVATE_KEY": platform.key.hex()}
            started = time.perf_counter()
            out = subprocess.run(
                [str(ROOT / ".venv" / "bin" / "creditshare"), "--json", "settlements", "submit", str(project_csv)],
                env=cli_env,
                capture_output=True,
                text=True,
                check=True,
            )
            project_s = time.perf_counter() - started
            result = json.loads(out.stdout)
            assert result["submitted"] == count, result
            lifecycle = lifecycle_gas(
                client, platform, shippers, lender, [r.settlement for r in parse_csv(project_csv)][:400]
            )

        finally:
            localchain.stop(settings)
    project_rate = count / project_s
    naive_rate = naive_count / naive_s
    project_gas = result["gas_per_settlement"]
    naive_gas_each = naive_gas // naive_count
    return [
        {
            "name": "settlement_ingest",
            "unit": "settlements/s",
            "value": round(project_rate, 1),
            "baseline": "naive web3.py loop, one tx per settlement",
            "baseline_value": round(naive_rate, 1),
            "ratio": round(project_rate / naive_rate, 2),
            "n": count,
            "baseline_n": naive_count,
        },
        {
            "name": "settlement_gas",
            "unit": "gas/settlement",
            "value": project_gas,
            "baseline": "naive web3.py loop, one tx per settlement",
            "baseline_value": naive_gas_each,
            "ratio": round(project_gas / naive_gas_each, 3),
        },
        *({"name": name, "unit": unit, "value": value, "n": n} for name, unit, value, n in lifecycle),
    ]


def lifecycle_gas(
    client: ChainClient, platform: Any, shippers: list[Any], lender: Any, records: list[Any]
) -> list[tuple[str, str, int, int]]:
    """Gas of confirm, pledge, pay (the declaration) and confirmPayment, as (name, unit, value, n).
    `records` are on chain, submitted by the platform; each shipper confirms and declares its own."""
    ledger = SettlementLedger(client)
    by_shipper: dict[str, list[Any]] = {}
    for r in records:
        by_shipper.setdefault(r.shipper.hex(), []).append(r)
    accounts = {subject_id(f"uscc:BENCHSHIP{i:02d}").hex(): s for i, s in enumerate(shippers)}
    pledged = records[0]
    gas = {"confirm": 0, "pay": 0}
    for key, mine in by_shipper.items():
        gas["confirm"] += sum(int(t["gasUsed"]) for t in ledger.confirm(mine, accounts[key]))
    pledge = int(ledger.pledge(pledged, lender.address, platform)["gasUsed"])
    for key, mine in by_shipper.items():
        gas["pay"] += sum(int(t["gasUsed"]) for t in ledger.pay(mine, [0] * len(mine), accounts[key]))
    rest = [r for r in records if r.id != pledged.id]
    confirm_payment = sum(int(t["gasUsed"]) for t in ledger.confirm_payment(rest, platform))
    financed = int(ledger.confirm_payment([pledged], lender)[0]["gasUsed"])
    n = len(records)
    return [
        ("settlement_confirm_gas", "gas/settlement", gas["confirm"] // n, n),
        ("settlement_pledge_gas", "gas/pledge", pledge, 1),
        ("settlement_pay_declare_gas", "gas/settlement", gas["pay"] // n, n),
        ("settlement_pay_confirm_gas", "gas/settlement", confirm_payment // len(rest), len(rest)),
        ("settlement_pay_confirm_financed_gas", "gas/settlement", financed, 1),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 settlements instead of 10,000")
    parser.add_argument("--out", type=Path, help="write the JSON results here too")
    args = parser.parse_args()
    results = run(args.quick)
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
