"""ChainClient.wait_receipt on a network that seals on a schedule (stall_s > 0): time in which no block is
sealed does not use up the "not mined within" limit (a signer restarting pauses the chain; the transaction
waits in the pool and lands once blocks resume), while blocks sealed without it still do. Played on the test
Anvil with automine off. (A pause longer than stall_s ends the wait with ChainStalled: tests/network drills.)"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator

import pytest
from brownie import accounts, web3

from creditshare.core.chain import ChainClient, ChainError
from creditshare.core.config import load_settings
from tests.cli.helpers import Cli, deployed_cli

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return deployed_cli(tmp_path_factory)


def client_with_stall(cli: Cli, monkeypatch: pytest.MonkeyPatch, stall_s: float) -> ChainClient:
    for key, value in cli.env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings("development", cli.data_dir)
    network = dataclasses.replace(settings.network, stall_s=stall_s)
    return ChainClient(dataclasses.replace(settings, network=network))


@pytest.fixture
def paused_chain() -> Iterator[bytes]:
    """A transfer waiting in the pool of a chain that seals nothing until the test mines."""
    web3.provider.make_request("evm_setAutomine", [False])
    try:
        tx_hash = web3.eth.send_transaction({"from": accounts[0].address, "to": accounts[1].address, "value": 1})
        yield bytes(tx_hash)
    finally:
        web3.provider.make_request("evm_setAutomine", [True])
        web3.provider.make_request("evm_mine", [])


def test_a_pause_without_blocks_does_not_use_up_the_limit(cli, monkeypatch, paused_chain):
    client = client_with_stall(cli, monkeypatch, stall_s=10**9)
    resume = threading.Timer(2.5, lambda: web3.provider.make_request("evm_mine", []))
    resume.start()
    try:
        started = time.monotonic()
        receipt = client.wait_receipt(paused_chain, timeout=1.0)
    finally:
        resume.cancel()
    assert receipt["status"] == 1 and time.monotonic() - started >= 2.0
    assert receipt["blockNumber"] == web3.eth.block_number


def test_blocks_sealed_without_the_transaction_use_up_the_limit(cli, monkeypatch, paused_chain):
    """The limit still holds while the chain moves: blocks come, the transaction is not in them."""
    client = client_with_stall(cli, monkeypatch, stall_s=10**9)
    web3.provider.make_request("anvil_dropTransaction", ["0x" + paused_chain.hex()])
    stop = threading.Event()

    def seal() -> None:
        while not stop.wait(0.3):
            web3.provider.make_request("evm_mine", [])

    sealer = threading.Thread(target=seal)
    sealer.start()
    try:
        with pytest.raises(ChainError, match="was not mined within 1s"):
            client.wait_receipt(paused_chain, timeout=1.0)
    finally:
        stop.set()
        sealer.join()
