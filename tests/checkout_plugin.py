"""Makes a test session this checkout's own. Loaded first (``-p tests.checkout_plugin``
in pyproject's pytest addopts), before brownie's plugin compiles the project or
starts its Anvil, so plain ``python -m pytest`` works as ``make test`` does:

- the compiler: py-solc-x finds the solc-js shim that ``make setup`` writes in
  .stamps/solcx (SOLCX_BINARY_PATH); nothing is looked up or written in ~/.solcx;
- the chain: brownie's ``development`` network is defined here, in memory: Anvil
  (this checkout's node_modules) on 127.0.0.1 at this checkout's port
  (``creditshare.core.config.dev_chain_port``: derived from the checkout's path,
  CREDITSHARE_DEV_PORT overrides; another free port if a foreign process holds it,
  so the tests never attach to someone else's chain), chain id 31337, zero base fee
  and gas price, 30M gas, 10 accounts. Brownie's global ~/.brownie/network-config.yaml
  is neither used for it nor edited. CREDITSHARE_DEV_PORT and CREDITSHARE_DEV_RPC_URL
  are exported, so ``network_by_name("development")`` and the CLI subprocesses reach
  the same node;
- hypothesis keeps its example database in .hypothesis/ here, not in ~/.brownie;
- brownie waits for a transaction's receipt before it may call it dropped (see
  ``_receipt_before_drop_check``);
- the package's contract artifacts follow brownie's build when brownie compiled
  changed contracts at session start.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from creditshare.core.config import DEV_PORT_RANGE, dev_chain_port

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


# --- compiler -------------------------------------------------------------------------------------------------

os.environ["SOLCX_BINARY_PATH"] = str(ROOT / ".stamps" / "solcx")  # as the Makefile exports it
_bin = ROOT / "node_modules" / ".bin"
if _bin.is_dir() and os.environ.get("PATH", "").split(os.pathsep)[0] != str(_bin):
    os.environ["PATH"] = os.pathsep.join([str(_bin), os.environ.get("PATH", "")])


# --- the test chain's port and network --------------------------------------------------------------------------


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


_PORT_LOCKS: list[Any] = []  # held for the whole session: the port is this session's


def _claim(port: int) -> bool:
    """An exclusive lock on the port for this session, so two sessions started at the same moment in this
    checkout cannot both find the port free and then share one Anvil (the second attaching to the first's)."""
    folder = ROOT / ".stamps" / "ports"
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / f"{port}.lock", "w")  # noqa: SIM115 -- kept open until the process exits
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return False
    _PORT_LOCKS.append(handle)
    return True


def choose_port() -> int:
    """CREDITSHARE_DEV_PORT as given; else this checkout's port, or the next free one in the range that no other
    session of this checkout has claimed."""
    if os.environ.get("CREDITSHARE_DEV_PORT"):
        return dev_chain_port()
    preferred = dev_chain_port()
    size = len(DEV_PORT_RANGE)
    for step in range(200):
        port = DEV_PORT_RANGE.start + (preferred - DEV_PORT_RANGE.start + step) % size
        if _claim(port) and _port_is_free(port):
            if step:
                print(f"\nport {preferred} is taken; this session's test Anvil uses {port}", file=sys.stderr)
            return port
    raise pytest.UsageError(f"no free port near {preferred} for the test Anvil; set CREDITSHARE_DEV_PORT")


def _state_cache(port: int) -> str:
    """`--cache-path` for this session's Anvil: the past states it moves out of memory, which Anvil never
    deletes (by default under ~/.foundry/anvil/tmp, where 64 GB had piled up); emptied now and at exit."""
    folder = ROOT / ".stamps" / "anvil-cache" / str(port)
    shutil.rmtree(folder, ignore_errors=True)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return f" --cache-path {folder}" if " " not in str(folder) else ""  # brownie splits its cmd on spaces


def _configure_network(port: int) -> None:
    from brownie._config import CONFIG

    CONFIG.networks["development"] = {
        "id": "development",
        "name": "Anvil (this checkout's test chain)",
        # brownie picks its Anvil backend by the "anvil" prefix; PATH starts with node_modules/.bin
        "cmd": "anvil" + _state_cache(port),
        "host": f"http://{HOST}",
        "cmd_settings": {  # Anvil's command line
            "port": port,
            "chain_id": 31337,
            "base_fee": 0,  # a permissioned chain: zero base fee and gas price
            "gas_price": 0,
            "gas_limit": 30_000_000,
            "accounts": 10,
        },
    }


PORT = choose_port()
os.environ["CREDITSHARE_DEV_PORT"] = str(PORT)
os.environ["CREDITSHARE_DEV_RPC_URL"] = f"http://{HOST}:{PORT}"
_configure_network(PORT)


# --- brownie's dropped-transaction check ------------------------------------------------------------------------


def _receipt_before_drop_check(original: Callable[..., None]) -> Callable[..., None]:
    """Brownie calls a transaction dropped when the sender's nonce has passed it while no receipt
    is found. Anvil mines in the background and makes the new nonce visible a moment before the
    receipt (measured here: 52 of 2,000 transfers, on 2 cores with one kept busy), so under load
    brownie raised "Tx dropped without known replacement" for mined transactions (and hypothesis,
    replaying such an example, `Flaky`). Wait for the receipt while the node still knows the
    transaction; if it forgets it, brownie's own logic decides (a real drop or replacement)."""
    from brownie.network.web3 import web3
    from web3.exceptions import TransactionNotFound

    def wait_then_confirm(self: Any, block_number: int | None = None, required_confs: int = 1) -> None:
        if required_confs > 0 and self.nonce is not None:
            delay, deadline = 0.005, time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    receipt = web3.eth.get_transaction_receipt(self.txid)
                    if receipt is not None and receipt["blockHash"] is not None:
                        break
                except TransactionNotFound:
                    pass
                try:
                    web3.eth.get_transaction(self.txid)
                except TransactionNotFound:
                    break
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
        original(self, block_number, required_confs)

    return wait_then_confirm


def _patch_brownie() -> None:
    from brownie.network.transaction import TransactionReceipt

    if not getattr(TransactionReceipt._await_confirmation, "_creditshare", False):
        patched = _receipt_before_drop_check(TransactionReceipt._await_confirmation)
        patched._creditshare = True  # type: ignore[attr-defined]
        TransactionReceipt._await_confirmation = patched  # type: ignore[method-assign]


_patch_brownie()


# --- after brownie loaded the project ---------------------------------------------------------------------------


def _export_artifacts_if_stale() -> None:
    build = ROOT / "build" / "contracts"
    target = ROOT / "creditshare" / "core" / "artifacts"
    built = {p.name: p.stat().st_mtime for p in build.glob("*.json")}
    exported = {p.name: p.stat().st_mtime for p in target.glob("*.json")}
    if built and (built.keys() != exported.keys() or max(built.values()) > min(exported.values())):
        sys.path.insert(0, str(ROOT / "scripts"))
        try:
            from export_artifacts import export
        finally:
            sys.path.remove(str(ROOT / "scripts"))
        export(build, target)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    from hypothesis import settings
    from hypothesis.database import DirectoryBasedExampleDatabase

    # brownie's current profile carries brownie-config.yaml's values; only the database moves
    current = settings.get_profile(settings._current_profile)  # type: ignore[attr-defined]
    settings.register_profile(
        "creditshare", parent=current, database=DirectoryBasedExampleDatabase(str(ROOT / ".hypothesis" / "examples"))
    )
    settings.load_profile("creditshare")
    _export_artifacts_if_stale()


def pytest_report_header() -> str:
    return f"test chain: Anvil on {os.environ['CREDITSHARE_DEV_RPC_URL']} (chain id 31337)"
