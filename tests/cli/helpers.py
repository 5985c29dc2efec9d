"""Driving the real `creditshare` command (typer's CliRunner in-process, and subprocesses where exit
codes and streams matter) against the test Anvil: the `Cli` runner, a deployed consortium, CSV rows."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from brownie import web3
from typer.testing import CliRunner

from creditshare.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class Cli:
    """Runs `creditshare` with a private data folder on the development network."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.env = {
            "CREDITSHARE_DATA_DIR": str(data_dir),
            "CREDITSHARE_NETWORK": "development",
            "CREDITSHARE_DEV_RPC_URL": web3.provider.endpoint_uri,
            "CREDITSHARE_PASSWORD": "test-password",
            "CREDITSHARE_SCRYPT_N": "16",  # throwaway test keys: cheap to unlock
        }
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True, account: str | None = None, input: str | None = None) -> Any:
        argv = list(args) + (["--account", account] if account else [])
        result = self.runner.invoke(app, argv, env=self.env, input=input, catch_exceptions=False)
        if ok and result.exit_code != 0:
            raise AssertionError(f"creditshare {' '.join(argv)} failed ({result.exit_code}):\n{result.stderr}")
        return result

    def json(self, *args: str, account: str | None = None) -> Any:
        return json.loads(self("--json", *args, account=account).stdout)

    def subprocess_env(self) -> dict[str, str]:
        return {**os.environ, **self.env}


def stored(c: Cli) -> list[str]:
    """The files in the data folder's evidence store."""
    folder = c.data_dir / "evidence"
    return sorted(str(p) for p in folder.rglob("*")) if folder.exists() else []


def refused(c: Cli, *args: str, account: str | None = None, code: int = 1, **env: str) -> str:
    """Runs a command that must be refused: exit `code`, one `error:` line (1) or typer's usage error (2), no
    traceback, no 'this is a bug', no block mined, nothing stored in the evidence folder. Returns stderr."""
    block, docs = web3.eth.block_number, stored(c)
    saved = dict(c.env)
    c.env.update(env)
    try:
        result = c(*args, ok=False, account=account)
    finally:
        c.env = saved
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "this is a bug" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: " if code == 1 else "Usage: "), result.stderr
    assert web3.eth.block_number == block and stored(c) == docs
    return result.stderr


def admit_oracle(cli: Cli, name: str, org: str | None = None) -> str:
    """A new key `name` admitted as an ORACLE member of `org` (default uscc:NAME) by the committee (c1 proposes,
    c2 approves); returns its address."""
    address = str(cli.json("keys", "new", name)["address"])
    p = cli.json(
        "members",
        "propose",
        "admit",
        "--member",
        name,
        "--org",
        org or f"uscc:{name.upper()}",
        "--role",
        "ORACLE",
        account="c1",
    )
    cli("members", "approve", str(p["id"]), account="c2")
    return address


def write_csv(folder: Path, rows: list[str], name: str = "s.csv") -> Path:
    """A settlement CSV in `folder`, with evidence files evidence/waybill-*.txt copied beside it."""
    evidence = folder / "evidence"
    if not evidence.exists():
        shutil.copytree(EXAMPLES / "evidence", evidence)
    header = "reference,shipper,platform,carrier,amount_fen,invoice_date,due_date,evidence"
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def row(
    ref: str,
    *,
    shipper: str = "uscc:SHIP1",
    platform: str = "uscc:PLAT1",
    carrier: str = "driver:D1",
    amount: str = "125000",
    invoice: str = "2026-01-05",
    due: str = "2026-02-04",
    evidence: str = "evidence/waybill-1.txt",
) -> str:
    return ",".join([ref, shipper, platform, carrier, amount, invoice, due, evidence])


def deployed_cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """A deployed consortium: committee c1..c3 (2 of 3), platform `plat`, shipper `ship`, lender `bank`,
    a second shipper `ship2` that gets suspended by some tests, and `outsider` (no member)."""
    c = Cli(tmp_path_factory.mktemp("cli-data"))
    for name in ("c1", "c2", "c3", "plat", "ship", "ship2", "bank", "outsider"):
        c("keys", "new", name)
    c(
        "deploy",
        "--committee",
        "c1=uscc:C1",
        "--committee",
        "c2=uscc:C2",
        "--committee",
        "c3=uscc:C3",
        "--threshold",
        "2",
        account="c1",
    )
    for name, org, role in (
        ("plat", "uscc:PLAT1", "PLATFORM"),
        ("ship", "uscc:SHIP1", "SHIPPER"),
        ("ship2", "uscc:SHIP2", "SHIPPER"),
        ("bank", "uscc:BANK1", "LENDER"),
    ):
        proposal = c.json("members", "propose", "admit", "--member", name, "--org", org, "--role", role, account="c1")
        c("members", "approve", str(proposal["id"]), account="c2")
    return c
