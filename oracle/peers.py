"""The transport between oracle daemons: a small HTTP endpoint each (plain sockets, one selector thread).

    POST /sign   {"start": s, "end": B, "digests": ["0x…", …], "leader": "name",
                  "timestamp": t, "nonce": "0x…", "auth": "0x…"}
                 -> 200 {"address": "0x…", "signatures": ["0x…", …]}
                 -> 400 {"error": "…"}  (not signed by an oracle, stale, replayed, not the leader, …)
                 -> 409 {"error": "…"}  (recomputation disagrees, epoch locked, block not seen yet, …)
    GET  /status -> 200 {"id", "name", "address", "checkpoint", "last_round", "lock"}

A /sign request carries `auth`, the leader's signature (EIP-191) over the round, the
chain id, the ScoreOracle address, a timestamp and a nonce (oracle/daemon.py checks
it). A peer signs only reports it has recomputed itself from its own node, and the
leader recovers every signature before using it.

Neither side lets the other hold it (issue #14, findings 3 and 6):

- **Server.** One selector thread reads every connection without blocking; a
  request must arrive whole (headers and body, at most 1 MiB) within
  `request_seconds` of connecting, or the connection is dropped. At most
  `max_connections` are open at once; a complete request is handled by a pool of
  `workers` threads (the handler is the only slow part: a round's recomputation).
  So idle or trickling clients cost a file descriptor each, never a thread.
- **Client.** `ask_signatures` gives each peer one overall deadline (connect,
  send, and the whole reply), caps the reply at MAX_REPLY bytes, and returns as
  soon as `needed` valid replies are in, without waiting for the others.
"""

from __future__ import annotations

import json
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import requests

from creditshare.core.errors import ConfigError, CreditShareError, InvalidInput
from oracle.config import OracleEntry
from scoring.errors import ScoringError

log = logging.getLogger(__name__)

MAX_REQUEST = 1 << 20  # bytes of a request body
MAX_HEADER = 16 << 10  # bytes of a request's or reply's head
MAX_REPLY = 1 << 20  # bytes of a peer's reply
SignHandler = Callable[[dict[str, Any]], dict[str, Any]]
StatusHandler = Callable[[], dict[str, Any]]
Accept = Callable[[OracleEntry, dict[str, Any]], str | None]

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 409: "Conflict", 413: "Payload Too Large"}
_REASONS.update({500: "Internal Server Error", 503: "Service Unavailable"})


class Refused(CreditShareError):
    """A peer will not sign this round; the message says why."""


@dataclass
class _Conn:
    sock: socket.socket
    deadline: float
    data: bytearray = field(default_factory=bytearray)


class _BadRequest(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _parse(data: bytes, max_body: int) -> tuple[str, str, bytes] | None:
    """(method, path, body) once `data` holds a whole request, None while it is incomplete."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        if len(data) > MAX_HEADER:
            raise _BadRequest(400, "request head too large")
        return None
    head = data[:end].decode("latin-1").split("\r\n")
    parts = head[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise _BadRequest(400, "bad request line")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if parts[0] != "POST":
        return parts[0], parts[1], b""
    try:
        length = int(headers.get("content-length", "-1"))
    except ValueError:
        length = -1
    if length < 0:
        raise _BadRequest(400, "bad request: a Content-Length is needed")
    if length > max_body:
        raise _BadRequest(413, f"request larger than {max_body} bytes")
    body = data[end + 4 :]
    if len(body) < length:
        return None
    return parts[0], parts[1], bytes(body[:length])


def _no_constant(name: str) -> Any:
    """JSON's NaN, Infinity and -Infinity are no part of a request."""
    raise ValueError(f"{name} is not a JSON number")


class PeerServer:
    """Serves /sign and /status from a background selector thread and a small worker pool."""

    def __init__(
        self,
        host: str,
        port: int,
        on_sign: SignHandler,
        on_status: StatusHandler,
        *,
        workers: int = 4,
        max_connections: int = 256,
        request_seconds: float = 10.0,
    ) -> None:
        try:
            self.sock = socket.create_server((host, port), reuse_port=False)
        except OSError as err:
            raise ConfigError(
                f"cannot listen on {host}:{port}: {err.strerror} (is another daemon of this id running?)."
            ) from err
        self.sock.setblocking(False)
        self.on_sign, self.on_status = on_sign, on_status
        self.max_connections, self.request_seconds = max_connections, request_seconds
        self.workers = workers
        self.selector = selectors.DefaultSelector()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="oracle-peer")
        self._busy = threading.BoundedSemaphore(workers * 4)  # handled or queued requests
        self._conns: dict[int, _Conn] = {}
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="oracle-peer-server", daemon=True)

    @property
    def open_connections(self) -> int:
        """Connections being read (not yet handed to a worker)."""
        return len(self._conns)

    def start(self) -> None:
        self.selector.register(self.sock, selectors.EVENT_READ)
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout=5)
        for conn in list(self._conns.values()):
            self._drop(conn)
        self.selector.close()
        self.sock.close()
        self.pool.shutdown(wait=False, cancel_futures=True)

    # -- the selector thread -------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            for key, _ in self.selector.select(timeout=0.2):
                if key.fileobj is self.sock:
                    self._accept()
                else:
                    self._read(self._conns[key.fd])
            now = time.monotonic()
            for conn in [c for c in self._conns.values() if c.deadline < now]:
                log.debug("peer connection dropped: no whole request within %.0fs", self.request_seconds)
                self._drop(conn)

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. out of file descriptors: the backlog waits
                return
            if len(self._conns) >= self.max_connections:
                sock.close()
                continue
            sock.setblocking(False)
            conn = _Conn(sock, time.monotonic() + self.request_seconds)
            self._conns[sock.fileno()] = conn
            self.selector.register(sock, selectors.EVENT_READ)

    def _drop(self, conn: _Conn) -> None:
        self._conns.pop(conn.sock.fileno(), None)
        try:
            self.selector.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.sock.close()

    def _read(self, conn: _Conn) -> None:
        try:
            chunk = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(conn)
            return
        conn.data += chunk
        try:
            request = _parse(conn.data, MAX_REQUEST)
        except _BadRequest as err:
            code, message = err.code, str(err)
            self._hand_over(conn, lambda: (code, {"error": message}))
            return
        if request is not None:
            method, path, body = request
            self._hand_over(conn, lambda: self._handle(method, path, body))

    def _hand_over(self, conn: _Conn, answer: Callable[[], tuple[int, dict[str, Any]]]) -> None:
        """Stops reading `conn` and lets a worker answer it (503 at once when every worker is taken)."""
        self._conns.pop(conn.sock.fileno(), None)
        self.selector.unregister(conn.sock)
        conn.sock.setblocking(True)
        conn.sock.settimeout(self.request_seconds)  # a client that does not read its reply is dropped too
        if not self._busy.acquire(blocking=False):
            self._respond(conn.sock, 503, {"error": "busy: try again"})
            return

        def work() -> None:
            try:
                code, reply = answer()
                self._respond(conn.sock, code, reply)
            finally:
                self._busy.release()

        self.pool.submit(work)

    # -- a worker ------------------------------------------------------------------

    def _handle(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        if method == "GET" and path == "/status":
            return 200, self.on_status()
        if method != "POST" or path != "/sign":
            return 404, {"error": "unknown path"}
        try:
            request = json.loads(body, parse_constant=_no_constant)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError as err:
            return 400, {"error": f"bad request: {err}"}
        try:
            return 200, self.on_sign(request)
        except (InvalidInput, ScoringError) as err:
            return 400, {"error": str(err)}
        except CreditShareError as err:
            return 409, {"error": str(err)}
        except Exception as err:  # a bug must not kill the worker; the leader sees the message
            log.exception("sign request failed")
            return 500, {"error": f"{type(err).__name__}: {err}"}

    @staticmethod
    def _respond(sock: socket.socket, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        head = (
            f"HTTP/1.1 {code} {_REASONS.get(code, 'Error')}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        )
        try:
            sock.sendall(head.encode() + data)
        except OSError:
            pass
        finally:
            sock.close()


def post_json(peer: OracleEntry, path: str, body: dict[str, Any], deadline: float, max_reply: int) -> tuple[int, Any]:
    """POSTs `body` to the peer; (status, parsed JSON). Raises TimeoutError once `deadline` (monotonic) passes,
    whatever the peer sends meanwhile, and ValueError for a reply over `max_reply` bytes or not JSON."""
    payload = json.dumps(body).encode()
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    with socket.create_connection((peer.host, peer.port), timeout=remaining) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {peer.host}:{peer.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
        )
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        sock.sendall(head.encode() + payload)
        data = bytearray()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            sock.settimeout(remaining)
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if len(data) > max_reply + MAX_HEADER:
                raise ValueError(f"reply larger than {max_reply} bytes")
            if _reply_complete(data):
                break
    end = data.find(b"\r\n\r\n")
    if end < 0:
        raise ValueError("no HTTP reply")
    status_line = data[:end].split(b"\r\n", 1)[0].split(b" ")
    try:
        code = int(status_line[1])
    except (IndexError, ValueError) as err:
        raise ValueError("no HTTP reply") from err
    reply = bytes(data[end + 4 :])
    if len(reply) > max_reply:
        raise ValueError(f"reply larger than {max_reply} bytes")
    try:
        return code, json.loads(reply)
    except ValueError as err:
        raise ValueError(f"HTTP {code}") from err


def _reply_complete(data: bytearray) -> bool:
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return False
    for line in data[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return len(data) - end - 4 >= int(value.strip())
            except ValueError:
                return False
    return False


def ask_signatures(
    peers: list[OracleEntry],
    request: dict[str, Any],
    timeout: float,
    *,
    accept: Accept | None = None,
    needed: int | None = None,
    max_reply: int = MAX_REPLY,
) -> dict[str, dict[str, Any] | str]:
    """POSTs the round to every peer at once; name -> reply body, or the reason it failed (a string).

    Each peer has `timeout` seconds in all (not per read). `accept(peer, body)` checks a reply (None if
    valid, else why not: the reason replaces the body); once `needed` replies are valid the others are not
    waited for ("not waited for: enough signatures").
    """

    def one(peer: OracleEntry, deadline: float) -> dict[str, Any] | str:
        try:
            code, body = post_json(peer, "/sign", request, deadline, max_reply)
        except TimeoutError:
            return f"no answer within {timeout:.0f}s"
        except ValueError as err:
            return f"bad reply: {err}"
        except OSError:
            return "not reachable"
        if not isinstance(body, dict):
            return f"HTTP {code}: not a JSON object"
        if code != 200:
            return str(body.get("error", f"HTTP {code}"))
        return body

    if not peers:
        return {}
    deadline = time.monotonic() + timeout
    results: dict[str, dict[str, Any] | str] = {}
    valid = 0
    pool = ThreadPoolExecutor(max_workers=len(peers), thread_name_prefix="oracle-ask")
    try:
        pending: dict[Future[dict[str, Any] | str], OracleEntry] = {pool.submit(one, p, deadline): p for p in peers}
        while pending and (needed is None or valid < needed):
            done, _ = wait(pending, timeout=max(0.0, deadline - time.monotonic()) + 0.5, return_when=FIRST_COMPLETED)
            if not done:
                break
            for future in done:
                peer = pending.pop(future)
                reply = future.result()
                if isinstance(reply, dict):
                    why = accept(peer, reply) if accept is not None else None
                    if why is None:
                        valid += 1
                    else:
                        reply = why
                results[peer.name] = reply
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # each straggler ends at its own deadline
    for peer in peers:
        if peer.name not in results:
            results[peer.name] = (
                "not waited for: enough signatures"
                if needed is not None and valid >= needed
                else f"no answer within {timeout:.0f}s"
            )
    return results


def peer_status(peer: OracleEntry, timeout: float = 2.0) -> dict[str, Any] | None:
    """A peer's /status, or None if it does not answer."""
    try:
        response = requests.get(f"{peer.url}/status", timeout=timeout)
        return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]
    except (requests.ConnectionError, requests.Timeout, ValueError):
        return None
