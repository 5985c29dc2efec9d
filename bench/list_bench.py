"""Benchmarks `list_view_gas`, `consented_read_gas` and `lender_reads_per_s`.

list_view_gas: gas of one paid view of a subject with 5 active entries by 5
maintainers (CreditList.viewSubject: fee pulled once, split per maintainer over
the live lists, credited for pull withdrawal, the view recorded). Baseline: one paid view transaction per entry
(the same 5 maintainers' entries, each about its own subject). For scale,
`plain_token_transfers_gas` is what paying the 5 maintainers with bare token
transfers costs (no split rule, no record, no key release possible).

consented_read_gas: gas per subject of recording a consent-checked access
(DataBus.accessMany, 200 subjects a transaction). Baseline: one `access`
transaction per subject.

lender_reads_per_s: a lender reading N subjects' scores under consent, through
the library (creditshare.bindings.data_bus.DataBus.access: accessMany batches, pipelined)
and one `scoresOf` call for the batch. Baseline: per subject, one `access`
transaction (waiting for its receipt) and one `scoresOf` call. Both on the same
fresh Anvil in one run, on distinct fresh subjects; the naive loop first.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_account import Account

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from creditshare.bindings.consortium import ProposalKind, parameter_key  # noqa: E402
from creditshare.bindings.data_bus import DataBus, purpose_id  # noqa: E402
from creditshare.core import localchain  # noqa: E402
from creditshare.core.chain import ChainClient, encode_call  # noqa: E402
from creditshare.core.config import load_settings  # noqa: E402
from creditshare.core.ids import subject_id  # noqa: E402
from creditshare.core.localchain import free_port  # noqa: E402
from creditshare.core.roles import role_id  # noqa: E402
from creditshare.domain.deploy import deploy_all  # noqa: E402

ZERO32 = bytes(32)
ZERO_ADDRESS = "0x" + "00" * 20
ENTRIES_PER_SUBJECT = 5
VIEW_FEE = 1_000
MIN_STAKE = 50_000
SCORE = 1
PURPOSE = purpose_id("receivable-financing")


def _admit(client: ChainClient, consortium: Any, committee: Any, members: list[tuple[str, bytes, str]]) -> None:
    calls = [
        encode_call(consortium, "propose", int(ProposalKind.ADMIT), address, org, [role_id(role)], ZERO32, 0)
        for address, org, role in members
    ]
    client.transact_many(calls, committee, "admissions", scale_gas=True)


def run(quick: bool = False) -> list[dict[str, Any]]:
    n_views = 3 if quick else 6
    n_project = 100 if quick else 300
    n_naive = 30 if quick else 60
    with tempfile.TemporaryDirectory(prefix="cs-list-bench-") as tmp:
        os.environ.update(
            {
                "CREDITSHARE_DATA_DIR": str(Path(tmp) / "data"),
                "CREDITSHARE_NETWORK": "local",
                "CREDITSHARE_LOCAL_PORT": str(free_port()),
            }
        )
        settings = load_settings()
        localchain.start(settings, state_interval=None)
        try:
            client = ChainClient(settings)
            committee = Account.create()
            deploy_all(client, committee, [(committee.address, subject_id("uscc:BENCHCOMMITTEE"))], 1)
            consortium = client.contract("Consortium")
            token, clist = client.contract("SettlementToken"), client.contract("CreditList")
            bus, oracle = client.contract("DataBus"), client.contract("ScoreOracle")
            maintainers = [Account.create() for _ in range(ENTRIES_PER_SUBJECT)]
            lender = Account.create()
            subjects = [Account.create() for _ in range(n_project + n_naive)]
            _admit(
                client,
                consortium,
                committee,
                [(m.address, subject_id(f"uscc:BENCHMAINT{i}"), "MAINTAINER") for i, m in enumerate(maintainers)]
                + [(lender.address, subject_id("uscc:BENCHLENDER"), "LENDER")]
                + [(s.address, subject_id(f"uscc:BENCHSUBJ{i}"), "SHIPPER") for i, s in enumerate(subjects)],
            )
            params = {
                "creditList.entryTtl": 90 * 86_400,
                "creditList.minStake": MIN_STAKE,
                "creditList.viewFee": VIEW_FEE,
            }
            client.transact_many(
                [
                    encode_call(
                        consortium,
                        "propose",
                        int(ProposalKind.SET_PARAMETER),
                        ZERO_ADDRESS,
                        ZERO32,
                        [],
                        parameter_key(k),
                        v,
                    )
                    for k, v in params.items()
                ],
                committee,
                "parameters",
            )
            client.transact_many(
                [encode_call(token, "mint", a.address, 10**9) for a in [*maintainers, lender]], committee, "mint"
            )

            # -- list_view_gas -----------------------------------------------------------------------------
            now = client.block_timestamp()
            viewed = [subject_id(f"uscc:BENCHDEBTOR{i}") for i in range(n_views)]
            # the baseline's subjects hold one entry each: one paid view per entry
            single = [
                [subject_id(f"uscc:BENCHSINGLE{v}X{i}") for i in range(ENTRIES_PER_SUBJECT)] for v in range(n_views)
            ]

            def post(s: bytes) -> Any:
                return encode_call(
                    clist,
                    "post",
                    (s, 0, 5_000_000, now - 86_400 * 30, now - 86_400, [], b"\x01" * 32, b"\x02" * 32, MIN_STAKE),
                )

            for i, m in enumerate(maintainers):
                client.transact(encode_call(token, "approve", clist.address, 10**9), m, "approve")
                client.transact_many([post(s) for s in viewed] + [post(row[i]) for row in single], m, "posts")
            client.transact(encode_call(token, "approve", clist.address, 10**9), lender, "approve")

            def gas(call: Any) -> int:
                return int(client.transact(call, lender, "bench")["gasUsed"])

            # interleaved, so that both meet the maintainers' balance slots in the same state
            view_gas, naive_view_gas, transfer_gas = [], [], []
            for v, s in enumerate(viewed):
                naive_view_gas.append(sum(gas(encode_call(clist, "viewSubject", one)) for one in single[v]))
                view_gas.append(gas(encode_call(clist, "viewSubject", s)))
                transfer_gas.append(
                    sum(
                        gas(encode_call(token, "transfer", m.address, VIEW_FEE // len(maintainers)))
                        for m in maintainers
                    )
                )

            # -- consents ----------------------------------------------------------------------------------
            expires = client.block_timestamp() + 30 * 86_400
            for s in subjects:  # each subject's own member grants (one transaction each)
                client.transact(encode_call(bus, "grant", lender.address, PURPOSE, SCORE, expires), s, "grant")
            sids = [subject_id(f"uscc:BENCHSUBJ{i}") for i in range(len(subjects))]
            naive_sids, project_sids = sids[:n_naive], sids[n_naive:]

            # -- naive lender: one access transaction and one score call per subject -----------------------
            started = time.perf_counter()
            naive_gas = 0
            for s in naive_sids:
                receipt = client.transact(encode_call(bus, "access", s, SCORE, PURPOSE), lender, "access")
                naive_gas += int(receipt["gasUsed"])
                client.call(oracle, "scoresOf", [s])
            naive_s = time.perf_counter() - started

            # -- project: the library's batched access, one scoresOf per 500 subjects ----------------------
            databus = DataBus(client)
            started = time.perf_counter()
            records = databus.access(lender, project_sids, SCORE, PURPOSE)
            for i in range(0, len(project_sids), 500):
                client.call(oracle, "scoresOf", project_sids[i : i + 500])
            project_s = time.perf_counter() - started
            assert len(records) == n_project
            txs = {r["tx"] for r in records}
            project_gas = 0
            for tx in txs:
                project_gas += int(client.wait_receipt(bytes.fromhex(tx[2:]))["gasUsed"])
        finally:
            localchain.stop(settings)
    view, naive_view = sum(view_gas) // len(view_gas), sum(naive_view_gas) // len(naive_view_gas)
    transfers = sum(transfer_gas) // len(transfer_gas)
    read, naive_read = project_gas // n_project, naive_gas // n_naive
    rate, naive_rate = n_project / project_s, n_naive / naive_s
    return [
        {
            "name": "list_view_gas",
            "unit": "gas/view",
            "value": view,
            "baseline": f"one paid view transaction per entry ({ENTRIES_PER_SUBJECT} entries)",
            "baseline_value": naive_view,
            "ratio": round(view / naive_view, 3),
            "entries_per_subject": ENTRIES_PER_SUBJECT,
            "views": len(view_gas),
            "plain_token_transfers_gas": transfers,
        },
        {
            "name": "consented_read_gas",
            "unit": "gas/subject",
            "value": read,
            "baseline": "one DataBus.access transaction per subject",
            "baseline_value": naive_read,
            "ratio": round(read / naive_read, 3),
            "n": n_project,
            "baseline_n": n_naive,
        },
        {
            "name": "lender_reads_per_s",
            "unit": "subjects/s",
            "value": round(rate, 1),
            "baseline": "per subject: one access transaction and one scoresOf call",
            "baseline_value": round(naive_rate, 1),
            "ratio": round(rate / naive_rate, 2),
            "n": n_project,
            "baseline_n": n_naive,
        },
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(json.dumps(run(args.quick), indent=2))
