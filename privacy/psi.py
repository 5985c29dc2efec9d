"""Entity alignment: private set intersection of subject ids (ECDH PSI, openmined-psi).

Two holders learn which subject ids they share and nothing else about each
other's lists (beyond their sizes, which ECDH PSI reveals). The holder that
serves (`psi_serve`) blinds its ids with its key; the querying holder
(`psi_query`) blinds its own, learns the intersection, and sends it back so
that both end with the same shared list. Security model: honest-but-curious,
like the MPC parties.

Wire format over one TCP connection, every message a frame
`u32 length ‖ u8 kind ‖ payload`:
    query → serve   HELLO     {"version": 1, "n": <query set size>}
    serve → query   SETUP     ServerSetup protobuf
    query → serve   REQUEST   Request protobuf
    serve → query   RESPONSE  Response protobuf
    query → serve   RESULT    {"shared": [ids in the intersection]}
"""

from __future__ import annotations

import json
import socket
import struct
import time
from collections.abc import Iterable
from typing import Any

from creditshare.core.errors import CreditShareError, InvalidInput, PrivacyError

PROTOCOL_VERSION = 1
FPR = 1e-9  # false-positive rate of the server setup (RAW: only hash collisions)
MAX_FRAME = 1 << 30
HELLO, SETUP, REQUEST, RESPONSE, RESULT, ERROR = range(1, 7)
_KIND_NAMES = {
    HELLO: "HELLO",
    SETUP: "SETUP",
    REQUEST: "REQUEST",
    RESPONSE: "RESPONSE",
    RESULT: "RESULT",
    ERROR: "ERROR",
}


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


def psi_serve(ids: Iterable[str], port: int, *, host: str = "127.0.0.1", timeout: float = 60.0) -> set[str]:
    """Serve one PSI run on host:port; return the shared ids the querying holder reports."""
    server = _Server(_clean_ids(ids, "serve"))
    with socket.create_server((host, port)) as listener:
        listener.settimeout(timeout)
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            raise PrivacyError(f"PSI: no holder connected to {host}:{port} within {timeout:g} s.") from None
    with conn:
        conn.settimeout(timeout)
        hello = _expect_json(conn, HELLO)
        if hello.get("version") != PROTOCOL_VERSION or not isinstance(hello.get("n"), int):
            _send(conn, ERROR, b"unsupported PSI protocol version")
            raise PrivacyError(
                f"PSI: peer speaks protocol {hello.get('version')!r}; this holder speaks {PROTOCOL_VERSION}."
            )
        _send(conn, SETUP, server.setup(hello["n"]))
        _send(conn, RESPONSE, server.respond(_expect(conn, REQUEST)))
        result = _expect_json(conn, RESULT)
    shared = result.get("shared")
    if not isinstance(shared, list):
        raise PrivacyError("PSI: malformed RESULT from the querying holder.")
    known = set(server.ids)
    if not set(shared) <= known:
        raise PrivacyError("PSI: the querying holder reported ids this holder does not hold.")
    return set(shared)


def psi_query(ids: Iterable[str], host: str, port: int, *, timeout: float = 60.0) -> set[str]:
    """Query the holder serving on host:port; return the shared ids (and tell the server)."""
    client = _Client(_clean_ids(ids, "query"))
    conn = _connect(host, port, timeout)
    with conn:
        conn.settimeout(timeout)
        _send(conn, HELLO, json.dumps({"version": PROTOCOL_VERSION, "n": len(client.ids)}).encode())
        request = client.request()  # computed while the server computes its setup
        setup = _expect(conn, SETUP)
        _send(conn, REQUEST, request)
        shared = client.intersection(setup, _expect(conn, RESPONSE))
        _send(conn, RESULT, json.dumps({"shared": sorted(shared)}).encode())
    return shared


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


def _recv_exact(conn: socket.socket, n: int, waiting_for: str) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        try:
            chunk = conn.recv(min(n - len(buf), 1 << 20))
        except TimeoutError:
            raise PrivacyError(f"PSI: timed out waiting for {waiting_for}.") from None
        except OSError as err:
            raise PrivacyError(f"PSI: connection lost waiting for {waiting_for}: {err}.") from err
        if not chunk:
            raise PrivacyError(f"PSI: peer closed the connection before {waiting_for}.")
        buf += chunk
    return bytes(buf)


def _expect(conn: socket.socket, kind: int) -> bytes:
    name = _KIND_NAMES[kind]
    (length,) = struct.unpack(">I", _recv_exact(conn, 4, name))
    if not 1 <= length <= MAX_FRAME:
        raise PrivacyError(f"PSI: bad frame length {length} for {name}.")
    frame = _recv_exact(conn, length, name)
    if frame[0] == ERROR:
        raise PrivacyError(f"PSI: peer aborted: {frame[1:].decode(errors='replace')}.")
    if frame[0] != kind:
        raise PrivacyError(f"PSI: expected {name}; got {_KIND_NAMES.get(frame[0], frame[0])}.")
    return frame[1:]


def _expect_json(conn: socket.socket, kind: int) -> dict[str, Any]:
    try:
        data = json.loads(_expect(conn, kind))
    except ValueError as err:
        raise PrivacyError(f"PSI: malformed {_KIND_NAMES[kind]} message.") from err
    if not isinstance(data, dict):
        raise PrivacyError(f"PSI: malformed {_KIND_NAMES[kind]} message.")
    return data


def read_ids(path: str) -> list[str]:
    """One subject id per line (blank lines ignored)."""
    try:
        with open(path, encoding="utf-8") as fh:
            return [ln.strip() for ln in fh if ln.strip()]
    except OSError as err:
        raise InvalidInput(f"cannot read ids file {path}: {err.strerror}.") from err


def main(argv: list[str] | None = None) -> int:
    """`python -m privacy.psi serve|query --ids FILE ...`: one holder's side of a PSI run."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m privacy.psi")
    parser.add_argument("role", choices=("serve", "query"))
    parser.add_argument("--ids", required=True, help="file with one subject id per line")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--output", help="write the shared ids here, one per line")
    args = parser.parse_args(argv)
    try:
        ids = read_ids(args.ids)
        if args.role == "serve":
            shared = psi_serve(ids, args.port, host=args.host, timeout=args.timeout)
        else:
            shared = psi_query(ids, args.host, args.port, timeout=args.timeout)
    except CreditShareError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.writelines(s + "\n" for s in sorted(shared))
    print(f"{args.role}: {len(shared)} shared ids")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
