"""Benchmarks `evidence_put` and `evidence_get_remote` (documents/s and MB/s): the IPFS backend vs the folder.

A network of 3 real Kubo nodes on 127.0.0.1 (creditshare.core.ipfs, built by `make kubo`) in a temporary data
folder. evidence_put: documents stored through creditshare.domain.evidence's IPFS store on node 0, each pinned
there and on node 1 (replication target 2: each block is handed to node 1 with its pin). Baseline: the
folder store (`<data>/evidence`), same documents. evidence_get_remote: the same documents read through node 2,
which holds none of them (each fetched over bitswap from a pin holder and checked against its CID): half of
them with 8 requests in flight (IpfsStore.load_many: evidence_get_remote), the other half one after another
(evidence_get_remote_sequential). Baseline: reads from the folder store (checked the same way). Documents are
64 KiB (a waybill scan) and distinct.

settlements_submit_ipfs: `creditshare settlements submit FILE.csv` (the real CLI in a subprocess, on a fresh local
Anvil) with CREDITSHARE_EVIDENCE=ipfs (each row's 64 KiB document added and pinned on node 0 and replicated to
node 1 before the chain write), against the same command with the folder store, same run, distinct documents and
settlements of the same shape; the folder run goes first, on the younger chain, so chain growth never flatters
the IPFS figure. Timed by the command's own `seconds` (parse, chain checks, storage, sending; not the
interpreter's start). settlements_submit_ipfs_overhead is the difference per settlement.
Writes bench/results/evidence.json; `run(quick)` is the bench/run.py interface.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eth_account import Account

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from creditshare.bindings.consortium import Consortium, ProposalKind  # noqa: E402
from creditshare.core import ipfs, localchain  # noqa: E402
from creditshare.core.chain import ChainClient  # noqa: E402
from creditshare.core.config import load_settings  # noqa: E402
from creditshare.core.ids import subject_id  # noqa: E402
from creditshare.core.localchain import free_port  # noqa: E402
from creditshare.domain import evidence  # noqa: E402
from creditshare.domain.deploy import deploy_all  # noqa: E402
from creditshare.domain.settlements import write_csv  # noqa: E402

DOC_BYTES = 64 * 1024
WORKERS = 8


def _docs(n: int) -> list[bytes]:
    out = []
    for i in range(n):
        seed = hashlib.sha256(f"evidence-bench-{time.time_ns()}-{i}".encode()).digest()
        out.append((seed * (DOC_BYTES // len(seed) + 1))[:DOC_BYTES])
    return out


def _row(name: str, unit: str, value: float, baseline: str, base: float) -> dict[str, Any]:
    return {
        "name": name,
        "unit": unit,
        "value": round(value, 2),
        "baseline": baseline,
        "baseline_value": round(base, 2),
        "ratio": round(value / base, 4) if base else None,
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    n = 30 if quick else 200
    docs = _docs(n)
    mb = n * DOC_BYTES / 1e6
    with tempfile.TemporaryDirectory(prefix="evidence-bench-") as tmp:
        data_dir = Path(tmp)
        nodes = ipfs.init_network(data_dir, 3)
        try:
            for node in nodes:
                ipfs.start_node(node)
            ipfs.wait_connected(nodes)
            links = ipfs.network_dir(data_dir) / "links.json"
            writer = evidence.IpfsStore(nodes[0].api, [nodes[1].api], 2, links)
            reader = evidence.IpfsStore(nodes[2].api, [], 1, links)
            folder = data_dir / "evidence"

            t = time.perf_counter()
            cids = [writer.store(d) for d in docs]
            put_s = time.perf_counter() - t
            t = time.perf_counter()
            folder_cids = [evidence.store_folder(folder, d) for d in docs]
            put_folder_s = time.perf_counter() - t
            assert cids == folder_cids

            half = n // 2  # distinct documents for each way of reading: none is on node 2 yet
            t = time.perf_counter()
            got = [reader.load(c) for c in cids[:half]]
            get_seq_s = time.perf_counter() - t
            t = time.perf_counter()
            got += reader.load_many(cids[half:], workers=WORKERS)
            get_s = time.perf_counter() - t
            t = time.perf_counter()
            got_folder = [evidence.load_folder(folder, c) for c in cids]
            get_folder_s = time.perf_counter() - t
            assert got == docs == got_folder

            submits = max(20, n // 2)
            folder_submit_s, ipfs_submit_s = submit_overhead(data_dir / "submit", nodes, submits)
        finally:
            for node in nodes:
                ipfs.stop_node(node)
    return [
        _row("evidence_put", "docs/s", n / put_s, "folder store", n / put_folder_s),
        _row("evidence_put_mb", "MB/s", mb / put_s, "folder store", mb / put_folder_s),
        _row("evidence_get_remote", "docs/s", (n - half) / get_s, "folder store (local)", n / get_folder_s),
        _row("evidence_get_remote_mb", "MB/s", (mb / 2) / get_s, "folder store (local)", mb / get_folder_s),
        _row("evidence_get_remote_sequential", "docs/s", half / get_seq_s, "folder store (local)", n / get_folder_s),
        {
            **_row(
                "settlements_submit_ipfs",
                "settlements/s",
                submits / ipfs_submit_s,
                "settlements submit, folder store",
                submits / folder_submit_s,
            ),
            "n": submits,
        },
        {
            "name": "settlements_submit_ipfs_overhead",
            "unit": "ms/settlement",
            "value": round((ipfs_submit_s - folder_submit_s) / submits * 1000, 2),
            "n": submits,
        },
    ]


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _settlement_csv(folder: Path, prefix: str, n: int) -> Path:
    """`n` settlements of one platform and 5 shippers, each with its own distinct 64 KiB document."""
    (folder / "evidence").mkdir(parents=True, exist_ok=True)
    rows = []
    for i, data in enumerate(_docs(n)):
        name = f"evidence/{prefix}-{i:05d}.pdf"
        (folder / name).write_bytes(data)
        rows.append(
            {
                "reference": f"{prefix}-{i:05d}",
                "shipper": f"uscc:EVBENCHSHIP{i % 5}",
                "platform": "uscc:EVBENCHPLAT",
                "carrier": f"driver:EVBENCH{i % 50:03d}",
                "amount_fen": 100_000 + i,
                "invoice_date": f"2026-09-{1 + i % 28:02d}",
                "due_date": f"2026-10-{1 + i % 28:02d}",
                "evidence": name,
            }
        )
    path = folder / f"{prefix}.csv"
    write_csv(path, rows)
    return path


def submit_overhead(folder: Path, nodes: list[ipfs.NodeInfo], n: int) -> tuple[float, float]:
    """Seconds of `settlements submit` of `n` settlements with the folder store, then with IPFS (see the module
    doc), on one fresh local Anvil."""
    env = {
        "CREDITSHARE_DATA_DIR": str(folder / "data"),
        "CREDITSHARE_NETWORK": "local",
        "CREDITSHARE_LOCAL_PORT": str(free_port()),
    }
    with _environment(env):
        settings = load_settings()
        localchain.start(settings, state_interval=None)
        try:
            committee, platform = Account.create(), Account.create()
            client = ChainClient(settings)
            deploy_all(client, committee, [(committee.address, subject_id("uscc:EVBENCHCOMMITTEE"))], 1)
            gov = Consortium(client)
            gov.propose(committee, ProposalKind.ADMIT, platform.address, subject_id("uscc:EVBENCHPLAT"), ("PLATFORM",))
            for i in range(5):
                shipper = Account.create()
                gov.propose(
                    committee, ProposalKind.ADMIT, shipper.address, subject_id(f"uscc:EVBENCHSHIP{i}"), ("SHIPPER",)
                )
            seconds = []
            for backend, prefix in (("folder", "F"), ("ipfs", "I")):
                path = _settlement_csv(folder, prefix, n)
                cli_env = {
                    **os.environ,
                    "CREDITSHARE_PRIVATE_KEY": platform.key.hex(),
                    "CREDITSHARE_EVIDENCE": backend,
                    "CREDITSHARE_IPFS_API": nodes[0].api,
                    "CREDITSHARE_IPFS_REPLICAS": ",".join(node.api for node in nodes),
                    "CREDITSHARE_IPFS_REPLICATION": "2",
                }
                out = subprocess.run(
                    [str(ROOT / ".venv" / "bin" / "creditshare"), "--json", "settlements", "submit", str(path)],
                    env=cli_env,
                    capture_output=True,
                    text=True,
                )
                if out.returncode != 0:
                    raise RuntimeError(f"settlements submit ({backend}) failed: {out.stderr.strip()}")
                result = json.loads(out.stdout)
                assert result["submitted"] == n and len(result["evidence_stored"]) == n, result
                assert result["evidence_backend"] == backend, result
                seconds.append(float(result["seconds"]))
        finally:
            localchain.stop(settings)
    return seconds[0], seconds[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="30 documents instead of 200")
    args = parser.parse_args()
    results = run(quick=args.quick)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "evidence.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
