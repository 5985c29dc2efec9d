"""Kubo (IPFS) nodes for the consortium's evidence: the RPC client and a loopback network of member nodes.

The client speaks Kubo's RPC (``POST /api/v0/<command>``) with ``requests``, which the chain client already
depends on. ``ipfshttpclient`` 0.8.0a2 was the alternative: it is unmaintained since 2021, knows Kubo only up to
0.9 (newer daemons raise a ``VersionMismatch`` warning), pulls in ``multiaddr`` and would be a new dependency
for the dozen endpoints used here (add, block put/get/stat, cat, pin add/ls/rm, id, swarm peers, repo stat).

A network (`init_network`) is one Kubo repository per member under ``<data>/ipfs/node-<i>``, reachable on
127.0.0.1 only: no bootstrap peers, no MDNS, no DHT (``Routing.Type = none``), no relays, NAT traversal or
AutoConf, TCP only, a private-network ``swarm.key`` (``LIBP2P_FORCE_PNET=1``: a node without it cannot
connect), and every node peered with every other (``Peering.Peers``), so bitswap finds a block at any
connected member. ``network.json`` beside the repos records each node's peer id and ports.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests

from creditshare.core.errors import ConfigError, CreditShareError, InvalidInput
from creditshare.core.localchain import free_ports

KUBO_VERSION = "0.39.0"
#: the largest block Kubo stores without --allow-big-block and exchanges over bitswap
MAX_BLOCK = 1 << 20
#: how long a read may wait for a block from the other members before it is called missing
#: (CREDITSHARE_IPFS_TIMEOUT seconds overrides it)
FETCH_TIMEOUT_S = 20.0
# one node per member on one machine; like the geth network's MAX_VALIDATORS (each node is a Kubo process)
MAX_NODES = 16
TIMEOUT_ENV = "CREDITSHARE_IPFS_TIMEOUT"


def fetch_timeout() -> float:
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return FETCH_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 86400:
        raise ConfigError(f"{TIMEOUT_ENV} must be a number of seconds above 0; got {raw!r}.")
    return value


class IpfsError(CreditShareError):
    """A Kubo node could not be reached, refused a request, or did not have a block in time."""


def kubo_binary() -> str:
    """The `ipfs` executable: CREDITSHARE_KUBO, else `make kubo`'s cache, else PATH."""
    configured = os.environ.get("CREDITSHARE_KUBO")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    candidates = [configured] if configured else []
    candidates += [str(cache / "creditshare" / f"kubo-v{KUBO_VERSION}" / "bin" / "ipfs"), shutil.which("ipfs") or ""]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise ConfigError(f"Kubo (ipfs) not found: run `make kubo` (builds Kubo v{KUBO_VERSION}) or set CREDITSHARE_KUBO.")


# -- the RPC client -------------------------------------------------------------------------------------------


class Kubo:
    """One Kubo node's RPC API, e.g. ``Kubo("http://127.0.0.1:5001")``."""

    def __init__(self, api: str, *, timeout: float | None = None) -> None:
        self.api = api.rstrip("/")
        self.timeout = fetch_timeout() if timeout is None else timeout
        self.session = requests.Session()

    def _post(
        self,
        command: str,
        *args: str,
        data: bytes | None = None,
        timeout: float | None = None,
        **options: str | bool | int,
    ) -> requests.Response:
        wait = self.timeout if timeout is None else timeout
        params: list[tuple[str, str]] = [("arg", a) for a in args]
        params += [(k.replace("_", "-"), str(v).lower() if isinstance(v, bool) else str(v)) for k, v in options.items()]
        # Kubo's own timeout ends a request that waits on the network (a block no peer has) with an error
        params.append(("timeout", f"{wait:g}s"))
        files = {"file": ("file", data, "application/octet-stream")} if data is not None else None
        try:
            response = self.session.post(f"{self.api}/api/v0/{command}", params=params, files=files, timeout=wait + 5)
        except requests.ConnectionError as err:
            raise IpfsError(f"the IPFS node at {self.api} is not reachable (is it up? `creditshare ipfs up`).") from err
        except requests.Timeout as err:
            raise IpfsError(f"the IPFS node at {self.api} did not answer {command} within {wait:g} s.") from err
        if response.status_code != 200:
            try:
                message = response.json().get("Message", response.text)
            except ValueError:
                message = response.text
            raise IpfsError(f"the IPFS node at {self.api} refused {command}: {message.strip()}")
        return response

    def _json(self, command: str, *args: str, **options: Any) -> Any:
        return self._post(command, *args, **options).json()

    def id(self) -> dict[str, Any]:
        return dict(self._json("id"))

    def version(self) -> str:
        return str(self._json("version")["Version"])

    def block_put_raw(self, data: bytes, *, pin: bool = True) -> str:
        """Stores `data` as one raw block (CIDv1, raw codec, sha2-256): the CID the chain's digest gives."""
        if len(data) > MAX_BLOCK:
            raise InvalidInput(f"a raw block holds at most {MAX_BLOCK} bytes; got {len(data)}.")
        out = self._json("block/put", data=data, cid_codec="raw", mhtype="sha2-256", pin=pin)
        return str(out["Key"])

    def add(self, data: bytes, *, pin: bool = True, chunk: int = 1 << 18) -> str:
        """Adds `data` as a UnixFS file (CIDv1, raw leaves of `chunk` bytes); returns the DAG root's CID."""
        out = self._json("add", data=data, cid_version=1, raw_leaves=True, chunker=f"size-{chunk}", pin=pin)
        return str(out["Hash"])

    def block_get(self, cid: str, *, offline: bool = False, timeout: float | None = None) -> bytes:
        return self._post("block/get", cid, offline=offline, timeout=timeout).content

    def cat(self, cid: str, *, offline: bool = False, timeout: float | None = None) -> bytes:
        return self._post("cat", cid, offline=offline, timeout=timeout).content

    def has_block(self, cid: str) -> bool:
        """Whether this node holds the block itself (no network lookup)."""
        try:
            self._post("block/stat", cid, offline=True, timeout=5)
        except IpfsError as err:
            if "not reachable" in str(err):
                raise
            return False
        return True

    def pin_add(self, cid: str, *, timeout: float | None = None) -> None:
        self._post("pin/add", cid, timeout=timeout)

    def pin_rm(self, cid: str) -> None:
        self._post("pin/rm", cid)

    def pins(self) -> set[str]:
        """The CIDs this node pins recursively (documents), as CIDv1 strings."""
        out = self._json("pin/ls", type="recursive", cid_base="base32")
        return set(out.get("Keys", {}))

    def files_write(self, path: str, data: bytes) -> None:
        """Writes `data` at `path` in the node's MFS (its own small file system), replacing what was there."""
        self._post("files/write", path, data=data, create=True, parents=True, truncate=True)

    def files_read(self, path: str) -> bytes:
        return self._post("files/read", path).content

    def peers(self) -> list[str]:
        out = self._json("swarm/peers")
        return [str(p["Peer"]) for p in out.get("Peers") or []]

    def repo_size(self) -> int:
        return int(self._json("repo/stat", size_only=True)["RepoSize"])

    def gc(self) -> None:
        self._post("repo/gc")


# -- a loopback network of member nodes -----------------------------------------------------------------------


@dataclass(frozen=True)
class NodeInfo:
    index: int
    repo: str
    peer_id: str
    swarm_port: int
    api_port: int
    gateway_port: int

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def swarm_addr(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.swarm_port}"


@dataclass(frozen=True)
class NodeStatus:
    node: NodeInfo
    running: bool
    pid: int | None
    peers: int | None
    repo_bytes: int | None


def network_dir(data_dir: Path) -> Path:
    return data_dir / "ipfs"


def load_network(data_dir: Path) -> list[NodeInfo]:
    path = network_dir(data_dir) / "network.json"
    if not path.exists():
        raise ConfigError(f"no IPFS network in {path.parent}: run `creditshare ipfs init --nodes N` first.")
    try:
        nodes = [NodeInfo(**n) for n in json.loads(path.read_text(encoding="utf-8"))["nodes"]]
    except (ValueError, KeyError, TypeError, RecursionError) as err:  # JSONDecodeError and UnicodeError are ValueErrors
        raise ConfigError(
            f"the IPFS network description {path} is malformed ({type(err).__name__}: {err}); "
            "move it away and run `creditshare ipfs init` again."
        ) from err
    if not nodes:
        raise ConfigError(f"the IPFS network description {path} lists no node; run `creditshare ipfs init` again.")
    return nodes


def _kubo(repo: Path, *args: str) -> str:
    env = {**os.environ, "IPFS_PATH": str(repo)}
    done = subprocess.run([kubo_binary(), *args], env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise IpfsError(f"ipfs {' '.join(args)} failed in {repo}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def _configure(config: dict[str, Any], node: NodeInfo, others: Iterable[NodeInfo]) -> dict[str, Any]:
    """Kubo's config for a consortium node that talks to its peers on 127.0.0.1 and to nobody else."""
    config["Addresses"].update(
        {
            "API": f"/ip4/127.0.0.1/tcp/{node.api_port}",
            "Gateway": f"/ip4/127.0.0.1/tcp/{node.gateway_port}",
            "Swarm": [node.swarm_addr],
            "Announce": [],
            "AppendAnnounce": [],
            "NoAnnounce": [],
        }
    )
    config["Bootstrap"] = []
    config.setdefault("AutoConf", {})["Enabled"] = False
    config.setdefault("Discovery", {}).setdefault("MDNS", {})["Enabled"] = False
    routing = config.setdefault("Routing", {})
    routing["Type"] = "none"
    routing["DelegatedRouters"] = []
    config.setdefault("Ipns", {})["DelegatedPublishers"] = []
    config.setdefault("DNS", {})["Resolvers"] = {}
    config.setdefault("AutoNAT", {})["ServiceMode"] = "disabled"
    swarm = config.setdefault("Swarm", {})
    swarm["DisableNatPortMap"] = True
    swarm.setdefault("RelayClient", {})["Enabled"] = False
    swarm.setdefault("RelayService", {})["Enabled"] = False
    # a private network (swarm.key) works over TCP only
    swarm.setdefault("Transports", {})["Network"] = {
        "TCP": True,
        "QUIC": False,
        "Websocket": False,
        "WebTransport": False,
        "WebRTCDirect": False,
        "Relay": False,
    }
    config.setdefault("Provide", {})["Enabled"] = False
    config["Peering"] = {"Peers": [{"ID": o.peer_id, "Addrs": [o.swarm_addr]} for o in others]}
    return config


def init_network(data_dir: Path, nodes: int) -> list[NodeInfo]:
    """Creates (or keeps) `nodes` Kubo repositories under <data>/ipfs, configured as one private network.

    Idempotent: existing repos keep their identity and blocks; new ones are added, and every config is
    rewritten so that all nodes peer with all others.
    """
    if nodes < 1:
        raise InvalidInput(f"--nodes must be at least 1; got {nodes}.")
    if nodes > MAX_NODES:
        raise InvalidInput(f"--nodes must be at most {MAX_NODES}; got {nodes}.")
    root = network_dir(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    key_path = root / "swarm.key"
    if not key_path.exists():
        key_path.write_text(f"/key/swarm/psk/1.0.0/\n/base16/\n{secrets.token_hex(32)}\n")
        key_path.chmod(0o600)
    try:
        known = {n.index: n for n in load_network(data_dir)}
    except ConfigError:
        known = {}
    # a node left out of the new description would run on, out of reach of `ipfs down`
    running = sorted(i for i, n in known.items() if i >= nodes and _pid(n) is not None)
    if running:
        raise InvalidInput(
            f"node(s) {', '.join(map(str, running))} of the network run and --nodes {nodes} would leave them out: "
            "stop them first (`creditshare ipfs down`)."
        )
    used = {p for n in known.values() for p in (n.swarm_port, n.api_port, n.gateway_port)}
    infos: list[NodeInfo] = []
    for i in range(nodes):
        repo = root / f"node-{i}"
        if not (repo / "config").exists():
            _kubo(repo, "init", "--empty-repo", "--profile=test")
        peer_id = json.loads((repo / "config").read_text())["Identity"]["PeerID"]
        if i in known and known[i].peer_id == peer_id:
            infos.append(known[i])
            continue
        ports = free_ports(3, exclude=used)
        used.update(ports)
        infos.append(NodeInfo(i, str(repo), peer_id, ports[0], ports[1], ports[2]))
    for info in infos:
        repo = Path(info.repo)
        config = json.loads((repo / "config").read_text())
        others = [o for o in infos if o.index != info.index]
        (repo / "config").write_text(json.dumps(_configure(config, info, others), indent=2))
        shutil.copyfile(key_path, repo / "swarm.key")
        (repo / "swarm.key").chmod(0o600)
    (root / "network.json").write_text(json.dumps({"nodes": [asdict(n) for n in infos]}, indent=2))
    return infos


def _pid(node: NodeInfo) -> int | None:
    """The pid in the node's pidfile if that process is alive and is a Kubo daemon (a pid reused by another
    program after a reboot is never signalled)."""
    path = Path(node.repo) / "creditshare.pid"
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    if b"daemon" not in argv or not any(a.endswith(b"ipfs") for a in argv):
        return None
    return pid


def _answers(node: NodeInfo) -> bool:
    try:
        Kubo(node.api, timeout=2).id()
    except IpfsError:
        return False
    return True


def start_node(node: NodeInfo, *, wait_s: float = 60.0) -> int:
    """Starts the node's daemon (unless it runs already) and waits for its API; returns its pid."""
    pid = _pid(node)
    if pid is not None and _answers(node):
        return pid
    repo = Path(node.repo)
    (repo / "repo.lock").unlink(missing_ok=True)  # left by a daemon that was killed
    env = {**os.environ, "IPFS_PATH": str(repo), "LIBP2P_FORCE_PNET": "1", "GOLOG_LOG_LEVEL": "error"}
    with (repo / "daemon.log").open("ab") as log:
        proc = subprocess.Popen(
            [kubo_binary(), "daemon", "--enable-gc=false", "--migrate=false"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    (repo / "creditshare.pid").write_text(str(proc.pid))
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (repo / "daemon.log").read_text(errors="replace")[-600:]
            raise IpfsError(f"the IPFS node {node.index} exited at start ({repo / 'daemon.log'}): {tail.strip()}")
        if _answers(node):
            return proc.pid
        time.sleep(0.2)
    raise IpfsError(f"the IPFS node {node.index} did not answer on {node.api} within {wait_s:g} s.")


def stop_node(node: NodeInfo, *, wait_s: float = 20.0) -> bool:
    """Stops the node's daemon (SIGTERM, then SIGKILL); False if it was not running."""
    pid = _pid(node)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        try:  # our own child (the tests): reap it
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    (Path(node.repo) / "creditshare.pid").unlink(missing_ok=True)
    return True


def wait_connected(nodes: list[NodeInfo], *, wait_s: float = 30.0) -> None:
    """Waits until every running node is connected to every other running node (Peering dials them)."""
    running = [n for n in nodes if _pid(n) is not None]
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if all(len(Kubo(n.api).peers()) >= len(running) - 1 for n in running):
            return
        time.sleep(0.3)
    raise IpfsError(f"the IPFS nodes did not connect to each other within {wait_s:g} s.")


def node_status(node: NodeInfo) -> NodeStatus:
    pid = _pid(node)
    if pid is None or not _answers(node):
        return NodeStatus(node, False, pid, None, None)
    kubo = Kubo(node.api, timeout=10)
    return NodeStatus(node, True, pid, len(kubo.peers()), kubo.repo_size())
