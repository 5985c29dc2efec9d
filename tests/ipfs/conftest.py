"""The IPFS tests: one network of 3 real Kubo daemons on 127.0.0.1 (built by `make kubo`), created and started
through the real CLI once per session and stopped at its end. Every test here is marked `ipfs`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import creditshare.cli as cli_root
from creditshare.cli import evidence_cmd, ipfs_cmd
from creditshare.core import ipfs
from creditshare.core.errors import ConfigError

HERE = Path(__file__).parent
NODES = 3


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.ipfs)


def _app() -> typer.Typer:
    """`creditshare` itself once it registers the ipfs and evidence groups; until then the same root (its
    error boundary and global options) with those two groups added."""
    names = {g.name for g in cli_root.app.registered_groups}
    if {"ipfs", "evidence"} <= names:
        return cli_root.app
    app = typer.Typer(cls=cli_root._Root, pretty_exceptions_enable=False, add_completion=False)
    app.callback()(cli_root._global)
    app.add_typer(ipfs_cmd.app, name="ipfs")
    app.add_typer(evidence_cmd.app, name="evidence")
    return app


class IpfsCli:
    """Runs `creditshare ipfs|evidence ...` with the network's data folder and the IPFS backend."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.app = _app()
        self.runner = CliRunner()
        self.env = {
            "CREDITSHARE_DATA_DIR": str(data_dir),
            "CREDITSHARE_EVIDENCE": "ipfs",
            "CREDITSHARE_IPFS_TIMEOUT": "4",
        }

    def __call__(self, *args: str, ok: bool = True, **env: str) -> Any:
        result = self.runner.invoke(self.app, list(args), env={**self.env, **env}, catch_exceptions=False)
        if ok and result.exit_code != 0:
            raise AssertionError(f"creditshare {' '.join(args)} failed ({result.exit_code}):\n{result.stderr}")
        return result

    def json(self, *args: str, **env: str) -> Any:
        return json.loads(self("--json", *args, **env).stdout)

    def nodes(self) -> list[ipfs.NodeInfo]:
        return ipfs.load_network(self.data_dir)


@pytest.fixture(scope="session")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IpfsCli]:
    try:
        ipfs.kubo_binary()
    except ConfigError as err:
        pytest.skip(str(err))
    c = IpfsCli(tmp_path_factory.mktemp("ipfs-data"))
    c("ipfs", "init", "--nodes", str(NODES))
    try:
        c("ipfs", "up")
        yield c
    finally:
        c("ipfs", "down")
