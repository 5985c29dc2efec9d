"""The transport between oracle daemons: a small HTTP endpoint each (stdlib http.server).

    POST /sign   {"start": s, "end": B, "digests": ["0x…", …], "leader": "name", "auth": "0x…"}
                 -> 200 {"address": "0x…", "signatures": ["0x…", …]}
                 -> 409 {"error": "…"}  (recomputation disagrees, round locked, block not seen yet, …)
    GET  /status -> 200 {"id", "name", "address", "checkpoint", "last_round", "lock"}

A /sign request carries `auth`, the leader's signature (EIP-191) over the round,
the chain id and the ScoreOracle address: a peer answers only another oracle of
its config. It signs only reports it has recomputed itself from its own node, and
the leader recovers every signature before using it. Bodies over 1 MiB are
refused (413); a client has 30 s to send its request.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from creditshare.core.errors import ConfigError, CreditShareError, InvalidInput
from oracle.config import OracleEntry
from scoring.errors import ScoringError

log = logging.getLogger(__name__)

MAX_REQUEST = 1 << 20  # bytes
SignHandler = Callable[[dict[str, Any]], dict[str, Any]]
StatusHandler = Callable[[], dict[str, Any]]


class Refused(CreditShareError):
    """A peer will not sign this round; the message says why."""


class PeerServer:
    """Serves /sign and /status in a background thread."""

    def __init__(self, host: str, port: int, on_sign: SignHandler, on_status: StatusHandler) -> None:
        handler = _handler(on_sign, on_status)
        try:
            self.httpd = ThreadingHTTPServer((host, port), handler)
        except OSError as err:
            raise ConfigError(
                f"cannot listen on {host}:{port}: {err.strerror} (is another daemon of this id running?)."
            ) from err
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="oracle-peer-server", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(on_sign: SignHandler, on_status: StatusHandler) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 30  # seconds a client may take to send its request

        def _reply(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path != "/status":
                self._reply(404, {"error": "unknown path"})
                return
            self._reply(200, on_status())

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/sign":
                self._reply(404, {"error": "unknown path"})
                return
            try:
                length = int(self.headers.get("Content-Length", "-1"))
            except ValueError:
                length = -1
            if length < 0:
                self._reply(400, {"error": "bad request: a Content-Length is needed"})
                return
            if length > MAX_REQUEST:
                self._reply(413, {"error": f"request larger than {MAX_REQUEST} bytes"})
                return
            try:
                body = json.loads(self.rfile.read(length))
                if not isinstance(body, dict):
                    raise ValueError("not an object")
            except ValueError as err:
                self._reply(400, {"error": f"bad request: {err}"})
                return
            try:
                self._reply(200, on_sign(body))
            except (InvalidInput, ScoringError) as err:
                self._reply(400, {"error": str(err)})
            except CreditShareError as err:
                self._reply(409, {"error": str(err)})
            except Exception as err:  # a bug must not kill the server thread; the leader sees the message
                log.exception("sign request failed")
                self._reply(500, {"error": f"{type(err).__name__}: {err}"})

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class signature
            log.debug("peer request: " + format, *args)

    return Handler


def ask_signatures(
    peers: list[OracleEntry], request: dict[str, Any], timeout: float
) -> dict[str, dict[str, Any] | str]:
    """POSTs the round to every peer at once; name -> reply body, or the reason it failed (a string)."""

    def one(peer: OracleEntry) -> dict[str, Any] | str:
        try:
            response = requests.post(f"{peer.url}/sign", json=request, timeout=timeout)
        except requests.ConnectionError:
            return "not reachable"
        except requests.Timeout:
            return f"no answer within {timeout:.0f}s"
        except requests.RequestException as err:
            return f"request failed: {type(err).__name__}"
        try:
            body = response.json()
        except ValueError:
            return f"HTTP {response.status_code}"
        if not isinstance(body, dict):
            return f"HTTP {response.status_code}: not a JSON object"
        if response.status_code != 200:
            return str(body.get("error", f"HTTP {response.status_code}"))
        return body

    if not peers:
        return {}
    with ThreadPoolExecutor(max_workers=len(peers)) as pool:
        return dict(zip([p.name for p in peers], pool.map(one, peers), strict=True))


def peer_status(peer: OracleEntry, timeout: float = 2.0) -> dict[str, Any] | None:
    """A peer's /status, or None if it does not answer."""
    try:
        response = requests.get(f"{peer.url}/status", timeout=timeout)
        return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]
    except (requests.ConnectionError, requests.Timeout, ValueError):
        return None
