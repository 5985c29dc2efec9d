"""Helpers for privacy tests: free ports, job files, real party processes over TCP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from creditshare.core import localchain

REPO = Path(__file__).resolve().parents[2]
DROPPING_PARTY = Path(__file__).with_name("dropping_party.py")
CHUNKED_PARTY = Path(__file__).with_name("chunked_party.py")
RESERVED_PORTS = {8545, 8546}  # the chain's
PROCESS_TIMEOUT_S = 120


def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports on localhost (never the chain's)."""
    return localchain.free_ports(n, exclude=RESERVED_PORTS)


def subject(i: int) -> str:
    return "0x" + i.to_bytes(32, "big").hex()


def job_config(
    computation: str,
    *,
    n_parties: int = 3,
    subjects: list[str] | None = None,
    bin_edges: dict[str, list[int]] | None = None,
    connect_s: float = 15,
    job_s: float = 120,
    ports: list[int] | None = None,
) -> dict[str, Any]:
    ports = ports or free_ports(n_parties)
    cfg: dict[str, Any] = {
        "job_id": f"test-{computation}",
        "computation": computation,
        "purpose": "cross-platform credit features for the nightly score batch",
        "parties": [
            {"name": f"platform-{chr(65 + i)}", "host": "127.0.0.1", "port": ports[i], "member": "0x" + f"{i + 1:040x}"}
            for i in range(n_parties)
        ],
        "timeouts": {"connect_s": connect_s, "job_s": job_s},
    }
    if subjects is not None:
        cfg["subjects"] = subjects
    if bin_edges is not None:
        cfg["bin_edges"] = bin_edges
    return cfg


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@dataclass
class PartyRun:
    party_id: int
    returncode: int
    stdout: str
    stderr: str
    output_path: Path

    @property
    def output(self) -> dict[str, Any]:
        return json.loads(self.output_path.read_text())


def run_parties(
    tmp_path: Path,
    configs: dict[int, Path],
    inputs: dict[int, Path],
    *,
    dropping: set[int] = frozenset(),  # type: ignore[assignment]
    program: Path | None = None,
    drop_at: str = "reveal",
) -> dict[int, PartyRun]:
    """Start one OS process per party, wait for all (bounded), return their results."""
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore", DROP_AT=drop_at)
    procs = {}
    for pid, cfg in configs.items():
        out = tmp_path / f"out{pid}.json"
        prog = [str(DROPPING_PARTY)] if pid in dropping else ["-m", "privacy.party"]
        if program is not None and pid not in dropping:
            prog = [str(program)]
        cmd = [
            sys.executable,
            *prog,
            "--config",
            str(cfg),
            "--id",
            str(pid),
            "--inputs",
            str(inputs[pid]),
            "--output",
            str(out),
        ]
        procs[pid] = (
            subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
            out,
        )
    runs = {}
    try:
        for pid, (proc, out) in procs.items():
            stdout, stderr = proc.communicate(timeout=PROCESS_TIMEOUT_S)
            runs[pid] = PartyRun(pid, proc.returncode, stdout, stderr, out)
    finally:
        for proc, _ in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return runs
