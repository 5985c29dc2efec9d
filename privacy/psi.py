"""Entity alignment: private set intersection of subject ids (ECDH PSI, openmined-psi).

Two holders learn which subject ids they share and nothing else about each
other's lists (beyond their sizes, which ECDH PSI reveals). The holder that
serves (`psi_serve`) blinds its ids with its key; the querying holder
(`psi_query`) blinds its own, learns the intersection, and sends it back so
that both end with the same shared list. Security model: honest-but-curious,
like the MPC parties.

Subject ids are hashes of public registration numbers, so an answer to anyone
would let a stranger enumerate a holder's customers. The server therefore
answers only authenticated consortium members (each side signs the other's
fresh nonce with its member key and checks on chain that the other is an
active member), caps the query size (`PsiLimits.max_query`, checked on the
HELLO before any work, and frames sized from it), and limits each member to
`max_queries` runs per `window_s`. Every run ends with a job record like an
MPC job's (participants, a commitment to each side's own list, the hash of
the shared ids), which the CLI logs on chain (MpcJobLog).

Wire format over one TCP connection, every message a frame
`u32 length ‖ u8 kind ‖ payload`:
    query → serve   HELLO      {"version": 2, "n": <query set size>, "member": <0x…>, "nonce": <0x…32>}
    serve → query   CHALLENGE  {"member", "nonce", "n_serve", "commitment", "signature"}
    query → serve   AUTH       {"commitment", "signature"}
    serve → query   SETUP      ServerSetup protobuf
    query → serve   REQUEST    Request protobuf (at most n elements)
    serve → query   RESPONSE   Response protobuf
    query → serve   RESULT     {"shared": [ids in the intersection]}
Either side may send ERROR <reason> instead and close.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import socket
import struct
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, keccak, to_checksum_address

from creditshare.core.errors import InvalidInput, PrivacyError
from privacy.config import canonical_json
from privacy.files import read_text
from privacy.record import input_commitment, job_record, output_hash, write_json_atomic

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 2
FPR = 1e-9  # false-positive rate of the server setup (RAW: only hash collisions)
PURPOSE = "entity alignment: private set intersection of subject ids"
# the largest frame either side reads, whatever the sizes
MAX_FRAME = 16 << 20
SMALL_FRAME = 4096  # HELLO, CHALLENGE, AUTH, ERROR
BYTES_PER_ID = 80  # a blinded point in a protobuf (33 bytes + framing) or a hex id in JSON (66 + 4), rounded up
# the most ids either side may hold in one run: every frame then fits MAX_FRAME at BYTES_PER_ID an id (a larger
# list would be refused mid-run, after the handshake and the server's setup)
MAX_IDS = (MAX_FRAME - SMALL_FRAME) // BYTES_PER_ID
DEFAULT_MAX_QUERY = 20_000
DEFAULT_MAX_QUERIES = 3
DEFAULT_WINDOW_S = 86_400.0
# seconds a connecting peer has for its HELLO and its AUTH: until it has authenticated it is anonymous, and one
# connection is served at a time, so it must not hold the server for the whole run's timeout
HANDSHAKE_S = 10.0
HELLO, SETUP, REQUEST, RESPONSE, RESULT, ERROR, CHALLENGE, AUTH = range(1, 9)
_KIND_NAMES = {
    HELLO: "HELLO",
    SETUP: "SETUP",
    REQUEST: "REQUEST",
    RESPONSE: "RESPONSE",
    RESULT: "RESULT",
    ERROR: "ERROR",
    CHALLENGE: "CHALLENGE",
    AUTH: "AUTH",
}


class PeerRefused(PrivacyError):
    """The serving holder refused this peer (not authenticated, query too large, over its rate)."""


@dataclass(frozen=True)
class PsiIdentity:
    """Who this holder is (its member key signs the handshake) and how it checks that a peer is an active
    consortium member (on chain: Consortium.isActive)."""

    account: LocalAccount
    is_member: Callable[[str], bool]

    @property
    def address(self) -> str:
        return to_checksum_address(self.account.address)


@dataclass(frozen=True)
class PsiLimits:
    """What the serving holder answers: at most `max_query` ids a query, `max_queries` runs per member per
    `window_s` seconds."""

    max_query: int = DEFAULT_MAX_QUERY
    max_queries: int = DEFAULT_MAX_QUERIES
    window_s: float = DEFAULT_WINDOW_S

    def __post_init__(self) -> None:
        if self.max_query < 1 or self.max_queries < 1 or not self.window_s > 0:
            raise InvalidInput("PSI limits: max_query and max_queries must be at least 1 and window_s positive.")
        if self.max_query > MAX_IDS:
            raise InvalidInput(
                f"PSI limits: max_query is at most {MAX_IDS:,} ids (a 16 MiB frame); got {self.max_query:,}."
            )


@dataclass
class RateLimiter:
    """Runs per member in a sliding window (in memory: a serving process's own count)."""

    limits: PsiLimits
    _seen: dict[str, deque[float]] = field(default_factory=dict)

    def allow(self, member: str, now: float) -> bool:
        q = self._seen.setdefault(member, deque())
        while q and q[0] <= now - self.limits.window_s:
            q.popleft()
        if len(q) >= self.limits.max_queries:
            return False
        q.append(now)
        return True


@dataclass(frozen=True)
class PsiRun:
    """One finished PSI run: the peer, the shared ids and the job output (record for MpcJobLog)."""

    role: str
    peer: str
    shared: set[str]
    output: dict[str, Any]

    @property
    def record(self) -> dict[str, Any]:
        return dict(self.output["record"])


def _psi() -> Any:
    import private_set_intersection.python as psi  # heavy native module: load on use

    return psi


def _clean_ids(ids: Iterable[str], who: str) -> list[str]:
    out = []
    for s in ids:
        if not isinstance(s, str) or not s:
            raise InvalidInput(f"{who}: PSI ids must be non-empty strings.")
        out.append(s.lower())
    unique = sorted(set(out))
    if len(unique) != len(out):
        raise InvalidInput(f"{who}: PSI id list has {len(out) - len(unique)} duplicates.")
    if len(unique) > MAX_IDS:
        raise InvalidInput(
            f"{who}: a PSI run holds at most {MAX_IDS:,} ids on each side (every frame within 16 MiB); "
            f"got {len(unique):,}: split the list."
        )
    return unique


class _Server:
    """The serving holder's side of one PSI run (pure message functions)."""

    def __init__(self, ids: list[str]) -> None:
        psi = _psi()
        self.ids = ids
        self._server = psi.server.CreateWithNewKey(True)

    def setup(self, n_query: int) -> bytes:
        psi = _psi()
        msg = self._server.CreateSetupMessage(FPR, max(n_query, 1), self.ids, psi.DataStructure.RAW)
        return bytes(msg.SerializeToString())

    def respond(self, request: bytes) -> bytes:
        psi = _psi()
        req = psi.Request()
        req.ParseFromString(request)
        return bytes(self._server.ProcessRequest(req).SerializeToString())


class _Client:
    """The querying holder's side of one PSI run."""

    def __init__(self, ids: list[str]) -> None:
        psi = _psi()
        self.ids = ids
        self._client = psi.client.CreateWithNewKey(True)

    def request(self) -> bytes:
        return bytes(self._client.CreateRequest(self.ids).SerializeToString())

    def intersection(self, setup: bytes, response: bytes) -> set[str]:
        psi = _psi()
        s = psi.ServerSetup()
        s.ParseFromString(setup)
        r = psi.Response()
        r.ParseFromString(response)
        return {self.ids[i] for i in self._client.GetIntersection(s, r)}


def psi_intersect(mine: Iterable[str], theirs: Iterable[str]) -> set[str]:
    """Both sides in one process, exchanging the same serialized messages as over TCP."""
    server = _Server(_clean_ids(theirs, "server"))
    client = _Client(_clean_ids(mine, "client"))
    setup = server.setup(len(client.ids))
    response = server.respond(client.request())
    return client.intersection(setup, response)


def _auth_text(role: str, server: str, client: str, n: int, n_serve: int, nc: str, ns: str, commitment: str) -> str:
    # the role is signed too, so that one side's signature can never be replayed as the other's
    return (
        f"creditshare-psi v{PROTOCOL_VERSION} {role}: server {server} client {client} n {n} n_serve {n_serve} "
        f"nonce_query {nc} nonce_serve {ns} commitment {commitment}"
    )


def _sign(account: LocalAccount, text: str) -> str:
    return "0x" + bytes(account.sign_message(encode_defunct(text=text)).signature).hex()


def _signer(text: str, signature: Any) -> str | None:
    try:
        return to_checksum_address(Account.recover_message(encode_defunct(text=text), signature=str(signature)))
    except Exception:  # noqa: BLE001 - any malformed signature is a failed authentication
        return None


def _nonce() -> str:
    return "0x" + secrets.token_hex(32)


def _is_nonce(value: Any) -> bool:
    if not (isinstance(value, str) and value.startswith("0x") and len(value) == 66):
        return False
    try:
        bytes.fromhex(value[2:])
    except ValueError:
        return False
    return True


def _run_output(
    role: str,
    ids: list[str],
    salt: bytes,
    *,
    server: str,
    client: str,
    n: int,
    n_serve: int,
    nc: str,
    ns: str,
    commitments: tuple[str, str],
    shared: set[str],
) -> dict[str, Any]:
    """The job output of a run, identical at both sides but for the role and the own salt."""
    revealed = {"shared": sorted(shared), "nonces": [nc, ns]}  # the nonces keep the hash from being guessed
    digest = output_hash(revealed)
    label = f"psi-{nc[2:18]}-{ns[2:18]}"
    config = canonical_json(
        {"protocol": "creditshare-psi", "version": PROTOCOL_VERSION, "fpr": FPR, "n_query": n, "n_serve": n_serve}
    )
    record = job_record(
        job_id=label,
        participants=[server, client],
        purpose=PURPOSE,
        input_commitments=list(commitments),
        output_hash=digest,
        computation="psi",
        config_hash="0x" + keccak(config).hex(),
    )
    return {
        "job_id": label,
        "computation": "psi",
        "role": role,
        "config_hash": record["configHash"],
        "revealed": revealed,
        "output_hash": digest,
        "record": record,
        "own_input_salt": "0x" + salt.hex(),
    }


def _commit(ids: list[str]) -> tuple[bytes, str]:
    salt = secrets.token_bytes(32)
    return salt, input_commitment(salt, canonical_json(ids))


class PsiServer:
    """The serving holder: answers authenticated members, within its limits, one connection at a time."""

    def __init__(
        self,
        ids: Iterable[str],
        identity: PsiIdentity,
        limits: PsiLimits | None = None,
        *,
        handshake_s: float = HANDSHAKE_S,
    ) -> None:
        self.server = _Server(_clean_ids(ids, "serve"))
        self.identity = identity
        self.limits = limits or PsiLimits()
        self.rate = RateLimiter(self.limits)
        self.handshake_s = check_timeout(handshake_s)

    def serve(
        self,
        port: int,
        *,
        host: str = "127.0.0.1",
        timeout: float = 60.0,
        runs: int = 1,
        on_run: Callable[[PsiRun], None] | None = None,
    ) -> list[PsiRun]:
        """Serve until `runs` runs have finished; a refused or failed peer does not count and the server goes
        on. Raises PrivacyError if no peer connects for `timeout` seconds before the runs are done."""
        check_timeout(timeout)
        done: list[PsiRun] = []
        try:
            listener = socket.create_server((host, port))
        except OSError as err:
            raise PrivacyError(f"PSI: cannot listen on {host}:{port}: {err.strerror}.") from err
        with listener:
            listener.settimeout(timeout)
            while len(done) < runs:
                try:
                    conn, peer = listener.accept()
                except TimeoutError:
                    raise PrivacyError(
                        f"PSI: no holder connected to {host}:{port} within {timeout:g} s "
                        f"({len(done)} of {runs} runs done)."
                    ) from None
                with conn:
                    try:
                        run = self.answer(conn, timeout)
                    except PeerRefused as err:
                        log.warning("PSI: refused %s:%s: %s", peer[0], peer[1], err)
                        continue
                    except PrivacyError as err:
                        log.warning("PSI: run with %s:%s failed: %s", peer[0], peer[1], err)
                        continue
                done.append(run)
                if on_run is not None:
                    on_run(run)
        return done

    def answer(self, conn: socket.socket, timeout: float) -> PsiRun:
        """One run over an accepted connection (the whole run bounded by `timeout`; the handshake, before the
        peer has authenticated, by `handshake_s`)."""
        deadline = time.monotonic() + timeout
        handshake = min(deadline, time.monotonic() + self.handshake_s)
        hello = _expect_json(conn, HELLO, SMALL_FRAME, handshake)
        n, member, nc = hello.get("n"), hello.get("member"), hello.get("nonce")
        if hello.get("version") != PROTOCOL_VERSION:
            raise _refuse(
                conn,
                f"this holder speaks PSI protocol {PROTOCOL_VERSION} (authenticated members only); "
                f"the peer sent {hello.get('version')!r}",
            )
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise _refuse(conn, f"HELLO n must be a positive integer; got {n!r}")
        if n > self.limits.max_query:
            raise _refuse(conn, f"a query of {n} ids exceeds this holder's cap of {self.limits.max_query}")
        if not (isinstance(member, str) and is_address(member)) or not _is_nonce(nc):
            raise _refuse(conn, "authentication required: HELLO needs a member address and a 32-byte nonce")
        client, nc = to_checksum_address(member), str(nc)
        server = self.identity.address
        # before the challenge (which carries this holder's set size and commitment): the claimed address must be
        # another active member; its key is proven by AUTH below
        if client == server:
            raise _refuse(conn, "a holder cannot query itself")
        if not self.identity.is_member(client):
            raise _refuse(conn, f"{client} is not an active consortium member")
        ns = _nonce()
        n_serve = len(self.server.ids)
        salt, commitment = _commit(self.server.ids)
        text = _auth_text("serve", server, client, n, n_serve, nc, ns, commitment)
        challenge = {
            "member": server,
            "nonce": ns,
            "n_serve": n_serve,
            "commitment": commitment,
            "signature": _sign(self.identity.account, text),
        }
        _send(conn, CHALLENGE, json.dumps(challenge).encode())
        auth = _expect_json(conn, AUTH, SMALL_FRAME, handshake)
        their_commitment = auth.get("commitment")
        if not _is_nonce(their_commitment):
            raise _refuse(conn, "authentication failed: AUTH needs a 32-byte commitment")
        signed = _auth_text("query", server, client, n, n_serve, nc, ns, str(their_commitment))
        if _signer(signed, auth.get("signature")) != client:
            raise _refuse(conn, f"authentication failed: the signature is not {client}'s")
        if not self.rate.allow(client, time.monotonic()):
            raise _refuse(
                conn,
                f"rate limit: {client} has had {self.limits.max_queries} PSI runs in the last "
                f"{self.limits.window_s:g} s",
            )
        _send(conn, SETUP, self.server.setup(n))
        request = _expect(conn, REQUEST, _cap(n), deadline)
        try:
            parsed = _psi().Request()
            parsed.ParseFromString(request)
        except Exception as err:  # noqa: BLE001 - a malformed protobuf from the peer
            raise _refuse(conn, "malformed REQUEST") from err
        if len(parsed.encrypted_elements) > n:
            raise _refuse(conn, f"the REQUEST holds {len(parsed.encrypted_elements)} ids; the HELLO announced {n}")
        try:
            response = self.server.respond(request)
        except Exception as err:  # noqa: BLE001 - points that are not on the curve, and the like
            raise _refuse(conn, "malformed REQUEST") from err
        _send(conn, RESPONSE, response)
        result = _expect_json(conn, RESULT, _cap(n), deadline)
        shared = result.get("shared")
        if not isinstance(shared, list) or not all(isinstance(x, str) for x in shared) or len(shared) > n:
            raise PrivacyError("PSI: malformed RESULT from the querying holder.")
        if not set(shared) <= set(self.server.ids):
            raise PrivacyError("PSI: the querying holder reported ids this holder does not hold.")
        output = _run_output(
            "serve",
            self.server.ids,
            salt,
            server=server,
            client=client,
            n=n,
            n_serve=n_serve,
            nc=nc,
            ns=ns,
            commitments=(commitment, str(their_commitment)),
            shared=set(shared),
        )
        return PsiRun("serve", client, set(shared), output)


def _cap(n: int) -> int:
    return min(MAX_FRAME, SMALL_FRAME + BYTES_PER_ID * n)


def _refuse(conn: socket.socket, reason: str) -> PeerRefused:
    """Tell the peer why, and return the error to raise."""
    try:
        _send(conn, ERROR, reason.encode())
    except PrivacyError:
        pass  # the peer is gone already
    return PeerRefused(f"PSI: {reason}.")


def check_timeout(timeout: float) -> float:
    """`timeout` (seconds) if it is a finite positive number, else InvalidInput (before any socket is opened)."""
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout < math.inf:
        raise InvalidInput(f"the PSI timeout must be a positive number of seconds; got {timeout!r}.")
    return float(timeout)


def psi_serve(
    ids: Iterable[str],
    port: int,
    *,
    identity: PsiIdentity,
    host: str = "127.0.0.1",
    timeout: float = 60.0,
    limits: PsiLimits | None = None,
    runs: int = 1,
    on_run: Callable[[PsiRun], None] | None = None,
) -> list[PsiRun]:
    """Serve `runs` PSI runs on host:port to authenticated members; return them."""
    check_timeout(timeout)
    return PsiServer(ids, identity, limits).serve(port, host=host, timeout=timeout, runs=runs, on_run=on_run)


def psi_query(ids: Iterable[str], host: str, port: int, *, identity: PsiIdentity, timeout: float = 60.0) -> PsiRun:
    """Query the holder serving on host:port; return the run (shared ids, job output) and tell the server."""
    check_timeout(timeout)
    client = _Client(_clean_ids(ids, "query"))
    me = identity.address
    n = len(client.ids)
    nc = _nonce()
    conn = _connect(host, port, timeout)
    deadline = time.monotonic() + timeout
    with conn:
        _send(conn, HELLO, json.dumps({"version": PROTOCOL_VERSION, "n": n, "member": me, "nonce": nc}).encode())
        challenge = _expect_json(conn, CHALLENGE, SMALL_FRAME, deadline)
        server, ns, n_serve = challenge.get("member"), challenge.get("nonce"), challenge.get("n_serve")
        their_commitment = challenge.get("commitment")
        if (
            not (isinstance(server, str) and is_address(server))
            or not _is_nonce(ns)
            or not _is_nonce(their_commitment)
            or not isinstance(n_serve, int)
        ):
            raise PrivacyError("PSI: malformed CHALLENGE from the serving holder.")
        server = to_checksum_address(server)
        text = _auth_text("serve", server, me, n, n_serve, nc, str(ns), str(their_commitment))
        if _signer(text, challenge.get("signature")) != server:
            raise PrivacyError(f"PSI: the serving holder's signature is not {server}'s; not querying it.")
        if not identity.is_member(server):
            raise PrivacyError(f"PSI: the serving holder {server} is not an active consortium member.")
        salt, commitment = _commit(client.ids)
        signature = _sign(identity.account, _auth_text("query", server, me, n, n_serve, nc, str(ns), commitment))
        _send(conn, AUTH, json.dumps({"commitment": commitment, "signature": signature}).encode())
        request = client.request()  # computed while the server computes its setup
        setup = _expect(conn, SETUP, min(MAX_FRAME, SMALL_FRAME + BYTES_PER_ID * max(n_serve, 1)), deadline)
        _send(conn, REQUEST, request)
        shared = client.intersection(setup, _expect(conn, RESPONSE, _cap(n), deadline))
        _send(conn, RESULT, json.dumps({"shared": sorted(shared)}).encode())
    output = _run_output(
        "query",
        client.ids,
        salt,
        server=server,
        client=me,
        n=n,
        n_serve=n_serve,
        nc=nc,
        ns=str(ns),
        commitments=(str(their_commitment), commitment),
        shared=shared,
    )
    return PsiRun("query", server, shared, output)


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection((host, port), timeout=timeout)
        except OSError:
            if time.monotonic() >= deadline:
                raise PrivacyError(
                    f"PSI: could not reach the serving holder at {host}:{port} within {timeout:g} s; is it running?"
                ) from None
            time.sleep(0.1)


def _send(conn: socket.socket, kind: int, payload: bytes) -> None:
    try:
        conn.sendall(struct.pack(">IB", len(payload) + 1, kind) + payload)
    except OSError as err:
        raise PrivacyError(f"PSI: connection lost while sending {_KIND_NAMES[kind]}: {err}.") from err


def _recv_exact(conn: socket.socket, n: int, waiting_for: str, deadline: float) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise PrivacyError(f"PSI: timed out waiting for {waiting_for}.")
        try:
            conn.settimeout(left)
            chunk = conn.recv(min(n - len(buf), 1 << 20))
        except TimeoutError:
            raise PrivacyError(f"PSI: timed out waiting for {waiting_for}.") from None
        except OSError as err:
            raise PrivacyError(f"PSI: connection lost waiting for {waiting_for}: {err}.") from err
        if not chunk:
            raise PrivacyError(f"PSI: peer closed the connection before {waiting_for}.")
        buf += chunk
    return bytes(buf)


def _expect(conn: socket.socket, kind: int, max_len: int, deadline: float) -> bytes:
    """The payload of the next frame, which must be `kind` (or ERROR) and at most `max_len` bytes."""
    name = _KIND_NAMES[kind]
    (length,) = struct.unpack(">I", _recv_exact(conn, 4, name, deadline))
    if not 1 <= length <= max_len + 1:  # refused before reading (or allocating) any of it
        raise _refuse(conn, f"a {name} frame of {length} bytes; at most {max_len} allowed")
    frame = _recv_exact(conn, length, name, deadline)
    if frame[0] == ERROR:
        raise PeerRefused(f"PSI: the peer refused: {frame[1:].decode(errors='replace')}.")
    if frame[0] != kind:
        raise _refuse(conn, f"expected {name}; got {_KIND_NAMES.get(frame[0], frame[0])}")
    return frame[1:]


def _expect_json(conn: socket.socket, kind: int, max_len: int, deadline: float) -> dict[str, Any]:
    try:
        data = json.loads(_expect(conn, kind, max_len, deadline))
    except ValueError as err:
        raise _refuse(conn, f"malformed {_KIND_NAMES[kind]} message") from err
    if not isinstance(data, dict):
        raise _refuse(conn, f"malformed {_KIND_NAMES[kind]} message")
    return data


def write_run(path: Path, run: PsiRun) -> None:
    """A run's job output (a file `creditshare mpc record` takes, like an MPC party's output)."""
    write_json_atomic(Path(path), run.output)


def read_ids(path: str) -> list[str]:
    """One subject id per line (blank lines ignored); a malformed line is an error naming the file and line."""
    lines = read_text(Path(path), "ids file").splitlines()
    ids = []
    for line_no, line in enumerate(lines, start=1):
        s = line.strip()
        if not s:
            continue
        if not _is_nonce(s):  # the same shape: 0x-prefixed 32-byte hex
            raise InvalidInput(f"ids file {path} line {line_no}: {s[:20]!r} is not a 0x-prefixed 32-byte hex id.")
        ids.append(s)
    return ids


def main(argv: list[str] | None = None) -> int:
    """`python -m privacy.psi serve|query`: one holder's side of a PSI run without a chain.

    The peers are authenticated as with `creditshare psi`, but against an explicit allow-list of member
    addresses (`--allow`, e.g. copied from `creditshare members list`) instead of the chain; the key is read
    from an environment variable, never from argv. `creditshare psi serve|query` also logs each run on chain."""
    import argparse
    import os
    import sys

    parser = argparse.ArgumentParser(prog="python -m privacy.psi")
    parser.add_argument("role", choices=("serve", "query"))
    parser.add_argument("--ids", required=True, help="file with one subject id per line")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--output", help="write the shared ids here, one per line")
    parser.add_argument("--record", help="write the run's job record (JSON) here")
    parser.add_argument("--key-env", default="CREDITSHARE_PSI_KEY", help="environment variable holding the key")
    parser.add_argument("--allow", action="append", default=[], help="a member address accepted as peer")
    parser.add_argument("--max-query", type=int, default=DEFAULT_MAX_QUERY)
    parser.add_argument("--max-queries", type=int, default=DEFAULT_MAX_QUERIES)
    parser.add_argument("--window", type=float, default=DEFAULT_WINDOW_S)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        key = os.environ.get(args.key_env)
        if not key:
            raise InvalidInput(f"set {args.key_env} to this holder's private key (hex).")
        try:
            account = Account.from_key(key)
        except Exception:  # noqa: BLE001 - any malformed key; never echo it
            raise InvalidInput(f"{args.key_env} does not hold a private key (32-byte hex).") from None
        if not args.allow or not all(is_address(a) for a in args.allow):
            raise InvalidInput("--allow needs the address of each member accepted as peer (0x…).")
        allowed = {to_checksum_address(a) for a in args.allow}
        identity = PsiIdentity(account, lambda address: to_checksum_address(address) in allowed)
        ids = read_ids(args.ids)
        if args.role == "serve":
            limits = PsiLimits(args.max_query, args.max_queries, args.window)
            runs = psi_serve(
                ids, args.port, identity=identity, host=args.host, timeout=args.timeout, limits=limits, runs=args.runs
            )
            run = runs[-1]
        else:
            run = psi_query(ids, args.host, args.port, identity=identity, timeout=args.timeout)
    except (InvalidInput, PrivacyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.writelines(s + "\n" for s in sorted(run.shared))
    if args.record:
        write_run(Path(args.record), run)
    print(f"{args.role}: {len(run.shared)} shared ids")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
