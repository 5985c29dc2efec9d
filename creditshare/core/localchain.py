"""The persistent local chain: an Anvil node on 127.0.0.1 whose state survives restarts.

Started with ``--state`` (load at start, save at exit) and a periodic dump, so
``creditshare chain stop`` (SIGTERM) keeps every confirmed transaction and
deployment. A SIGKILL loses what came after the last periodic dump; the tools
that write to the chain re-read what is stored and send only what is missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import requests

from creditshare.core.config import PROJECT_ROOT, Settings
from creditshare.core.errors import ChainError, ConfigError

# each periodic dump serialises the whole chain (blocks, receipts, state), which
# stalls the node for longer as the chain grows; a crash loses at most this much,
# and the tools resubmit what is missing
STATE_INTERVAL_S = 30
GAS_LIMIT = 60_000_000


@dataclass(frozen=True)
class ChainStatus:
    running: bool
    pid: int | None
    rpc_url: str
    chain_id: int | None
    block: int | None
    state_file: Path
    state_bytes: int


def anvil_binary() -> str:
    configured = os.environ.get("CREDITSHARE_ANVIL")
    candidates = [configured] if configured else []
    # the platform binary itself, not npm's node launcher in .bin: a signal must reach the
    # process that writes the state file
    candidates += [str(p) for p in sorted((PROJECT_ROOT / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil"))]
    candidates += [str(PROJECT_ROOT / "node_modules" / ".bin" / "anvil"), shutil.which("anvil") or ""]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    raise ConfigError("anvil not found: run `make setup` (it installs @foundry-rs/anvil from npm).")


def free_ports(n: int, exclude: Iterable[int] = ()) -> list[int]:
    """n distinct TCP ports on 127.0.0.1 that are free right now (for chains, daemons and MPC parties).

    All n sockets stay bound until every port is chosen, so the kernel never hands out one port twice
    (asking n times for "any free port" and closing each socket in between can return the same port).
    """
    taken = set(exclude)
    socks: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < n:
            sock = socket.socket()
            socks.append(sock)
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
            if port not in taken:
                taken.add(port)
                ports.append(port)
    finally:
        for sock in socks:
            sock.close()
    return ports


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    return free_ports(1)[0]


def _paths(settings: Settings) -> tuple[Path, Path, Path]:
    folder = settings.local_chain_dir
    return folder / "state.json", folder / "anvil.pid", folder / "anvil.log"


def _state_cache(settings: Settings) -> Path:
    """Where this node's Anvil writes the past states it moves out of memory (`--cache-path`). Anvil never
    deletes them (by default under ~/.foundry/anvil/tmp: 64 GB had piled up on one machine), so the folder
    lives beside the chain's state file and is emptied at every start and stop."""
    return settings.local_chain_dir / "anvil-cache"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child is not alive
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _rpc(url: str, method: str) -> int | None:
    try:
        response = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": []}, timeout=2)
        return int(response.json()["result"], 16)
    except (requests.RequestException, KeyError, ValueError):
        return None


def _read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _pid_alive(pid) else None


def status(settings: Settings) -> ChainStatus:
    state_file, pid_file, _ = _paths(settings)
    pid = _read_pid(pid_file)
    url = settings.network.rpc_url
    chain_id = _rpc(url, "eth_chainId")
    block = _rpc(url, "eth_blockNumber") if chain_id is not None else None
    size = state_file.stat().st_size if state_file.exists() else 0
    return ChainStatus(chain_id is not None, pid, url, chain_id, block, state_file, size)


def start(
    settings: Settings,
    timeout_s: float = 30.0,
    state_interval: int | None = STATE_INTERVAL_S,
    genesis_timestamp: int | None = None,
    history_states: int | None = None,
) -> ChainStatus:
    """Starts the local node unless it runs already; returns its status.

    `state_interval` is the seconds between periodic state dumps (None: only at exit).
    `history_states` keeps at most that many past states in memory (Anvil's `--prune-history`): calls at
    older blocks then fail, but a throwaway chain of a million records fits in memory (by default Anvil
    keeps a full state per recent block, about 7 GB at 270k settlements).
    `genesis_timestamp` dates the first block of a new chain (one without a state file), so
    that a replay of past events can run in chain time (see `travel_to`); a chain with saved
    state keeps its own history, and Anvil then resumes at the wall-clock time (passing its
    genesis time again would date new blocks before the saved ones).
    """
    if settings.network.name != "local":
        raise ConfigError(
            f"`chain start` manages the local network only; the {settings.network.name} network "
            "is run by its own operators."
        )
    current = status(settings)
    if current.running:
        if current.chain_id != settings.network.chain_id:
            raise ChainError(f"something else answers on {current.rpc_url} (chain id {current.chain_id}).")
        return current
    state_file, pid_file, log_file = _paths(settings)
    state_file.parent.mkdir(parents=True, exist_ok=True)
    port = settings.network.rpc_url.rsplit(":", 1)[1]
    cmd = [
        anvil_binary(),
        "--host",
        "127.0.0.1",
        "--port",
        port,
        "--chain-id",
        str(settings.network.chain_id),
        # a permissioned chain: no fees, so members need no ether
        "--base-fee",
        "0",
        "--gas-price",
        "0",
        "--gas-limit",
        str(GAS_LIMIT),
        "--state",
        str(state_file),
    ]
    if history_states is not None:
        cmd += ["--prune-history", str(history_states)]
    cache = _state_cache(settings)
    shutil.rmtree(cache, ignore_errors=True)  # the past states of a previous run of this node: unreadable now
    cmd += ["--cache-path", str(cache)]
    if state_interval:
        cmd += ["--state-interval", str(state_interval)]
    if genesis_timestamp is not None and not (state_file.exists() and state_file.stat().st_size):
        if genesis_timestamp > time.time():
            raise ConfigError("the genesis time of a chain cannot lie in the future.")
        cmd += ["--timestamp", str(int(genesis_timestamp))]
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    pid_file.write_text(str(process.pid))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ChainError(f"anvil exited with code {process.returncode}; see {log_file}.")
        if _rpc(settings.network.rpc_url, "eth_chainId") is not None:
            return status(settings)
        time.sleep(0.2)
    process.terminate()
    raise ChainError(f"anvil did not answer on {settings.network.rpc_url} within {timeout_s:.0f}s; see {log_file}.")


def stop(settings: Settings, timeout_s: float = 60.0) -> bool:
    """Stops the local node (it saves its state on the way out). False if it was not running."""
    _, pid_file, _ = _paths(settings)
    pid = _read_pid(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    try:  # the node runs in its own session: signal the whole group
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _pid_alive(pid):
        try:  # reap it if it is our child (tests start and stop in one process)
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    if _pid_alive(pid):
        raise ChainError(f"anvil (pid {pid}) did not stop within {timeout_s:.0f}s.")
    pid_file.unlink(missing_ok=True)
    shutil.rmtree(_state_cache(settings), ignore_errors=True)
    return True


# the only networks whose clock may be moved: the Anvil nodes of this checkout (the persistent local chain and
# the test chain); a consortium chain's time is its validators'
TIME_TRAVEL_NETWORKS = ("local", "development")


def _call(url: str, method: str, params: list[object]) -> object:
    try:
        response = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, timeout=10)
        body = response.json()
    except (requests.RequestException, ValueError) as err:
        raise ChainError(f"{method} failed on the local chain: {type(err).__name__}") from err
    if "error" in body:
        raise ChainError(f"{method} refused by the local chain: {body['error'].get('message', body['error'])}")
    return body.get("result")


def chain_time(settings: Settings) -> int:
    """The timestamp of the latest block of the local chain."""
    block = _call(settings.network.rpc_url, "eth_getBlockByNumber", ["latest", False])
    if not isinstance(block, dict):
        raise ChainError("the local chain returned no latest block.")
    return int(block["timestamp"], 16)


def travel_to(settings: Settings, timestamp: int) -> int:
    """Mines the next block of a local Anvil node at `timestamp` (it then keeps ticking from there);
    returns the new block's time. Development chains only: a demo replays a year of events at their own
    dates, a test ages a score. Refuses any other network, a node that is not Anvil, and going back.
    """
    network = settings.network
    host = network.rpc_url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    if network.name not in TIME_TRAVEL_NETWORKS or host not in ("127.0.0.1", "localhost"):
        raise ConfigError(
            f"only a local development chain's time may be moved; the {network.name} network keeps its own clock."
        )
    client = _call(network.rpc_url, "web3_clientVersion", [])
    if not str(client).lower().startswith("anvil"):
        raise ConfigError(f"only an Anvil node's time may be moved; {network.rpc_url} runs {client}.")
    now = chain_time(settings)
    if timestamp <= now:
        raise ChainError(f"the local chain is at {now} already; its time cannot go back to {timestamp}.")
    _call(network.rpc_url, "evm_setNextBlockTimestamp", [int(timestamp)])
    _call(network.rpc_url, "evm_mine", [])
    return chain_time(settings)
