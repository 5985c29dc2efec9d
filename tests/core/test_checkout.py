"""A checkout is self-contained: its own test chain port, compiler folder, contract artifacts
in the package, shared data found beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from brownie import web3
from hypothesis import settings

from creditshare.core import chain, config
from creditshare.core.config import DEV_PORT_RANGE, dev_chain_port, network_by_name
from tests.data import shared_data_file

CHECKOUT = Path(__file__).resolve().parents[2]


def test_dev_port_is_derived_from_the_checkout_path(monkeypatch):
    monkeypatch.delenv("CREDITSHARE_DEV_PORT", raising=False)
    monkeypatch.delenv("CREDITSHARE_DEV_RPC_URL", raising=False)
    here = dev_chain_port()
    assert here in DEV_PORT_RANGE and here == dev_chain_port()
    assert network_by_name("development").rpc_url == f"http://127.0.0.1:{here}"
    others = set()
    for folder in ("/tmp/cs-clone", "/srv/ci/creditshare", "/home/a/creditshare"):
        monkeypatch.setattr(config, "PROJECT_ROOT", Path(folder))
        others.add(dev_chain_port())
    assert len(others) == 3 and all(p in DEV_PORT_RANGE for p in others)


def test_dev_port_and_url_from_the_environment(monkeypatch):
    monkeypatch.delenv("CREDITSHARE_DEV_RPC_URL", raising=False)
    monkeypatch.setenv("CREDITSHARE_DEV_PORT", "24567")
    assert network_by_name("development").rpc_url == "http://127.0.0.1:24567"
    monkeypatch.setenv("CREDITSHARE_DEV_RPC_URL", "http://127.0.0.1:25000")
    assert network_by_name("development").rpc_url == "http://127.0.0.1:25000"


@pytest.mark.chain
def test_the_cli_development_network_is_the_test_chain():
    """brownie's Anvil, CREDITSHARE_DEV_RPC_URL and network_by_name agree (tests/checkout_plugin.py)."""
    url = network_by_name("development").rpc_url
    assert web3.provider.endpoint_uri == url == os.environ["CREDITSHARE_DEV_RPC_URL"]
    block = web3.eth.get_block("latest")
    chain_settings = (web3.eth.chain_id, block.baseFeePerGas, block.gasLimit, len(web3.eth.accounts))
    assert chain_settings == (31337, 0, 30_000_000, 10)


def test_compiler_folder_is_the_checkouts():
    assert Path(os.environ["SOLCX_BINARY_PATH"]) == CHECKOUT / ".stamps" / "solcx"


def test_hypothesis_keeps_brownie_config_and_a_database_in_the_checkout():
    current = settings.default
    assert (current.max_examples, current.deadline) == (25, None)  # brownie-config.yaml's hypothesis section
    assert Path(current.database.path) == CHECKOUT / ".hypothesis" / "examples"


def test_artifacts_are_package_data():
    folder = Path(str(chain._artifacts()))
    assert folder.parent == Path(chain.__file__).parent
    art = chain.artifact("SettlementLedger")
    assert art["abi"] and len(bytes.fromhex(art["bytecode"].removeprefix("0x"))) > 100


def test_shared_data_file(monkeypatch, tmp_path):
    (tmp_path / "x.csv").write_text("a\n")
    monkeypatch.setenv("CREDITSHARE_SHARED_DATA", str(tmp_path))
    assert shared_data_file("x.csv") == tmp_path / "x.csv"
    with pytest.raises(FileNotFoundError, match="CREDITSHARE_SHARED_DATA"):
        shared_data_file("missing.csv")
