"""The sending pipeline of creditshare.core.chain.ChainClient on the test Anvil: how many transactions
transact_many keeps in flight (send_window, from the block gas limit), the per-call check (the path of a node
without eth_simulateV1, such as geth 1.13) run concurrently yet reported in call order, and the memoised
contract handles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from brownie import web3

from creditshare.bindings.settlement_ledger import SettlementLedger, Status, encode_submit
from creditshare.core.chain import (
    MAX_WINDOW,
    MIN_WINDOW,
    WINDOW_BLOCKS,
    CallsRefused,
    ChainClient,
    batch_for_block,
    gas_limit_for,
)
from creditshare.core.config import load_settings
from creditshare.core.keys import load_account
from creditshare.domain.settlements import parse_csv
from tests.cli.helpers import Cli, deployed_cli, row, write_csv

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return deployed_cli(tmp_path_factory)


@pytest.fixture
def client(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChainClient]:
    for key, value in cli.env.items():
        monkeypatch.setenv(key, value)
    yield ChainClient(load_settings("development", cli.data_dir))


def block_gas() -> int:
    return int(web3.eth.get_block("latest")["gasLimit"])


def test_the_window_holds_three_blocks_of_gas_within_its_bounds(client):
    gas = block_gas()
    assert client.send_window([gas // 10] * 5) == WINDOW_BLOCKS * 10
    assert client.send_window([gas // 7, gas // 7 + 2]) == -(-WINDOW_BLOCKS * gas // (gas // 7 + 1))
    # big transactions (a 400-settlement batch is ~17M gas with its margin): never fewer than MIN_WINDOW
    assert client.send_window([gas] * 3) == MIN_WINDOW
    # small ones: never more than MAX_WINDOW in flight, which bounds what is sent when one fails on chain
    assert client.send_window([21_000] * 100) == MAX_WINDOW
    assert client.send_window([]) == MIN_WINDOW


def test_the_contract_handle_is_built_once_per_name_and_address(client, cli):
    ledger = client.contract("SettlementLedger")
    assert client.contract("SettlementLedger") is ledger
    assert client.contract("SettlementLedger", str(ledger.address).lower()) is ledger
    other = client.contract("Consortium")
    assert other is not ledger and other.address == client.deployment.addresses["Consortium"]


def records(folder: Path, refs: list[str], **fields: Any) -> list[Any]:
    return [r.settlement for r in parse_csv(write_csv(folder, [row(ref, **fields) for ref in refs], "p.csv"))]


def test_the_concurrent_per_call_check_names_each_refusal_in_call_order_and_sends_nothing(client, cli, tmp_path):
    """Twelve one-record calls, checked the way a node without eth_simulateV1 is (4 eth_calls at a time):
    the refused ones (records naming a platform that is not the sender's) are listed by call, in order."""
    plat = load_account(client.settings.keystore_dir, "plat")
    ledger = SettlementLedger(client)
    good = records(tmp_path, [f"PIPE-{i}" for i in range(12)])
    bad = {2, 7, 11}
    wrong = records(tmp_path / "w", [f"PIPE-{i}" for i in sorted(bad)], platform="uscc:SHIP2")
    picks = iter(wrong)
    calls = [encode_submit(ledger.contract, [next(picks) if i in bad else r]) for i, r in enumerate(good)]
    before = web3.eth.block_number
    with pytest.raises(CallsRefused) as caught:
        client._check_each(calls, plat, "submitting", True, [[i] for i in range(12)], None)
    assert [f.call for f in caught.value.failures] == sorted(bad)
    assert [f.item for f in caught.value.failures] == sorted(bad)
    assert all(f.reason.startswith("SettlementLedger") for f in caught.value.failures)
    assert web3.eth.block_number == before


def test_a_pipelined_send_lands_every_call_in_order_with_the_checked_gas(client, cli, tmp_path):
    """transact_many with the default window on 20 calls: every receipt, in call order, each call mined."""
    plat = load_account(client.settings.keystore_dir, "plat")
    ledger = SettlementLedger(client)
    batch = records(tmp_path, [f"LINE-{i}" for i in range(20)])
    calls = [encode_submit(ledger.contract, [r]) for r in batch]
    limits = client._check_each(calls, plat, "submitting", True, [[i] for i in range(20)], None)
    assert all(g > 0 for g in limits)
    mined: list[int] = []
    receipts = client.transact_many(calls, plat, "submitting", on_mined=lambda i, _r: mined.append(i), scale_gas=True)
    assert [r["status"] for r in receipts] == [1] * 20 and sorted(mined) == list(range(20))
    sent = [web3.eth.get_transaction(r["transactionHash"]) for r in receipts]
    assert [t["nonce"] for t in sent] == list(range(sent[0]["nonce"], sent[0]["nonce"] + 20))
    assert [s.status for s in ledger.states([r.id for r in batch])] == [Status.INVOICED] * 20


def greedy_block(block_gas: int, used: int, batches: int) -> int:
    """How many batches of `used` gas a block takes, as geth packs one sender's transactions: in nonce order
    while the next one's gas limit fits in what is left."""
    left, taken = block_gas, 0
    while taken < batches and gas_limit_for(used) <= left:
        left -= used
        taken += 1
    return taken


@pytest.mark.parametrize("block_gas", [5_000_000, 30_000_000, 60_000_000, 200_000_000])
def test_the_batch_size_packs_a_block_within_two_percent_of_the_best(block_gas):
    per_item, fixed, most = 32_742, 30_000, 440
    n = batch_for_block(block_gas, per_item, fixed, most)
    assert 1 <= n <= most

    def items(size: int) -> int:
        return greedy_block(block_gas, fixed + size * per_item, 10_000) * size

    best = max(items(size) for size in range(1, most + 1))
    assert items(n) * 50 >= best * 49
    # and it is the largest such size: fewer transactions for the client to sign, send and await
    assert all(items(size) * 50 < best * 49 for size in range(n + 1, most + 1))


def test_on_the_60m_network_the_batch_fills_more_of_a_block_than_400_settlements():
    n = batch_for_block(60_000_000, 32_742, 30_000, 440)
    chosen = greedy_block(60_000_000, 30_000 + n * 32_742, 1000) * n
    assert greedy_block(60_000_000, 30_000 + 400 * 32_742, 1000) * 400 == 1600  # 4 batches: 87% of the block
    assert chosen > 1700


def test_a_batch_too_big_for_any_block_is_one_item():
    assert batch_for_block(100_000, 32_742, 30_000, 440) == 1
    assert batch_for_block(60_000_000, 32_742, 30_000, 0) == 1
