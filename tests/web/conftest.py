"""The member console against the test Anvil: a small scored market made with the real CLI (tests/cli helpers,
tests/cli/lender_scenario.py), and `creditshare serve` in a real subprocess for the lender `bank`.

The web tests do not revert the chain between tests (the server reads the live chain): each module builds its
market once and its tests run in order on it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from creditshare.core.localchain import free_port
from tests.cli.helpers import Cli, deployed_cli
from tests.cli.lender_scenario import list_entry, scored_market

HERE = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.chain)


class Server:
    """`creditshare serve` in a subprocess, and an httpx client on it."""

    def __init__(self, cli: Cli, account: str, card: Path | None, log: Path) -> None:
        self.cli = cli
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("w")
        argv = [
            str(Path(sys.executable).parent / "creditshare"),
            "serve",
            "--port",
            str(self.port),
            "--account",
            account,
        ]
        argv += (["--card", str(card)] if card else []) + ["--max-age-days", "0"]
        self.process = subprocess.Popen(argv, env=cli.subprocess_env(), stdout=self.log, stderr=subprocess.STDOUT)
        self.http = httpx.Client(base_url=self.url, timeout=60, follow_redirects=False)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.http.get("/static/console.css")
                break
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the console did not start:\n{log.read_text()}") from None
                time.sleep(0.2)
        self.token = (cli.data_dir / "console" / f"{account}.token").read_text().strip()
        self.api = httpx.Client(
            base_url=self.url, timeout=60, headers={"Authorization": f"Bearer {self.token}"}, follow_redirects=False
        )

    def head(self) -> int:
        from brownie import web3

        return int(web3.eth.block_number)

    def stop(self) -> None:
        self.http.close()
        self.api.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture(scope="package")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return deployed_cli(tmp_path_factory)


@pytest.fixture(scope="package")
def market(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two scored shippers (SHIP1, SHIP2), a list entry about SHIP2 by `maint`, the bank funded for views, and
    SHIP2's consent to the bank (credit-line, every scope)."""
    folder = tmp_path_factory.mktemp("web-market")
    card, epochs = scored_market(cli, folder)
    list_entry(cli, folder)
    cli("token", "mint", "bank", "100000", account="c1")
    cli(
        "consent",
        "grant",
        "--lender",
        "bank",
        "--purpose",
        "credit-line",
        "--scope",
        "all",
        "--days",
        "30",
        account="ship2",
    )
    return {"folder": folder, "card": card, "epochs": epochs}


@pytest.fixture(scope="package")
def server(cli: Cli, market: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    s = Server(cli, "bank", market["card"], tmp_path_factory.mktemp("web-server") / "serve.log")
    yield s
    s.stop()
