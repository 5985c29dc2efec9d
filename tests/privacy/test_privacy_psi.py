"""Private set intersection of subject ids: in-process and between two real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from creditshare.core.errors import InvalidInput, PrivacyError
from privacy.psi import psi_intersect, psi_query
from tests.privacy.privacy_helpers import REPO, free_ports, subject

A = [subject(i) for i in range(0, 300)]
B = [subject(i) for i in range(200, 450)]


def test_psi_finds_exactly_the_shared_ids() -> None:
    assert psi_intersect(A, B) == set(A) & set(B)
    assert psi_intersect(A, [subject(10**6)]) == set()


def test_psi_ids_are_case_insensitive_hex() -> None:
    assert psi_intersect([A[0].upper().replace("0X", "0x")], [A[0]]) == {A[0]}


def test_psi_rejects_duplicate_ids() -> None:
    with pytest.raises(InvalidInput, match="1 duplicates"):
        psi_intersect([A[0], A[0]], B)


def test_two_holders_in_two_processes_learn_the_same_shared_ids(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("\n".join(A) + "\n")
    (tmp_path / "b.txt").write_text("\n".join(B) + "\n")
    (port,) = free_ports(1)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "privacy.psi"]
    server = subprocess.Popen(
        [
            *cmd,
            "serve",
            "--ids",
            str(tmp_path / "a.txt"),
            "--port",
            str(port),
            "--timeout",
            "30",
            "--output",
            str(tmp_path / "a-shared.txt"),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        client = subprocess.run(
            [
                *cmd,
                "query",
                "--ids",
                str(tmp_path / "b.txt"),
                "--port",
                str(port),
                "--timeout",
                "30",
                "--output",
                str(tmp_path / "b-shared.txt"),
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        out, err = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert client.returncode == 0, client.stderr
    assert server.returncode == 0, err
    expected = sorted(set(A) & set(B))
    assert (tmp_path / "a-shared.txt").read_text().split() == expected
    assert (tmp_path / "b-shared.txt").read_text().split() == expected
    assert "100 shared ids" in out


def test_query_without_a_serving_holder_fails_within_its_timeout() -> None:
    (port,) = free_ports(1)
    with pytest.raises(PrivacyError, match=f"could not reach the serving holder at 127.0.0.1:{port} within 1 s"):
        psi_query(A[:3], "127.0.0.1", port, timeout=1)
