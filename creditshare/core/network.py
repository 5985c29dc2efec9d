"""A loopback consortium network of go-ethereum Clique signers: init, start, stop, kill, inspect.

Why geth 1.13.15: it is the last release that seals Clique proof-of-authority blocks (1.14 removed Clique
sealing), and Besu cannot be obtained here. `make geth` builds it once into ``~/.cache/creditshare``.

Layout (``<data>/geth-network``): ``genesis.json``, ``network.json`` (chain id, period, gas limit, and per
node its signer, enode and ports) and one folder per node: the geth datadir, its node key (``geth/nodekey``),
its signer's keystore, the keystore's password file and ``config.toml`` (static and trusted peers, see below).
Secret files are 0600; the password reaches geth as ``--password FILE``, never in argv.

Choices:

- **Berlin rules, no London.** Clique in 1.13.15 stops before Shanghai, and London's base fee cannot stay at
  zero on geth: once a block is more than half full the fee rises to 1 wei and never falls back (the decrease
  rounds to 0), and every zero-price transaction is refused from then on. A permissioned chain pays no gas,
  so the genesis stops at Berlin. The contracts (compiled for ``paris``) use no opcode Berlin lacks: no
  BASEFEE, PUSH0, MCOPY or TSTORE.
- **Zero gas price.** geth raises a configured miner gas price of 0 to 1 gwei at start, but
  ``miner_setGasPrice(0)`` (over the node's IPC socket, not exposed on HTTP) lowers both the pool's and the
  sealer's floor to 0, so zero-price transactions from any member propagate and are sealed by any signer.
- **Loopback only.** ``--nodiscover``, ``--netrestrict 127.0.0.0/8``, ``--nat none``, HTTP on 127.0.0.1, IPC
  in the datadir, peers only from the static/trusted lists. The HTTP API is eth, net, web3, clique, txpool.
  ``--allow-insecure-unlock`` is needed because the signer key is unlocked while HTTP is on; the HTTP
  endpoint is bound to 127.0.0.1 and carries no personal/admin namespace.
- **Archive node** (``--gcmode archive``): commands read state as of past blocks (report windows).
- **Peers from the registry.** A node's p2p key IS its Clique signer key, so an enode id (the public key)
  names the signer address the Consortium registers (`enode_address`): whether a peer is an active validator
  is checkable from its enode alone, even for a node we never heard of, with no contract change and no
  second key to govern. (The key is then also on disk unencrypted as ``geth/nodekey``, 0600; its keystore's
  password sits beside it with the same protection, so nothing is weaker.) `admitted` picks the nodes whose
  enode key is an active validator's signer (`active_signers`: before the registry has any, the Clique signers);
  `network sync`/`up` write them as each node's static and trusted peers and apply them live over IPC
  (admin_addTrustedPeer/addPeer, admin_removeTrustedPeer/removePeer: the admin API is never on HTTP).
- **Untrusted peers refused.** geth 1.13.15 (p2p/server.go `postHandshakeChecks`) refuses an inbound
  connection that is not trusted once ``inboundCount >= MaxPeers - maxDialedConns()``; with ``DialRatio = 1``
  (config.toml) every slot is a dial slot, so the inbound limit is 0 and only trusted peers get in, while our
  own dials to the static (= trusted) peers keep all ``--maxpeers`` slots. ``--maxpeers 0`` would not do: it
  also sets the dial slots to 0 (`maxDialedConns`), and trusted peers are only ever accepted, never dialed.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import requests
from eth_account import Account
from eth_keys import exceptions as eth_keys_exceptions
from eth_keys import keys as eth_keys
from eth_utils import to_checksum_address

from creditshare.core.errors import ConfigError, CreditShareError, InvalidInput, quoted
from creditshare.core.localchain import free_ports

GETH_VERSION = "1.13.15"
DEFAULT_CHAIN_ID = 4242
DEFAULT_PERIOD = 1
DEFAULT_EPOCH = 30_000
DEFAULT_GAS_LIMIT = 60_000_000
MAX_VALIDATORS = 16
HTTP_APIS = "eth,net,web3,clique,txpool"
SECP256K1_P = 2**256 - 2**32 - 977  # the field prime of secp256k1: an enode id is a point on y^2 = x^3 + 7
#: a keystore's scrypt cost: light (2^14, like geth --lightkdf), since geth unlocks it at every start
KEYSTORE_SCRYPT_N = 1 << 14


class NetworkError(CreditShareError):
    """A geth node could not be started, reached or stopped, or the chain does not advance."""


def geth_binary() -> str:
    """The `geth` executable: CREDITSHARE_GETH, else `make geth`'s cache, else PATH."""
    configured = os.environ.get("CREDITSHARE_GETH")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    candidates = [configured] if configured else []
    candidates += [str(cache / "creditshare" / f"geth-v{GETH_VERSION}" / "bin" / "geth"), shutil.which("geth") or ""]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise ConfigError(f"geth not found: run `make geth` (builds go-ethereum v{GETH_VERSION}) or set CREDITSHARE_GETH.")


@dataclass(frozen=True)
class NodeInfo:
    """One node of the network: where it lives, whom it seals as, where it listens."""

    index: int
    datadir: str
    signer: str  # checksummed address of its Clique signer key
    node_id: str  # hex of the node key's 64-byte public key (the enode id)
    p2p_port: int
    http_port: int
    authrpc_port: int

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def enode(self) -> str:
        return f"enode://{self.node_id}@127.0.0.1:{self.p2p_port}?discport=0"

    @property
    def ipc(self) -> Path:
        return Path(self.datadir) / "geth.ipc"

    @property
    def log_file(self) -> Path:
        return Path(self.datadir) / "geth.log"


@dataclass(frozen=True)
class NetworkInfo:
    """The network as `init_network` wrote it (``network.json``)."""

    root: str
    chain_id: int
    period: int
    epoch: int
    gas_limit: int
    nodes: tuple[NodeInfo, ...]

    def node(self, index: int) -> NodeInfo:
        if not 0 <= index < len(self.nodes):
            raise InvalidInput(f"node must be between 0 and {len(self.nodes) - 1}; got {index}.")
        return self.nodes[index]


def network_dir(data_dir: Path) -> Path:
    return data_dir / "geth-network"


def load_network(data_dir: Path) -> NetworkInfo:
    path = network_dir(data_dir) / "network.json"
    if not path.exists():
        raise ConfigError(f"no geth network in {path.parent}: run `creditshare network init --validators N` first.")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        nodes = tuple(NodeInfo(**n) for n in raw["nodes"])
        info = NetworkInfo(
            str(path.parent), int(raw["chain_id"]), int(raw["period"]), int(raw["epoch"]), int(raw["gas_limit"]), nodes
        )
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as err:  # JSON and UTF-8 errors: ValueError
        raise ConfigError(
            f"the network description {path} is malformed ({type(err).__name__}: {err}); run `network init --force`."
        ) from err
    if not nodes:
        raise ConfigError(f"the network description {path} lists no node; run `network init --force`.")
    return info


def genesis(chain_id: int, period: int, epoch: int, gas_limit: int, signers: Sequence[str]) -> dict[str, Any]:
    """A Clique genesis at Berlin rules (see the module's docstring), signers in ascending order, no balances."""
    ordered = sorted((s.lower() for s in signers), key=lambda a: int(a, 16))
    extra = "0x" + "00" * 32 + "".join(a[2:] for a in ordered) + "00" * 65
    forks = ["homestead", "eip150", "eip155", "eip158", "byzantium", "constantinople", "petersburg", "istanbul"]
    config: dict[str, Any] = {"chainId": chain_id, **{f"{f}Block": 0 for f in forks}, "berlinBlock": 0}
    config["clique"] = {"period": period, "epoch": epoch}
    return {
        "config": config,
        "difficulty": "0x1",
        "gasLimit": hex(gas_limit),
        "extradata": extra,
        "alloc": {},
        "nonce": "0x0",
        "timestamp": hex(int(time.time())),
    }


def _write_secret(path: Path, data: str | bytes) -> None:
    """Writes a file readable by its owner only (created 0600, never world-readable in between)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
    path.chmod(0o600)


def _toml_list(items: Iterable[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def write_peers(node: NodeInfo, peers: Iterable[NodeInfo]) -> None:
    """The node's config.toml: its static and trusted peers (geth 1.13 ignores static-nodes.json), and
    DialRatio 1, which leaves no inbound slot to a peer that is not trusted (see the module's docstring)."""
    enodes = [p.enode for p in peers if p.index != node.index]
    text = f"[Node.P2P]\nDialRatio = 1\nStaticNodes = {_toml_list(enodes)}\nTrustedNodes = {_toml_list(enodes)}\n"
    (Path(node.datadir) / "config.toml").write_text(text)


def trusted_of(node: NodeInfo) -> set[str]:
    """The enode ids the node's config.toml trusts (none if it has no readable config)."""
    try:
        config = tomllib.loads((Path(node.datadir) / "config.toml").read_text())
        urls = config["Node"]["P2P"].get("TrustedNodes", [])
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    return {str(u).split("//", 1)[-1].split("@", 1)[0] for u in urls}


def enode_address(node_id: str) -> str:
    """The checksummed address of the key whose public key is `node_id` (an enode id, 128 hex digits): for a
    node of ours, its Clique signer."""
    try:
        raw = bytes.fromhex(node_id.removeprefix("0x"))
        x, y = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        if (y * y - x * x * x - 7) % SECP256K1_P:  # a point of secp256k1, or no key at all
            raise ValueError("not on the curve")
        return str(eth_keys.PublicKey(raw).to_checksum_address())
    except (ValueError, eth_keys_exceptions.ValidationError) as err:
        raise InvalidInput(f"not an enode id (64 bytes of public key in hex): {quoted(node_id)}") from err


def _new_node(root: Path, index: int, ports: Sequence[int]) -> NodeInfo:
    """Keys of node `index` under root/node-<index>: one secp256k1 key as signer and as p2p node key."""
    datadir = root / f"node-{index}"
    signer = Account.create()
    node_key = eth_keys.PrivateKey(signer.key)
    _write_secret(datadir / "geth" / "nodekey", node_key.to_hex()[2:])
    password = secrets.token_hex(32)
    _write_secret(datadir / "password", password)
    keystore = Account.encrypt(signer.key, password, kdf="scrypt", iterations=KEYSTORE_SCRYPT_N)
    _write_secret(datadir / "keystore" / f"signer-{signer.address.lower()[2:]}.json", json.dumps(keystore))
    return NodeInfo(index, str(datadir), signer.address, node_key.public_key.to_hex()[2:], *ports)


def _geth_init(root: Path, node: NodeInfo) -> None:
    done = subprocess.run(
        [geth_binary(), "init", "--datadir", node.datadir, str(root / "genesis.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise NetworkError(f"geth init failed for node {node.index}: {done.stderr.strip()[-400:]}")


def _save(net: NetworkInfo, nodes: Sequence[NodeInfo]) -> None:
    body = {"chain_id": net.chain_id, "period": net.period, "epoch": net.epoch, "gas_limit": net.gas_limit}
    text = json.dumps(body | {"nodes": [asdict(n) for n in nodes]}, indent=2) + "\n"
    (Path(net.root) / "network.json").write_text(text)


def init_network(
    data_dir: Path,
    validators: int = 4,
    *,
    chain_id: int = DEFAULT_CHAIN_ID,
    period: int = DEFAULT_PERIOD,
    epoch: int = DEFAULT_EPOCH,
    gas_limit: int = DEFAULT_GAS_LIMIT,
    force: bool = False,
) -> NetworkInfo:
    """Creates `validators` geth nodes under <data>/geth-network, each a Clique signer, peered with all others.

    Refuses an existing network unless `force` (which needs every node stopped and deletes its chain)."""
    if not 1 <= validators <= MAX_VALIDATORS:
        raise InvalidInput(f"--validators must be between 1 and {MAX_VALIDATORS}; got {validators}.")
    if not 1 <= period <= 60:
        raise InvalidInput(f"--period must be between 1 and 60 seconds; got {period}.")
    if not 5_000_000 <= gas_limit <= 1_000_000_000:
        raise InvalidInput(f"--gas-limit must be between 5000000 and 1000000000; got {gas_limit}.")
    if chain_id < 1 or chain_id in (1, 1337, 31337):
        raise InvalidInput(f"--chain-id must be a positive id other than 1, 1337 and 31337; got {chain_id}.")
    root = network_dir(data_dir)
    if (root / "network.json").exists():
        if not force:
            raise InvalidInput(
                f"a geth network exists in {root}; `network down` and `network init --force` replace it."
            )
        running = [n.index for n in load_network(data_dir).nodes if node_pid(n) is not None]
        if running:
            raise InvalidInput(f"node(s) {running} still run: `creditshare network down` first.")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    geth_binary()  # before any key is written
    ports = free_ports(3 * validators)
    nodes = [_new_node(root, i, ports[3 * i : 3 * i + 3]) for i in range(validators)]
    spec = genesis(chain_id, period, epoch, gas_limit, [n.signer for n in nodes])
    (root / "genesis.json").write_text(json.dumps(spec, indent=2))
    for node in nodes:
        write_peers(node, nodes)
        _geth_init(root, node)
    _save(NetworkInfo(str(root), chain_id, period, epoch, gas_limit, ()), nodes)
    return load_network(data_dir)


def add_node(data_dir: Path) -> NodeInfo:
    """A new node for the network (a joining member's): its keys (signer = node key), the same genesis, and
    every node of the network as its static and trusted peers. It seals nothing and no node of ours accepts
    it until the Consortium admits its signer as a validator and `network sync` runs."""
    net = load_network(data_dir)
    root = Path(net.root)
    index = max(n.index for n in net.nodes) + 1
    if index >= MAX_VALIDATORS:
        raise InvalidInput(f"the network has {len(net.nodes)} nodes; at most {MAX_VALIDATORS}.")
    taken = [p for n in net.nodes for p in (n.p2p_port, n.http_port, n.authrpc_port)]
    node = _new_node(root, index, free_ports(3, exclude=taken))
    write_peers(node, net.nodes)
    _geth_init(root, node)
    _save(net, [*net.nodes, node])
    return node


# -- processes --------------------------------------------------------------------------------------------------


def _pidfile(node: NodeInfo) -> Path:
    return Path(node.datadir) / "creditshare.pid"


def node_pid(node: NodeInfo) -> int | None:
    """The pid in the node's pidfile if that process is alive and is geth on this datadir (a pid reused by
    another program is never signalled)."""
    try:
        pid = int(_pidfile(node).read_text().strip())
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            zombie = handle.read().split(")")[-1].split()[0] == "Z"
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    if zombie or not argv or not argv[0].endswith(b"geth") or node.datadir.encode() not in argv:
        return None
    return pid


def rpc(url: str, method: str, params: list[Any] | None = None, timeout: float = 5.0) -> Any:
    """One JSON-RPC call over HTTP; NetworkError if the node does not answer or returns an error."""
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
    try:
        response = requests.post(url, json=body, timeout=timeout)
        answer = response.json()
    except (requests.RequestException, ValueError) as err:
        raise NetworkError(f"the node at {url} does not answer ({type(err).__name__}).") from err
    if "error" in answer:
        raise NetworkError(f"the node at {url} refused {method}: {answer['error'].get('message', answer['error'])}")
    return answer.get("result")


def ipc(node: NodeInfo, method: str, params: list[Any] | None = None, timeout: float = 10.0) -> Any:
    """One JSON-RPC call over the node's IPC socket (for the namespaces not exposed on HTTP)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(node.ipc))
            sock.sendall(body)
            buffer = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buffer += chunk
                try:
                    answer = json.loads(buffer)
                    break
                except ValueError:
                    continue
        except OSError as err:
            raise NetworkError(f"node {node.index}'s IPC socket {node.ipc} does not answer: {err}") from err
    if "error" in answer:
        raise NetworkError(f"node {node.index} refused {method}: {answer['error'].get('message')}")
    return answer.get("result")


def _answers(node: NodeInfo) -> bool:
    try:
        rpc(node.rpc_url, "eth_blockNumber", timeout=2)
    except NetworkError:
        return False
    return True


def geth_args(net: NetworkInfo, node: NodeInfo) -> list[str]:
    """geth's command line for `node`: no secret on it (the password is a file)."""
    password = Path(node.datadir) / "password"
    return [
        geth_binary(),
        "--datadir", node.datadir,
        "--config", str(Path(node.datadir) / "config.toml"),
        "--networkid", str(net.chain_id),
        "--syncmode", "full",
        "--gcmode", "archive",
        "--port", str(node.p2p_port),
        "--nodiscover", "--netrestrict", "127.0.0.0/8", "--nat", "none", "--maxpeers", str(2 * MAX_VALIDATORS),
        "--http", "--http.addr", "127.0.0.1", "--http.port", str(node.http_port),
        "--http.api", HTTP_APIS, "--http.vhosts", "localhost,127.0.0.1",
        "--authrpc.addr", "127.0.0.1", "--authrpc.port", str(node.authrpc_port),
        "--miner.etherbase", node.signer, "--miner.gaslimit", str(net.gas_limit),
        "--unlock", node.signer, "--password", str(password), "--allow-insecure-unlock",
        "--rpc.gascap", str(net.gas_limit), "--rpc.txfeecap", "0",
        "--txpool.globalslots", "20000", "--txpool.accountslots", "4096", "--txpool.accountqueue", "1024",
        "--cache", "128", "--verbosity", "3",
    ]  # fmt: skip


def start_node(net: NetworkInfo, node: NodeInfo, *, wait_s: float = 60.0) -> int:
    """Starts the node's geth (unless it runs already), waits for its RPC, sets its gas price floor to 0;
    returns its pid. The node does not seal yet: `start_sealing` does, once it is connected and synced (nodes
    that seal before they meet each other each sign their own block 1, and Clique's "signed recently" rule
    then stops every fork)."""
    pid = node_pid(node)
    if pid is not None and _answers(node):
        return pid
    with node.log_file.open("ab") as log:
        proc = subprocess.Popen(
            geth_args(net, node),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _pidfile(node).write_text(str(proc.pid))
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = node.log_file.read_text(errors="replace")[-800:]
            raise NetworkError(f"geth node {node.index} exited at start ({node.log_file}): {tail.strip()}")
        if _answers(node) and node.ipc.exists():
            ipc(node, "miner_setGasPrice", ["0x0"])
            return proc.pid
        time.sleep(0.2)
    raise NetworkError(f"geth node {node.index} did not answer on {node.rpc_url} within {wait_s:g} s.")


def _wait_gone(pid: int, wait_s: float) -> bool:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:  # our own child (the tests): reap it
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
                if handle.read().split(")")[-1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def stop_node(node: NodeInfo, *, kill: bool = False, wait_s: float = 30.0) -> bool:
    """Stops the node's geth: SIGTERM (geth flushes its chain), SIGKILL after `wait_s`; with `kill`, SIGKILL
    at once (a crash, for drills). False if it was not running."""
    pid = node_pid(node)
    if pid is None:
        return False
    os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
    if not _wait_gone(pid, wait_s):
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 10)
    _pidfile(node).unlink(missing_ok=True)
    return True


def start_sealing(net: NetworkInfo, nodes: Iterable[NodeInfo], *, wait_s: float = 60.0) -> None:
    """Lets `nodes` seal (miner_start over IPC) once each has caught up with the highest running node.

    Until it seals or finishes a sync, geth discards the blocks its peers propagate ("Syncing, discarded
    propagated block"), so the nodes of a new network are all started in the same instant (threads): a node
    left behind would seal its own block 1, a fork that geth's forced sync (every 10 s) only repairs later."""
    picked = list(nodes)
    deadline = time.monotonic() + wait_s
    out = set(shut_out(net))
    for node in picked:
        while True:
            statuses = (node_status(n) for n in net.nodes if n.index not in out)
            heads = [s.head for s in statuses if s.running and s.head is not None]
            own = node_status(node).head
            if own is not None and heads and own >= max(heads):
                break
            if time.monotonic() > deadline:
                raise NetworkError(f"node {node.index} did not catch up with its peers within {wait_s:g} s.")
            time.sleep(0.2)
    errors: list[Exception] = []

    def start(node: NodeInfo) -> None:
        try:
            ipc(node, "miner_start")
        except NetworkError as err:
            errors.append(err)

    threads = [threading.Thread(target=start, args=(n,)) for n in picked]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def mutual_peers(net: NetworkInfo, nodes: Sequence[NodeInfo] | None = None) -> dict[int, set[int]]:
    """For each of `nodes` (default: the running ones), the other running nodes it may peer with: each
    trusts the other in its config.toml (an untrusted connection is refused, see the module's docstring)."""
    running = [n for n in net.nodes if node_pid(n) is not None]
    picked = running if nodes is None else list(nodes)
    trusted = {n.index: trusted_of(n) for n in {*running, *picked}}
    return {
        n.index: {
            m.index
            for m in running
            if m.index != n.index and m.node_id in trusted[n.index] and n.node_id in trusted[m.index]
        }
        for n in picked
    }


def shut_out(net: NetworkInfo) -> list[int]:
    """Running nodes that no other running node accepts as a peer (a node whose signer is not an active
    validator), while other nodes run: they can neither sync nor seal."""
    mutual = mutual_peers(net)
    return sorted(i for i, peers in mutual.items() if not peers and len(mutual) > 1)


def up(net: NetworkInfo, nodes: Sequence[NodeInfo] | None = None, *, wait_s: float = 60.0) -> dict[int, int]:
    """Starts `nodes` (default all; running ones are left alone), waits until every running node is peered
    with every running node it trusts and that trusts it, then lets them seal (a node no peer accepts is
    started but does not seal: see shut_out). Returns {index: pid}."""
    picked = list(net.nodes if nodes is None else nodes)
    pids = {n.index: start_node(net, n, wait_s=wait_s) for n in picked}
    wait_connected(net, wait_s=wait_s)
    out = set(shut_out(net))
    start_sealing(net, [n for n in picked if n.index not in out], wait_s=wait_s)
    return pids


# -- peers follow the registry ----------------------------------------------------------------------------------


def active_signers(registry: Mapping[str, bool] | None, signers: Iterable[str] | None) -> set[str]:
    """Who may peer: the registry's active validators; before it has any (a new network, the contracts not
    deployed), the chain's Clique signers (the genesis set)."""
    active = {str(to_checksum_address(s)) for s, ok in (registry or {}).items() if ok}
    return active or {str(to_checksum_address(s)) for s in (signers or [])}


def keys_are_signers(net: NetworkInfo) -> bool:
    """Whether every node's p2p key is its signer key (networks written before that cannot follow the
    registry's peers: `network init --force` rewrites them)."""
    return all(enode_address(n.node_id) == to_checksum_address(n.signer) for n in net.nodes)


def admitted(net: NetworkInfo, active: set[str]) -> list[NodeInfo]:
    """The nodes of `net` whose enode key is the signer key of an active validator."""
    return [n for n in net.nodes if enode_address(n.node_id) in active]


def _ipc_peers(node: NodeInfo) -> dict[str, str]:
    """The node's connected peers: enode id (the public key) -> enode URL (admin_peers over IPC)."""
    peers = ipc(node, "admin_peers") or []
    return {str(p["enode"]).split("//", 1)[-1].split("@", 1)[0]: str(p["enode"]) for p in peers}


@dataclass(frozen=True)
class PeerChange:
    """What apply_peers did on one node: peers written, newly connected and dropped (node indexes or, for a
    peer that is no node of ours, its signer address)."""

    index: int
    peers: tuple[int, ...]
    added: tuple[int, ...]
    dropped: tuple[str, ...]


def apply_peers(net: NetworkInfo, node: NodeInfo, allowed: Sequence[NodeInfo]) -> PeerChange:
    """Makes `allowed` (minus the node itself) the node's static and trusted peers: in config.toml (for its
    next start), and live over IPC if it runs: admin_addTrustedPeer + admin_addPeer for each allowed node,
    admin_removeTrustedPeer + admin_removePeer (which also disconnects) for every other node of the network
    and every connected peer that is not allowed."""
    want = {p.node_id: p for p in allowed if p.index != node.index}
    write_peers(node, want.values())
    if node_pid(node) is None:
        return PeerChange(node.index, tuple(sorted(p.index for p in want.values())), (), ())
    before = _ipc_peers(node)
    for peer in want.values():
        ipc(node, "admin_addTrustedPeer", [peer.enode])
        ipc(node, "admin_addPeer", [peer.enode])
    unwanted = {n.node_id: n.enode for n in net.nodes if n.node_id not in want and n.index != node.index}
    unwanted |= {key: url for key, url in before.items() if key not in want}
    for url in unwanted.values():
        ipc(node, "admin_removeTrustedPeer", [url])
        ipc(node, "admin_removePeer", [url])
    added = tuple(sorted(p.index for key, p in want.items() if key not in before))
    dropped = tuple(sorted(_name(net, key) for key in before if key not in want))
    return PeerChange(node.index, tuple(sorted(p.index for p in want.values())), added, dropped)


def _name(net: NetworkInfo, node_id: str) -> str:
    ours = next((n.index for n in net.nodes if n.node_id == node_id), None)
    address = enode_address(node_id)
    return f"node {ours} ({address})" if ours is not None else address


def unregistered_peers(net: NetworkInfo, active: set[str]) -> list[str]:
    """Lines naming each connection of a running node to a peer whose enode key is not an active
    validator's signer (admin_peers over IPC)."""
    lines: list[str] = []
    for node in net.nodes:
        if node_pid(node) is None:
            continue
        try:
            peers = _ipc_peers(node)
        except NetworkError:
            continue
        for key in sorted(peers):
            if enode_address(key) not in active:
                lines.append(f"node {node.index} is connected to {_name(net, key)}, which is not an active validator")
    return lines


# -- state ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeStatus:
    """What one node says about the chain (None where it is down)."""

    index: int
    running: bool
    pid: int | None
    head: int | None
    head_hash: str | None
    block_age_s: float | None
    peers: int | None
    signers: tuple[str, ...] | None
    syncing: bool | None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["signers"] = list(self.signers) if self.signers is not None else None
        return out


def node_status(node: NodeInfo) -> NodeStatus:
    pid = node_pid(node)
    if pid is None or not _answers(node):
        return NodeStatus(node.index, False, pid, None, None, None, None, None, None)
    try:
        block = rpc(node.rpc_url, "eth_getBlockByNumber", ["latest", False])
        peers = int(rpc(node.rpc_url, "net_peerCount"), 16)
        signers = tuple(to_checksum_address(s) for s in rpc(node.rpc_url, "clique_getSigners"))
        syncing = rpc(node.rpc_url, "eth_syncing") is not False
    except NetworkError:
        return NodeStatus(node.index, False, pid, None, None, None, None, None, None)
    age = max(0.0, time.time() - int(block["timestamp"], 16))
    return NodeStatus(node.index, True, pid, int(block["number"], 16), block["hash"], age, peers, signers, syncing)


def wait_connected(net: NetworkInfo, *, wait_s: float = 60.0) -> None:
    """Waits until every running node has a peer connection to every running node it may peer with
    (mutual_peers: each trusts the other)."""
    expected = mutual_peers(net)
    by_index = {n.index: n for n in net.nodes}
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            if all({by_index[i].node_id for i in want} <= set(_ipc_peers(by_index[n])) for n, want in expected.items()):
                return
        except NetworkError:
            pass
        time.sleep(0.3)
    raise NetworkError(f"the geth nodes did not connect to each other within {wait_s:g} s.")


def wait_block(net: NetworkInfo, number: int, *, wait_s: float = 60.0) -> None:
    """Waits until every running node has a block at height `number`."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        heads = [s.head for s in (node_status(n) for n in net.nodes) if s.running]
        if heads and all(h is not None and h >= number for h in heads):
            return
        time.sleep(0.2)
    raise NetworkError(f"the running nodes did not reach block {number} within {wait_s:g} s.")


# -- signers follow governance ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vote:
    """A Clique vote to cast: authorize (True) or drop (False) `signer`."""

    signer: str
    authorize: bool


def _differences(registry: Mapping[str, bool], signers: Iterable[str]) -> tuple[list[str], list[str]]:
    """(active validators that do not seal, sealing signers that are not active validators), sorted."""
    active = {to_checksum_address(s) for s, ok in registry.items() if ok}
    current = {to_checksum_address(s) for s in signers}
    return sorted(active - current), sorted(current - active)


def plan_votes(registry: Mapping[str, bool], signers: Iterable[str]) -> list[Vote]:
    """The votes that make the Clique signer set equal the registry's active validators.

    `registry` maps each registered signer address to whether it may seal now; a signer that is sealing but
    not registered (or registered and suspended) is voted out, an active one that is not sealing is voted in.
    A registry without any active validator is refused: following it would vote out every signer, and a
    Clique chain without signers stops for good."""
    if not any(registry.values()):
        raise InvalidInput(
            "the registry lists no active validator; following it would vote out every signer. Admit the "
            "validators first (their signer addresses are in `creditshare network status --json`)."
        )
    missing, extra = _differences(registry, signers)
    return [Vote(s, True) for s in missing] + [Vote(s, False) for s in extra]


def drift(registry: Mapping[str, bool], signers: Iterable[str]) -> list[str]:
    """Human lines naming each difference between the registry's active validators and the signer set."""
    missing, extra = _differences(registry, signers)
    return [f"{s} is an active validator but does not seal" for s in missing] + [
        f"{s} seals but is not an active validator" for s in extra
    ]


def cast_votes(node: NodeInfo, votes: Iterable[Vote]) -> int:
    """Casts each vote on `node` (clique_propose); the node's signer includes it in the blocks it seals."""
    count = 0
    for vote in votes:
        rpc(node.rpc_url, "clique_propose", [vote.signer, vote.authorize])
        count += 1
    return count
