"""Privacy benchmarks: secure multi-party features and PSI against doing it in the clear.

    python bench/privacy_bench.py [--quick] [--out FILE]

- mpc_secure_sum: 3 party processes over TCP on localhost, 10,000 subjects ×
  5 features (4 sums + max of worst-DPD), wall seconds from launching the
  parties to every output written. Baseline: pooling the same three inputs
  files in one process and computing the same aggregates in the clear.
- mpc_secure_sum_100k (full run only): the same job for 100,000 subjects —
  the nightly batch size the design asks about.
- psi: ECDH PSI of 100,000 × 100,000 ids between two processes over TCP.
  Baseline: a plain hash-set intersection of the same ids.

Every figure is one measured run on this machine; `ratio` = value / baseline_value.
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

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from privacy.config import parse_config  # noqa: E402
from privacy.inputs import CROSS_FEATURES, load_inputs  # noqa: E402
from privacy.party import plaintext_result  # noqa: E402

N_PARTIES = 3


def _free_ports(n: int) -> list[int]:
    import socket

    socks, ports = [], []
    while len(ports) < n:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        port = s.getsockname()[1]
        if port not in (8545, 8546) and port not in ports:
            ports.append(port)
    for s in socks:
        s.close()
    return ports


def _subject(i: int) -> str:
    return "0x" + i.to_bytes(32, "big").hex()


def _write_mpc_job(tmp: Path, n_subjects: int) -> tuple[Path, list[Path]]:
    subjects = [_subject(i) for i in range(n_subjects)]
    (tmp / "subjects.txt").write_text("\n".join(subjects) + "\n")
    cfg = {
        "job_id": f"bench-{n_subjects}",
        "computation": "cross_platform_features",
        "purpose": "benchmark",
        "parties": [{"name": f"p{i}", "host": "127.0.0.1", "port": p} for i, p in enumerate(_free_ports(N_PARTIES))],
        "subjects_file": "subjects.txt",
        "timeouts": {"connect_s": 60, "job_s": 3600},
    }
    cfg_path = tmp / "job.json"
    cfg_path.write_text(json.dumps(cfg))
    rng = random.Random(7)
    inputs = []
    for pid in range(N_PARTIES):
        path = tmp / f"in{pid}.csv"
        with path.open("w") as fh:
            fh.write(",".join(["subject", *CROSS_FEATURES]) + "\n")
            for s in subjects:
                if rng.random() < 0.6:  # each platform knows ~60% of the subjects
                    fh.write(
                        f"{s},{rng.randrange(10**10)},{rng.randrange(10**8)},"
                        f"{rng.randint(0, 5)},1,{rng.randint(0, 365)}\n"
                    )
        inputs.append(path)
    return cfg_path, inputs


def bench_mpc(n_subjects: int, name: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cfg_path, inputs = _write_mpc_job(tmp, n_subjects)
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore")
        t0 = time.perf_counter()
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "privacy.party",
                    "--config",
                    str(cfg_path),
                    "--id",
                    str(pid),
                    "--inputs",
                    str(inputs[pid]),
                    "--output",
                    str(tmp / f"out{pid}.json"),
                ],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for pid in range(N_PARTIES)
        ]
        for p in procs:
            _, err = p.communicate(timeout=3600)
            if p.returncode != 0:
                raise RuntimeError(f"party failed: {err.strip()}")
        mpc_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        config = parse_config(json.loads(cfg_path.read_text()), base_dir=tmp)
        expected = plaintext_result(config, [load_inputs(config, p) for p in inputs])
        plain_s = time.perf_counter() - t0

        out = json.loads((tmp / "out0.json").read_text())["revealed"]["subjects"]
        got = [out[s] for s in config.subjects]
        if got != expected.T.tolist():
            raise RuntimeError("MPC result differs from the plaintext computation")
    return _result(name, mpc_s, "plaintext pooled computation (same inputs files, one process)", plain_s)


def bench_psi(n: int, name: str) -> dict[str, Any]:
    rng = random.Random(11)
    universe = rng.sample(range(10**9), int(n * 1.5))
    a = [_subject(i) for i in universe[:n]]
    b = [_subject(i) for i in universe[n // 2 : n // 2 + n]]  # half of each side shared
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        (tmp / "a.txt").write_text("\n".join(a) + "\n")
        (tmp / "b.txt").write_text("\n".join(b) + "\n")
        (port,) = _free_ports(1)
        # each side authenticates the other as a member: a throwaway key each, the other's address allowed
        serving, querying = Account.create(), Account.create()
        server_env = dict(os.environ, PYTHONPATH=str(REPO), CREDITSHARE_PSI_KEY=serving.key.hex())
        client_env = dict(os.environ, PYTHONPATH=str(REPO), CREDITSHARE_PSI_KEY=querying.key.hex())
        cmd = [sys.executable, "-m", "privacy.psi"]
        t0 = time.perf_counter()
        server = subprocess.Popen(
            [
                *cmd,
                "serve",
                "--allow",
                querying.address,
                "--max-query",
                str(n),
                "--ids",
                str(tmp / "a.txt"),
                "--port",
                str(port),
                "--timeout",
                "600",
                "--output",
                str(tmp / "a-out.txt"),
            ],
            cwd=REPO,
            env=server_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        client = subprocess.run(
            [
                *cmd,
                "query",
                "--allow",
                serving.address,
                "--ids",
                str(tmp / "b.txt"),
                "--port",
                str(port),
                "--timeout",
                "600",
                "--output",
                str(tmp / "b-out.txt"),
            ],
            cwd=REPO,
            env=client_env,
            capture_output=True,
            timeout=1200,
        )
        server.communicate(timeout=1200)
        psi_s = time.perf_counter() - t0
        if client.returncode or server.returncode:
            raise RuntimeError(f"PSI failed: {client.stderr.decode().strip()}")
        shared = (tmp / "b-out.txt").read_text().split()

        t0 = time.perf_counter()
        plain = set(a) & set(b)
        plain_s = time.perf_counter() - t0
    if set(shared) != plain:
        raise RuntimeError("PSI result differs from the plain intersection")
    return _result(name, psi_s, "plain hash-set intersection (ids in the clear)", plain_s)


def _result(name: str, value: float, baseline: str, baseline_value: float) -> dict[str, Any]:
    return {
        "name": name,
        "unit": "s",
        "value": round(value, 3),
        "baseline": baseline,
        "baseline_value": round(baseline_value, 6),
        "ratio": round(value / baseline_value, 1) if baseline_value > 0 else None,
    }


def run(quick: bool = False) -> list[dict[str, Any]]:
    """All privacy benchmarks; `quick` shrinks the sizes (names get a _quick suffix)."""
    if quick:
        return [bench_mpc(1_000, "mpc_secure_sum_quick"), bench_psi(10_000, "psi_quick")]
    return [
        bench_mpc(10_000, "mpc_secure_sum"),
        bench_psi(100_000, "psi"),
        bench_mpc(100_000, "mpc_secure_sum_100k"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "privacy.json")
    args = parser.parse_args()
    results = run(quick=args.quick)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    for r in results:
        print(f"{r['name']:<22} {r['value']:>10.3f} s   baseline {r['baseline_value']:.6f} s   ratio {r['ratio']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
