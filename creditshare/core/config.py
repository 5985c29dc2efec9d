"""Settings: where data lives and which network to talk to.

Everything comes from the environment (prefix ``CREDITSHARE_``) or CLI options;
nothing secret is read from here. Networks:

- ``development``: the ephemeral Anvil that the tests start (brownie), on this
  checkout's own port (see ``dev_chain_port``).
- ``local``: the persistent Anvil that ``creditshare chain start`` runs on
  127.0.0.1:8545, with its state file under the data folder.
- ``consortium``: any EVM JSON-RPC endpoint (Hyperledger Besu QBFT first of all),
  given by ``CREDITSHARE_RPC_URL`` and ``CREDITSHARE_CHAIN_ID``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

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


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as err:
        raise ConfigError(f"{name} must be an integer; got {raw!r}.") from err


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
    port = _env_int("CREDITSHARE_DEV_PORT", 0)
    if port:
        return port
    digest = hashlib.sha256(str(PROJECT_ROOT).encode("utf-8")).digest()
    return DEV_PORT_RANGE.start + int.from_bytes(digest[:4], "big") % len(DEV_PORT_RANGE)


def network_by_name(name: str) -> Network:
    """The network called `name`, with overrides from the environment."""
    if name == "development":
        dev_url = os.environ.get("CREDITSHARE_DEV_RPC_URL") or f"http://127.0.0.1:{dev_chain_port()}"
        return Network(name, dev_url, 31337, poa=False, gas_price=0)
    if name == "local":
        port = _env_int("CREDITSHARE_LOCAL_PORT", 8545)
        return Network(name, f"http://127.0.0.1:{port}", _env_int("CREDITSHARE_LOCAL_CHAIN_ID", 1337), False, 0)
    if name == "consortium":
        url = os.environ.get("CREDITSHARE_RPC_URL")
        if not url:
            raise ConfigError("the consortium network needs CREDITSHARE_RPC_URL (the JSON-RPC endpoint of a node).")
        chain_id = _env_int("CREDITSHARE_CHAIN_ID", 0)
        if chain_id <= 0:
            raise ConfigError("the consortium network needs CREDITSHARE_CHAIN_ID (a positive integer).")
        poa = os.environ.get("CREDITSHARE_POA", "1") not in ("0", "false", "no")
        return Network(name, url, chain_id, poa, _env_int("CREDITSHARE_GAS_PRICE", 0))
    raise ConfigError(f"unknown network {name!r}; choose one of {', '.join(NETWORKS)}.")


def load_settings(network: str | None = None, data_dir: str | Path | None = None) -> Settings:
    """Settings from arguments first, then the environment, then defaults."""
    name = network or os.environ.get("CREDITSHARE_NETWORK", "local")
    folder = Path(data_dir or os.environ.get("CREDITSHARE_DATA_DIR") or PROJECT_ROOT / "data").resolve()
    return Settings(data_dir=folder, network=network_by_name(name))
