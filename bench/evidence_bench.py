"""Benchmarks `evidence_put` and `evidence_get_remote` (documents/s and MB/s): the IPFS backend vs the folder.

A network of 3 real Kubo nodes on 127.0.0.1 (creditshare.core.ipfs, built by `make kubo`) in a temporary data
folder. evidence_put: documents stored through creditshare.domain.evidence's IPFS store on node 0, each pinned
there and on node 1 (replication target 2: each block is handed to node 1 with its pin). Baseline: the
folder store (`<data>/evidence`), same documents. evidence_get_remote: the same documents read through node 2,
which holds none of them (each fetched over bitswap from a pin holder and checked against its CID): half of
them with 8 requests in flight (IpfsStore.load_many: evidence_get_remote), the other half one after another
(evidence_get_remote_sequential). Baseline: reads from the folder store (checked the same way). Documents are
64 KiB (a waybill scan) and distinct.
Writes bench/results/evidence.json; `run(quick)` is the bench/run.py interface.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from creditshare.core import ipfs  # noqa: E402
from creditshare.domain import evidence  # noqa: E402

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
        finally:
            for node in nodes:
                ipfs.stop_node(node)
    return [
        _row("evidence_put", "docs/s", n / put_s, "folder store", n / put_folder_s),
        _row("evidence_put_mb", "MB/s", mb / put_s, "folder store", mb / put_folder_s),
        _row("evidence_get_remote", "docs/s", (n - half) / get_s, "folder store (local)", n / get_folder_s),
        _row("evidence_get_remote_mb", "MB/s", (mb / 2) / get_s, "folder store (local)", mb / get_folder_s),
        _row("evidence_get_remote_sequential", "docs/s", half / get_seq_s, "folder store (local)", n / get_folder_s),
    ]


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
