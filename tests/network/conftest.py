"""The network tests: ONE network of 4 real geth Clique signers on 127.0.0.1 (built by `make geth`), created,
started and given a deployed consortium through the real CLI once per session, stopped at its end. Every test
here is marked `network`; the drills run in file order on that one network (each leaves all 4 nodes up)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from creditshare.cli import app
from creditshare.core import network
from creditshare.core.errors import ConfigError

HERE = Path(__file__).parent
NODES = 4
STALL_S = "4"  # a head older than this is a stalled chain (Clique period 1 s)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.network)


class NetCli:
    """Runs `creditshare` on the consortium profile: node `node` of the session's geth network."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.runner = CliRunner()
        self.env = {
            "CREDITSHARE_DATA_DIR": str(data_dir),
            "CREDITSHARE_NETWORK": "consortium",
            "CREDITSHARE_RPC_URL": "",
            "CREDITSHARE_PASSWORD": "test-password",
            "CREDITSHARE_SCRYPT_N": "16",  # throwaway test keys: cheap to unlock
            "CREDITSHARE_STALL_S": STALL_S,
        }

    def __call__(self, *args: str, ok: bool = True, account: str | None = None, node: int = 0, **env: str) -> Any:
        argv = list(args) + (["--account", account] if account else [])
        result = self.runner.invoke(
            app, argv, env={**self.env, "CREDITSHARE_NODE": str(node), **env}, catch_exceptions=False
        )
        if ok and result.exit_code != 0:
            raise AssertionError(f"creditshare {' '.join(argv)} failed ({result.exit_code}):\n{result.stderr}")
        return result

    def json(self, *args: str, account: str | None = None, node: int = 0) -> Any:
        return json.loads(self("--json", *args, account=account, node=node).stdout)

    @property
    def net(self) -> network.NetworkInfo:
        return network.load_network(self.data_dir)

    def head(self, node: int) -> int:
        status = network.node_status(self.net.nodes[node])
        assert status.head is not None, f"node {node} is down"
        return status.head

    def wait_head(self, node: int, number: int, wait_s: float = 40.0) -> None:
        deadline = time.monotonic() + wait_s
        while self.head(node) < number:
            assert time.monotonic() < deadline, f"node {node} did not reach block {number} within {wait_s} s"
            time.sleep(0.2)

    def block_hash(self, node: int, number: int) -> str:
        block = network.rpc(self.net.nodes[node].rpc_url, "eth_getBlockByNumber", [hex(number), False])
        return str(block["hash"]) if block else ""

    def converged(self, nodes: list[int], wait_s: float = 40.0) -> int:
        """Waits until `nodes` agree on the hash of a common block (the lowest of their heads; under load two
        Clique signers can seal competing blocks at the tip, resolved a block or two later); returns its number."""
        deadline = time.monotonic() + wait_s
        while True:
            number = min(self.head(i) for i in nodes)
            hashes = {self.block_hash(i, number) for i in nodes}
            if len(hashes) == 1:
                return number
            assert time.monotonic() < deadline, f"nodes {nodes} disagree on block {number}: {hashes}"
            time.sleep(0.3)


@pytest.fixture(scope="session")
def netcli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetCli]:
    """A 4-signer network, up, with the contracts deployed by committee member c1 (threshold 1), platform
    `plat` and shipper `ship` admitted."""
    try:
        network.geth_binary()
    except ConfigError as err:
        pytest.skip(str(err))
    c = NetCli(tmp_path_factory.mktemp("net-data"))
    c("network", "init", "--validators", str(NODES))
    try:
        c("network", "up")
        for name in ("c1", "plat", "ship"):
            c("keys", "new", name)
        c("deploy", "--committee", "c1=uscc:NETC1", "--threshold", "1", account="c1")
        for name, org, role in (("plat", "uscc:NETPLAT", "PLATFORM"), ("ship", "uscc:NETSHIP", "SHIPPER")):
            c("members", "propose", "admit", "--member", name, "--org", org, "--role", role, account="c1")
        yield c
    finally:
        for node in c.net.nodes:
            network.stop_node(node)
