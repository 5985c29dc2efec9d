"""Settings: where data lives and which network to talk to.

Everything comes from the environment (prefix ``CREDITSHARE_``) or CLI options;
nothing secret is read from here. Networks:

- ``development``: the ephemeral Anvil that the tests start (brownie), on this
  checkout's own port (see ``dev_chain_port``).
- ``local``: the persistent Anvil that ``creditshare chain start`` runs on
  127.0.0.1:8545, with its state file under the data folder.
- ``consortium``: any EVM JSON-RPC endpoint (Hyperledger Besu QBFT first of all),
  given by ``CREDITSHARE_RPC_URL`` and ``CREDITSHARE_CHAIN_ID``; without them, a node of
  the geth Clique network that ``creditshare network init`` wrote in the data folder
  (node ``CREDITSHARE_NODE``, 0 by default).

On a proof-of-authority network the chain client reports a chain whose last block is older
than ``CREDITSHARE_STALL_S`` seconds (30 by default) as stalled instead of waiting.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from creditshare.core.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NETWORKS = ("development", "local", "consortium")


@dataclass(frozen=True)
class Network:
    """One chain the tools can talk to."""

    name: str
    rpc_url: str
    chain_id: int
    poa: bool  # blocks carry QBFT/Clique extra data longer than 32 bytes
    gas_price: int  # wei; 0 on a permissioned chain
    stall_s: float = 0.0  # a head older than this is a stalled chain (0: never checked, e.g. Anvil)


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one command."""

    data_dir: Path
    network: Network

    @property
    def deployments_file(self) -> Path:
        return self.data_dir / "deployments" / f"{self.network.name}.json"

    @property
    def keystore_dir(self) -> Path:
        return self.data_dir / "keystore"

    @property
    def local_chain_dir(self) -> Path:
        return self.data_dir / "local-chain"

    @property
    def evidence_dir(self) -> Path:
        return self.data_dir / "evidence"


def _env_int(name: str, default: int, low: int = 0, high: int = 2**63 - 1) -> int:
    """An integer setting from the environment: ASCII digits only, within [low, high]."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 19):
        raise ConfigError(f"{name} must be an integer; got {raw!r}.")
    value = int(text)
    if not low <= value <= high:
        raise ConfigError(f"{name} must lie between {low} and {high}; got {value}.")
    return value


def _rpc_url(name: str, raw: str) -> str:
    """A JSON-RPC endpoint from the environment: http(s) or ws(s) with a host; credentials never echoed."""
    url = raw.strip()
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https", "ws", "wss") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0..65535
    except ValueError:
        valid = False
    if not valid:
        shown = url.split("@", 1)[-1] if "@" in url else url
        raise ConfigError(f"{name} must be an http(s):// or ws(s):// URL with a host; got {shown!r}.")
    return url


# the test Anvil's port is taken from this range: below Linux's ephemeral ports (32768+), so
# no outgoing connection holds it, and away from the usual 8545/8546
DEV_PORT_RANGE = range(20000, 30000)


def dev_chain_port() -> int:
    """The port of this checkout's test Anvil (the ``development`` network).

    CREDITSHARE_DEV_PORT if set; otherwise derived from the checkout's path, so two
    checkouts on one machine do not share a test chain. The test session takes
    another free port if this one is held by someone else, and exports it in
    CREDITSHARE_DEV_PORT and CREDITSHARE_DEV_RPC_URL.
    """
    port = _env_int("CREDITSHARE_DEV_PORT", 0, 0, 65535)
    if port:
        return port
    digest = hashlib.sha256(str(PROJECT_ROOT).encode("utf-8")).digest()
    return DEV_PORT_RANGE.start + int.from_bytes(digest[:4], "big") % len(DEV_PORT_RANGE)


DEFAULT_STALL_S = 30


def stall_seconds() -> float:
    """CREDITSHARE_STALL_S: how old the last block may be before a proof-of-authority chain counts as stalled."""
    return float(_env_int("CREDITSHARE_STALL_S", DEFAULT_STALL_S, 1, 86_400))


def geth_network_node(data_dir: Path) -> Network | None:
    """The consortium network as node CREDITSHARE_NODE (default 0) of the geth network under <data>/geth-network
    (written by `creditshare network init`), or None if there is none."""
    path = data_dir / "geth-network" / "network.json"
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        nodes = raw["nodes"]
        chain_id = int(raw["chain_id"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as err:
        raise ConfigError(f"the network description {path} is unreadable ({err}); run `network init --force`.") from err
    index = _env_int("CREDITSHARE_NODE", 0, 0, max(len(nodes) - 1, 0))
    try:
        port = int(nodes[index]["http_port"])
    except (IndexError, KeyError, TypeError, ValueError) as err:
        raise ConfigError(f"the network description {path} has no node {index}.") from err
    return Network("consortium", f"http://127.0.0.1:{port}", chain_id, True, 0, stall_seconds())


def network_by_name(name: str) -> Network:
    """The network called `name`, with overrides from the environment."""
    if name == "development":
        raw = os.environ.get("CREDITSHARE_DEV_RPC_URL")
        dev_url = _rpc_url("CREDITSHARE_DEV_RPC_URL", raw) if raw else f"http://127.0.0.1:{dev_chain_port()}"
        return Network(name, dev_url, 31337, poa=False, gas_price=0)
    if name == "local":
        port = _env_int("CREDITSHARE_LOCAL_PORT", 8545, 1, 65535)
        chain_id = _env_int("CREDITSHARE_LOCAL_CHAIN_ID", 1337, 1)
        return Network(name, f"http://127.0.0.1:{port}", chain_id, False, 0)
    if name == "consortium":
        raw = os.environ.get("CREDITSHARE_RPC_URL")
        if not raw:
            raise ConfigError("the consortium network needs CREDITSHARE_RPC_URL (the JSON-RPC endpoint of a node).")
        url = _rpc_url("CREDITSHARE_RPC_URL", raw)
        chain_id = _env_int("CREDITSHARE_CHAIN_ID", 0)
        if chain_id <= 0:
            raise ConfigError("the consortium network needs CREDITSHARE_CHAIN_ID (a positive integer).")
        poa = os.environ.get("CREDITSHARE_POA", "1") not in ("0", "false", "no")
        return Network(name, url, chain_id, poa, _env_int("CREDITSHARE_GAS_PRICE", 0), stall_seconds() if poa else 0)
    raise ConfigError(f"unknown network {name!r}; choose one of {', '.join(NETWORKS)}.")


def load_settings(network: str | None = None, data_dir: str | Path | None = None) -> Settings:
    """Settings from arguments first, then the environment, then defaults.

    The data folder need not exist yet (commands create what they write), but
    a path that names something else than a folder is refused here, once,
    rather than as an OSError in whichever command first writes there.
    """
    name = network or os.environ.get("CREDITSHARE_NETWORK") or "local"
    given = data_dir or os.environ.get("CREDITSHARE_DATA_DIR") or PROJECT_ROOT / "data"
    try:
        folder = Path(given).expanduser().resolve()
    except (OSError, RuntimeError, ValueError) as err:  # a symlink loop, a NUL byte
        raise ConfigError(f"the data folder {given} cannot be resolved: {err}.") from err
    try:
        info = folder.stat()
    except FileNotFoundError:
        info = None  # created when first written to
    except OSError as err:  # a name too long, a component that is a file, no permission
        raise ConfigError(f"the data folder {folder} cannot be used: {err.strerror or err}.") from err
    if info is not None and not stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"the data folder {folder} is not a folder; choose another with --data-dir.")
    if name == "consortium" and not os.environ.get("CREDITSHARE_RPC_URL"):
        node = geth_network_node(folder)
        if node is not None:
            return Settings(data_dir=folder, network=node)
    return Settings(data_dir=folder, network=network_by_name(name))
