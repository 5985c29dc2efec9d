"""The ledger's batched calls are sized by the connected chain's block gas limit (settlement_ledger.batch_size_for):
by default batch_for_block's best packing, an explicit --batch-size kept unless no block could hold it; the
per-record gas table stays an upper bound of what the contract really uses (measured on the test Anvil); on a
chain of 8M-gas blocks the CLI's default 400 settlements a transaction is lowered and every batch lands."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from brownie import web3
from hypothesis import given
from hypothesis import strategies as st

from creditshare.bindings.settlement_ledger import (
    BATCH_GAS,
    CALLDATA_PER_RECORD,
    DEFAULT_BATCH,
    GAS_PER_RECORD,
    TX_BYTES,
    SettlementLedger,
    batch_size_for,
)
from creditshare.core.chain import ChainClient, batch_for_block, gas_limit_for
from creditshare.core.config import load_settings
from creditshare.core.errors import InvalidInput
from creditshare.core.keys import load_account
from creditshare.domain.settlements import parse_csv
from tests.cli.helpers import Cli, deployed_cli, row, write_csv

FUNCTIONS = sorted(GAS_PER_RECORD)


def _fits(function: str, size: int, block_gas: int) -> bool:
    return gas_limit_for(BATCH_GAS + size * GAS_PER_RECORD[function]) <= block_gas


def test_where_a_block_holds_the_default_batch_it_is_kept():
    # the sizes the CLI's outputs were built around (tests/cli/test_cli_batches.py: 401 rows are 400 + 1)
    assert all(batch_size_for(f, 30_000_000) == DEFAULT_BATCH for f in FUNCTIONS)
    assert batch_size_for("confirm", 8_000_000) == DEFAULT_BATCH  # 400 confirms: 6.4M gas with the margin


@pytest.mark.parametrize(
    ("function", "block_gas", "expected"),
    [
        ("submit", 8_000_000, 53),
        ("submit", 15_000_000, 81),
        ("confirmPayment", 8_000_000, 114),
        ("pay", 5_000_000, 110),
    ],
)
def test_where_no_block_holds_the_default_batch_batch_for_block_sizes_it(function, block_gas, expected):
    most = TX_BYTES // CALLDATA_PER_RECORD.get(function, 256)
    assert not _fits(function, DEFAULT_BATCH, block_gas)
    assert batch_size_for(function, block_gas) == expected
    assert expected == batch_for_block(block_gas, GAS_PER_RECORD[function], BATCH_GAS, most)
    assert _fits(function, expected, block_gas)


def test_an_explicit_size_is_kept_where_a_block_holds_it():
    assert batch_size_for("submit", 60_000_000, DEFAULT_BATCH) == 400
    assert batch_size_for("submit", 60_000_000, 1) == 1
    assert batch_size_for("resolve", 8_000_000, 120) == 120


def test_an_explicit_size_no_block_holds_is_lowered_to_the_largest_that_fits():
    size = batch_size_for("submit", 8_000_000, DEFAULT_BATCH)
    assert size == 178 and _fits("submit", size, 8_000_000) and not _fits("submit", size + 1, 8_000_000)
    # and to what a node accepts in one transaction (the CLI allows --batch-size up to 1000)
    assert batch_size_for("submit", 200_000_000, 1000) == TX_BYTES // CALLDATA_PER_RECORD["submit"] == 451


def test_a_block_too_small_for_one_record_still_sends_one_at_a_time():
    assert batch_size_for("submit", 100_000) == 1 and batch_size_for("submit", 100_000, 400) == 1
    # and a chain of huge blocks never gets more than a geth node accepts in one transaction
    assert batch_size_for("confirm", 1_000_000_000, 1000) == TX_BYTES // 256 == 508


def test_an_unknown_function_or_an_empty_batch_is_refused():
    with pytest.raises(InvalidInput, match="pledge is not a batched function"):
        batch_size_for("pledge", 60_000_000)
    with pytest.raises(InvalidInput, match="at least one record; got 0"):
        batch_size_for("submit", 60_000_000, 0)


@given(
    function=st.sampled_from(FUNCTIONS),
    block_gas=st.integers(min_value=5_000_000, max_value=1_000_000_000),
    requested=st.one_of(st.none(), st.integers(min_value=1, max_value=1000)),
)
def test_a_chosen_batch_always_fits_a_block_and_a_transaction(function, block_gas, requested):
    size = batch_size_for(function, block_gas, requested)
    assert 1 <= size <= TX_BYTES // CALLDATA_PER_RECORD.get(function, 256)
    assert _fits(function, size, block_gas)
    if requested is not None:
        assert size <= requested
        if _fits(function, requested, block_gas) and requested <= TX_BYTES // CALLDATA_PER_RECORD.get(function, 256):
            assert size == requested


# -- on the test Anvil -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return deployed_cli(tmp_path_factory)


@pytest.fixture
def client(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Iterator[ChainClient]:
    for key, value in cli.env.items():
        monkeypatch.setenv(key, value)
    yield ChainClient(load_settings("development", cli.data_dir))


def _records(folder: Path, prefix: str, n: int) -> list:
    path = write_csv(folder, [row(f"{prefix}-{i:03d}") for i in range(n)], f"{prefix}.csv")
    return [r.settlement for r in parse_csv(path)]


@pytest.mark.chain
def test_the_gas_table_bounds_what_each_batched_function_uses(client, tmp_path):
    """Per-record gas from a 1-record and a 41-record batch of each function (finalizePayment, which needs
    the dispute window to pass, is priced like confirmPayment); the one-off gas of a batch under BATCH_GAS."""
    ks = client.settings.keystore_dir
    plat, ship, c1 = (load_account(ks, n) for n in ("plat", "ship", "c1"))
    ledger = SettlementLedger(client)
    used: dict[str, list[int]] = {}
    for n in (1, 41):
        paid, late = _records(tmp_path, f"P{n}", n), _records(tmp_path, f"L{n}", n)
        steps = {
            "submit": lambda r: ledger.submit(r, plat, batch_size=len(r)),
            "confirm": lambda r: ledger.confirm(r, ship, batch_size=len(r)),
        }
        for name, send in steps.items():
            used.setdefault(name, []).append(send(paid)[0]["gasUsed"])
            send(late)
        used.setdefault("pay", []).append(ledger.pay(paid, [0] * n, ship, batch_size=n)[0]["gasUsed"])
        used.setdefault("confirmPayment", []).append(ledger.confirm_payment(paid, plat, batch_size=n)[0]["gasUsed"])
        used.setdefault("markOverdue", []).append(ledger.mark_overdue(late, plat, batch_size=n)[0]["gasUsed"])
        used.setdefault("dispute", []).append(ledger.dispute(late, b"\x01" * 32, ship, batch_size=n)[0]["gasUsed"])
        used.setdefault("resolve", []).append(ledger.resolve(late, True, c1, batch_size=n)[0]["gasUsed"])
    for name, (one, many) in used.items():
        per = (many - one) / 40
        assert per <= GAS_PER_RECORD[name] and per >= GAS_PER_RECORD[name] * 0.85, (name, per)
        assert one - per <= BATCH_GAS, (name, one - per)


@pytest.fixture
def small_blocks() -> Iterator[int]:
    """The test Anvil's blocks at 8M gas for one test (evm_setBlockGasLimit), then back to what they were."""
    before = int(web3.eth.get_block("latest")["gasLimit"])
    web3.provider.make_request("evm_setBlockGasLimit", [hex(8_000_000)])
    web3.provider.make_request("evm_mine", [])
    try:
        assert int(web3.eth.get_block("latest")["gasLimit"]) == 8_000_000
        yield 8_000_000
    finally:
        web3.provider.make_request("evm_setBlockGasLimit", [hex(before)])
        web3.provider.make_request("evm_mine", [])


@pytest.mark.chain
def test_on_8m_gas_blocks_the_cli_default_batch_is_lowered_and_every_batch_lands(cli, client, small_blocks, tmp_path):
    rows = [row(f"SMALL-{i:03d}") for i in range(300)]
    start = web3.eth.block_number
    out = cli.json("settlements", "submit", str(write_csv(tmp_path, rows)), "--batch-size", "400", account="plat")
    assert out["submitted"] == 300
    sent = [
        tx
        for n in range(start + 1, web3.eth.block_number + 1)
        for tx in web3.eth.get_block(n, full_transactions=True)["transactions"]
    ]
    # the CLI asked for 400 a transaction: 178 fit an 8M block, so two transactions (178 + 122)
    assert len(sent) == 2 and all(tx["gas"] <= small_blocks for tx in sent)
    receipts = [web3.eth.get_transaction_receipt(tx["hash"]) for tx in sent]
    assert [r["status"] for r in receipts] == [1, 1]


@pytest.mark.chain
def test_on_8m_gas_blocks_submit_without_a_batch_size_follows_the_block(cli, client, small_blocks, tmp_path):
    rows = [row(f"SMALLD-{i:03d}") for i in range(300)]
    start = web3.eth.block_number
    out = cli.json("settlements", "submit", str(write_csv(tmp_path, rows)), account="plat")
    assert out["submitted"] == 300
    sent = [
        tx
        for n in range(start + 1, web3.eth.block_number + 1)
        for tx in web3.eth.get_block(n, full_transactions=True)["transactions"]
    ]
    size = batch_size_for("submit", small_blocks)  # batch_for_block's packing of an 8M block, not 400
    assert size < 178 and len(sent) == -(-300 // size) and all(tx["gas"] <= small_blocks for tx in sent)
    assert all(web3.eth.get_transaction_receipt(tx["hash"])["status"] == 1 for tx in sent)


@pytest.mark.chain
def test_on_8m_gas_blocks_a_lifecycle_step_is_sent_in_batches_a_block_holds(cli, client, small_blocks, tmp_path):
    records = _records(tmp_path, "SMALLC", 200)
    ledger = SettlementLedger(client)
    # a confirmPayment batch of 400 would need 8.3M gas: 114 a transaction pack an 8M block best
    assert ledger.batch_size("confirmPayment") == batch_size_for("confirmPayment", small_blocks) == 114
    plat, ship = (load_account(client.settings.keystore_dir, n) for n in ("plat", "ship"))
    ledger.submit(records, plat)
    ledger.confirm(records, ship)
    ledger.pay(records, [0] * len(records), ship)
    receipts = ledger.confirm_payment(records, plat)
    assert len(receipts) == 2 and all(r["status"] == 1 for r in receipts)
    assert all(web3.eth.get_transaction(r["transactionHash"])["gas"] <= small_blocks for r in receipts)
