"""Private set intersection of subject ids: in-process, and between real `creditshare psi` processes on the
test chain: only authenticated consortium members are answered, queries are capped and rate-limited, and
every run is logged in MpcJobLog like an MPC job (issue #14, finding 8)."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak

from creditshare.core.errors import InvalidInput, PrivacyError
from creditshare.core.ids import subject_id, to_hex
from privacy.psi import PURPOSE, PeerRefused, PsiIdentity, psi_intersect, psi_query, read_ids
from tests.privacy.privacy_helpers import REPO, free_ports, subject

A = [subject(i) for i in range(0, 300)]
B = [subject(i) for i in range(200, 450)]
EXE = str(Path(sys.executable).parent / "creditshare")


@contextmanager
def serving_once(server: Any, timeout: float) -> Iterator[tuple[int, dict[str, Any]]]:
    """`server` serving one run on a free port in a thread: yields (port, done), where done["runs"] holds what
    serve returned once the block is left and the thread has ended (it waits up to the run's timeout and 30 s)."""
    (port,) = free_ports(1)
    done: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: done.update(runs=server.serve(port, timeout=timeout, runs=1)))
    thread.start()
    try:
        time.sleep(0.5)
        yield port, done
    finally:
        thread.join(timeout=timeout + 30)


def test_psi_finds_exactly_the_shared_ids() -> None:
    assert psi_intersect(A, B) == set(A) & set(B)
    assert psi_intersect(A, [subject(10**6)]) == set()


def test_psi_ids_are_case_insensitive_hex() -> None:
    assert psi_intersect([A[0].upper().replace("0X", "0x")], [A[0]]) == {A[0]}


def test_psi_rejects_duplicate_ids() -> None:
    with pytest.raises(InvalidInput, match="1 duplicates"):
        psi_intersect([A[0], A[0]], B)


def test_ids_file_with_a_malformed_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "ids.txt"
    path.write_text(f"{A[0]}\n\n0x1234\n")
    with pytest.raises(InvalidInput, match=r"ids.txt line 3: '0x1234' is not a 0x-prefixed 32-byte hex id"):
        read_ids(str(path))
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(InvalidInput, match="ids.txt line 1: not UTF-8 text"):
        read_ids(str(path))


def stranger() -> PsiIdentity:
    """A key that is no consortium member (trusting any server: the attacker's side)."""
    return PsiIdentity(Account.create(), lambda address: True)


def test_query_without_a_serving_holder_fails_within_its_timeout() -> None:
    (port,) = free_ports(1)
    with pytest.raises(PrivacyError, match=f"could not reach the serving holder at 127.0.0.1:{port} within 1 s"):
        psi_query(A[:3], "127.0.0.1", port, identity=stranger(), timeout=1)


def module_run(role: str, ids: Path, port: int, key: Any, allow: list[str], *extra: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO), CREDITSHARE_PSI_KEY=key.key.hex())
    argv = [sys.executable, "-m", "privacy.psi", role, "--ids", str(ids), "--port", str(port), "--timeout", "30"]
    for address in allow:
        argv += ["--allow", address]
    return subprocess.Popen(
        [*argv, *extra], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_two_allowed_holders_in_two_processes_learn_the_same_shared_ids(tmp_path: Path) -> None:
    """`python -m privacy.psi`: the peers authenticated against an allow-list instead of the chain; a key
    outside the list is refused and the server goes on."""
    (tmp_path / "a.txt").write_text("\n".join(A) + "\n")
    (tmp_path / "b.txt").write_text("\n".join(B) + "\n")
    a, b, outsider = Account.create(), Account.create(), Account.create()
    (port,) = free_ports(1)
    out = ["--output", str(tmp_path / "a-shared.txt"), "--record", str(tmp_path / "a-run.json")]
    server = module_run("serve", tmp_path / "a.txt", port, a, [b.address], *out)
    try:
        refused = module_run("query", tmp_path / "b.txt", port, outsider, [a.address]).communicate(timeout=60)
        client = module_run(
            "query", tmp_path / "b.txt", port, b, [a.address], "--output", str(tmp_path / "b-shared.txt")
        )
        _, client_err = client.communicate(timeout=60)
        stdout, err = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert f"{outsider.address} is not an active consortium member" in refused[1]
    assert client.returncode == 0, client_err
    assert server.returncode == 0, err
    expected = sorted(set(A) & set(B))
    assert (tmp_path / "a-shared.txt").read_text().split() == expected
    assert (tmp_path / "b-shared.txt").read_text().split() == expected
    assert "100 shared ids" in stdout
    record = json.loads((tmp_path / "a-run.json").read_text())["record"]
    assert record["participants"] == [a.address, b.address] and record["computation"] == "psi"


def test_module_run_without_a_key_is_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(A[0] + "\n")
    env = {k: v for k, v in os.environ.items() if k != "CREDITSHARE_PSI_KEY"}
    done = subprocess.run(
        [sys.executable, "-m", "privacy.psi", "serve", "--ids", str(tmp_path / "a.txt"), "--port", "1"],
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == "error: set CREDITSHARE_PSI_KEY to this holder's private key (hex).\n"


# ---- real processes on the test chain ----


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.cli.helpers import deployed_cli

    return deployed_cli(tmp_path_factory)


@pytest.fixture(scope="module")
def ids_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("psi-ids")
    files = {}
    for name, ids in (("a", A), ("b", B), ("small", A[:6])):
        files[name] = folder / f"{name}.txt"
        files[name].write_text("\n".join(ids) + "\n")
    return files


def start_server(cli: Any, ids: Path, port: int, *args: str) -> subprocess.Popen[str]:
    argv = [EXE, "--json", "psi", "serve", "--ids", str(ids), "--port", str(port), "--timeout", "60", *args]
    return subprocess.Popen(
        [*argv, "--account", "plat"],
        env=cli.subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def query(cli: Any, ids: Path, port: int, account: str) -> subprocess.CompletedProcess[str]:
    argv = [EXE, "--json", "psi", "query", "--ids", str(ids), "--port", str(port), "--timeout", "60"]
    return subprocess.run(
        [*argv, "--account", account], env=cli.subprocess_env(), capture_output=True, text=True, timeout=120
    )


def finish(server: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = server.communicate(timeout=120)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    return server.returncode, out, err


def members(cli: Any) -> dict[str, str]:
    return {m["org_id"]: m["address"] for m in cli.json("members", "list")}


@pytest.mark.chain
def test_two_members_learn_the_shared_ids_and_the_run_is_logged_on_chain(cli: Any, ids_files: dict[str, Path]) -> None:
    (port,) = free_ports(1)
    server = start_server(cli, ids_files["a"], port)
    client = query(cli, ids_files["b"], port, "bank")
    code, out, err = finish(server)
    assert client.returncode == 0, client.stderr
    assert code == 0, err
    expected = sorted(set(A) & set(B))
    mine, (theirs,) = json.loads(client.stdout), json.loads(out)
    assert mine["shared"] == theirs["shared"] == expected
    assert mine["job_id"] == theirs["job_id"] and {mine["log"], theirs["log"]} == {"recorded", "attested"}
    job = cli.json("mpc", "show", mine["job_id"])
    plat, bank = mine["peer"], theirs["peer"]
    assert job["participants"] == [plat, bank] and job["fully_attested"] is True
    assert job["purpose_hash"] == "0x" + keccak(text=PURPOSE).hex()
    assert all(c != "0x" + "00" * 32 for c in job["input_commitments"])


def raw_exchange(port: int, frames: list[bytes]) -> bytes:
    """Send raw frames to the server, return what it answers (up to the close)."""
    deadline = time.monotonic() + 60
    while True:  # the server process may still be starting
        try:
            conn = socket.create_connection(("127.0.0.1", port), timeout=30)
            break
        except ConnectionRefusedError:
            assert time.monotonic() < deadline, f"no server on port {port}"
            time.sleep(0.2)
    with conn:
        for frame in frames:
            conn.sendall(frame)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    return data


def frame(kind: int, payload: bytes) -> bytes:
    return struct.pack(">IB", len(payload) + 1, kind) + payload


@pytest.mark.chain
def test_unauthenticated_clients_are_refused_and_the_server_goes_on(cli: Any, ids_files: dict[str, Path]) -> None:
    (port,) = free_ports(1)
    server = start_server(cli, ids_files["a"], port)
    try:
        # the old, anonymous protocol: refused before any work
        answer = raw_exchange(port, [frame(1, json.dumps({"version": 1, "n": 3}).encode())])
        assert b"authenticated members only" in answer
        # a key that is no member: signs correctly, is not an active member
        with pytest.raises(PeerRefused, match="is not an active consortium member"):
            psi_query(A[:3], "127.0.0.1", port, identity=stranger(), timeout=30)
        # claiming a member's address without its key
        bank = members(cli)[to_hex(subject_id("uscc:BANK1"))]
        impostor = PsiIdentity(_ClaimingAccount(Account.create(), bank), lambda address: True)  # type: ignore[arg-type]
        with pytest.raises(PeerRefused, match="authentication failed: the signature is not"):
            psi_query(A[:3], "127.0.0.1", port, identity=impostor, timeout=30)
        client = query(cli, ids_files["b"], port, "bank")  # a member is still served
    finally:
        code, out, err = finish(server)
    assert client.returncode == 0, client.stderr
    assert code == 0, err
    assert len(json.loads(out)) == 1  # the refused peers ran no job


class _ClaimingAccount:
    """An account that says it is `address` but signs with another key."""

    def __init__(self, account: Any, address: str) -> None:
        self._account = account
        self.address = address

    def sign_message(self, message: Any) -> Any:
        return self._account.sign_message(message)


@pytest.mark.chain
def test_an_oversized_query_is_refused(cli: Any, ids_files: dict[str, Path]) -> None:
    (port,) = free_ports(1)
    server = start_server(cli, ids_files["a"], port, "--max-query", "6")
    try:
        too_many = query(cli, ids_files["b"], port, "bank")  # 250 ids
        assert server.poll() is None, (too_many.stderr, finish(server))
        # a frame announcing 1 GiB is refused from its header, before anything is read
        answer = raw_exchange(port, [struct.pack(">I", 1 << 30)])
        within = query(cli, ids_files["small"], port, "bank")
    finally:
        code, out, err = finish(server)
    assert too_many.returncode == 1 and "a query of 250 ids exceeds this holder's cap of 6" in too_many.stderr
    assert "Traceback" not in too_many.stderr
    assert b"a HELLO frame of 1073741824 bytes; at most 4096 allowed" in answer
    assert within.returncode == 0, within.stderr
    assert code == 0, err
    assert json.loads(within.stdout)["shared"] == sorted(A[:6])


@pytest.mark.chain
def test_queries_beyond_the_rate_are_refused_per_member(cli: Any, ids_files: dict[str, Path]) -> None:
    (port,) = free_ports(1)
    server = start_server(cli, ids_files["a"], port, "--max-queries", "2", "--runs", "3")
    try:
        first = [query(cli, ids_files["small"], port, "bank") for _ in range(2)]
        third = query(cli, ids_files["small"], port, "bank")
        other = query(cli, ids_files["small"], port, "ship")  # another member has its own quota
    finally:
        code, out, err = finish(server)
    assert all(r.returncode == 0 for r in first), [r.stderr for r in first]
    assert third.returncode == 1 and "rate limit" in third.stderr and "has had 2 PSI runs" in third.stderr
    assert other.returncode == 0, other.stderr
    assert code == 0, err
    runs = json.loads(out)
    assert len(runs) == 3 and len({r["job_id"] for r in runs}) == 3  # each run is its own logged job


@pytest.mark.chain
@pytest.mark.parametrize("command", ["serve", "query"])
@pytest.mark.parametrize("timeout", ["-1", "0", "nan", "inf"])
def test_a_timeout_that_is_not_a_positive_number_is_one_error_line(
    cli: Any, ids_files: dict[str, Path], command: str, timeout: str
) -> None:
    """Before, a negative or NaN --timeout reached the socket and was reported as a bug (ValueError)."""
    (port,) = free_ports(1)
    args = ("psi", command, "--ids", str(ids_files["small"]), "--port", str(port), "--timeout", timeout)
    result = cli(*args, account="bank", ok=False)
    assert result.exit_code == 1, result.stderr
    assert result.stderr == f"error: the PSI timeout must be a positive number of seconds; got {float(timeout)!r}.\n"
    with pytest.raises(PrivacyError, match="could not reach"):  # nothing listens: the serve above never bound
        psi_query(A[:3], "127.0.0.1", port, identity=stranger(), timeout=0.5)


def handshake_then_request(port: int, n: int, request: bytes) -> bytes:
    """An authenticated client that announces `n` ids and then sends `request` as its REQUEST frame."""
    from privacy import psi

    me = Account.create()
    nc = "0x" + "ab" * 32
    deadline = time.monotonic() + 30
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        hello = {"version": psi.PROTOCOL_VERSION, "n": n, "member": me.address, "nonce": nc}
        psi._send(conn, psi.HELLO, json.dumps(hello).encode())
        ch = psi._expect_json(conn, psi.CHALLENGE, psi.SMALL_FRAME, deadline)
        mine = "0x" + "cd" * 32
        text = psi._auth_text("query", ch["member"], me.address, n, ch["n_serve"], nc, ch["nonce"], mine)
        psi._send(conn, psi.AUTH, json.dumps({"commitment": mine, "signature": psi._sign(me, text)}).encode())
        psi._expect(conn, psi.SETUP, psi.MAX_FRAME, deadline)
        psi._send(conn, psi.REQUEST, request)
        with pytest.raises(PeerRefused) as refused:
            psi._expect(conn, psi.RESPONSE, psi.MAX_FRAME, deadline)
    return str(refused.value).encode()


def test_a_request_larger_than_announced_or_malformed_is_refused_and_the_server_goes_on() -> None:
    from privacy.psi import PsiServer, _Client

    server = PsiServer(A, PsiIdentity(Account.create(), lambda address: True))
    with serving_once(server, timeout=30) as (port, done):
        too_many = _Client(B[:10]).request()  # 10 blinded ids after a HELLO announcing 2
        assert b"the REQUEST holds 10 ids; the HELLO announced 2" in handshake_then_request(port, 2, too_many)
        assert b"malformed REQUEST" in handshake_then_request(port, 2, b"\xff" * 40)
        run = psi_query(B, "127.0.0.1", port, identity=stranger(), timeout=30)  # still serving
    assert run.shared == set(A) & set(B) and len(done["runs"]) == 1


def test_an_anonymous_peer_that_never_authenticates_holds_the_server_for_the_handshake_only() -> None:
    """The server answers one connection at a time: a peer that connects and sends nothing (or only its HELLO)
    is dropped after handshake_s, not after the run's timeout, and the member waiting behind it is served."""
    from privacy.psi import PsiServer

    server = PsiServer(A, PsiIdentity(Account.create(), lambda address: True), handshake_s=1.0)
    with serving_once(server, timeout=60) as (port, done):
        silent = socket.create_connection(("127.0.0.1", port), timeout=30)
        hello_only = socket.create_connection(("127.0.0.1", port), timeout=30)
        hello = {"version": 2, "n": 3, "member": Account.create().address, "nonce": "0x" + "ab" * 32}
        hello_only.sendall(frame(1, json.dumps(hello).encode()))
        started = time.monotonic()
        run = psi_query(B, "127.0.0.1", port, identity=stranger(), timeout=60)
        waited = time.monotonic() - started
        silent.settimeout(5)
        assert silent.recv(100) == b""  # dropped by the server
        silent.close()
        hello_only.close()
    assert run.shared == set(A) & set(B) and len(done["runs"]) == 1
    assert waited < 10, f"the member waited {waited:.1f} s behind two silent peers"
    with pytest.raises(InvalidInput, match="timeout must be a positive number"):
        PsiServer(A, stranger(), handshake_s=0)


def test_a_non_member_learns_neither_the_set_size_nor_the_commitment() -> None:
    """The claimed address is checked before the CHALLENGE (which carries the server's set size and input
    commitment): a non-member's HELLO gets one ERROR frame, and the member after it is served."""
    from privacy import psi
    from privacy.psi import PsiServer

    member = Account.create()
    server = PsiServer(A, PsiIdentity(Account.create(), lambda address: address == member.address))
    with serving_once(server, timeout=30) as (port, done):
        hello = {"version": psi.PROTOCOL_VERSION, "n": 3, "member": Account.create().address, "nonce": "0x" + "ab" * 32}
        answer = raw_exchange(port, [frame(psi.HELLO, json.dumps(hello).encode())])
        run = psi_query(B, "127.0.0.1", port, identity=PsiIdentity(member, lambda address: True), timeout=30)
    (length,) = struct.unpack(">I", answer[:4])
    assert len(answer) == 4 + length and answer[4] == psi.ERROR  # one frame: no CHALLENGE
    assert answer[5:] == f"{hello['member']} is not an active consortium member".encode()
    assert run.shared == set(A) & set(B) and len(done["runs"]) == 1


@pytest.mark.chain
def test_a_cap_or_an_id_list_beyond_what_a_frame_holds_is_refused_before_any_run(cli: Any, tmp_path: Path) -> None:
    """Before, --max-query 10^6 was taken and a query that large failed mid-run, after the handshake and the
    server's setup, at its REQUEST frame (16 MiB)."""
    from privacy.psi import MAX_IDS

    (port,) = free_ports(1)
    small = tmp_path / "small.txt"
    small.write_text("\n".join(A[:3]) + "\n")
    args = ("psi", "serve", "--ids", str(small), "--port", str(port), "--max-query", str(MAX_IDS + 1))
    result = cli(*args, account="plat", ok=False)
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"error: PSI limits: max_query is at most {MAX_IDS:,} ids (a 16 MiB frame); got {MAX_IDS + 1:,}.\n"
    )
    many = [to_hex(keccak(text=str(i))) for i in range(MAX_IDS + 1)]
    with pytest.raises(InvalidInput, match=f"query: a PSI run holds at most {MAX_IDS:,} ids on each side"):
        psi_query(many, "127.0.0.1", port, identity=stranger(), timeout=1)  # refused before connecting
