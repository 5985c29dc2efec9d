"""The chain index (creditshare.domain.index) on a real Anvil: its frame is the full recompute's, as of any
block; a reset chain, a damaged file and an old schema are detected; lifecycle, history and event tables."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from brownie import chain, web3
from eth_utils import keccak
from pandas.testing import assert_frame_equal

from creditshare.bindings.settlement_ledger import Settlement, SettlementLedger, settlement_frame
from creditshare.core import keys
from creditshare.core.chain import ChainClient
from creditshare.core.config import load_settings
from creditshare.core.ids import reference_hash, settlement_id, subject_id, to_hex
from creditshare.domain import index as index_mod
from creditshare.domain.index import SCHEMA_VERSION, ChainIndex
from tests.cli.helpers import Cli, deployed_cli

pytestmark = pytest.mark.chain

PLAT = subject_id("uscc:PLAT1")
DAY = 86_400
JAN5 = 1_767_571_200  # 2026-01-05


@dataclass
class World:
    """A deployed consortium driven through the bindings: `plat` submits, `ship`/`ship2` confirm and pay,
    `plat` (or the lender `bank`) confirms payments, `c1` resolves."""

    cli: Cli
    client: ChainClient
    ledger: SettlementLedger
    accounts: dict[str, Any]
    made: int = 0
    records: dict[bytes, Settlement] = field(default_factory=dict)

    def index(self, **kw: Any) -> ChainIndex:
        return ChainIndex(self.client, **kw)

    def full(self, block: int | None = None) -> Any:
        return settlement_frame(self.ledger, block)

    def new(self, n: int, *, shipper: str = "uscc:SHIP1", carriers: int = 3, amount: int = 1000) -> list[Settlement]:
        out = []
        for _ in range(n):
            self.made += 1
            ref = f"IDX-{self.made}"
            record = Settlement(
                settlement_id(PLAT, ref),
                subject_id(shipper),
                PLAT,
                subject_id(f"driver:D{self.made % carriers}"),
                amount + self.made,
                JAN5 + DAY * (self.made % 40),
                JAN5 + DAY * (self.made % 40 + 30),
                keccak(text=f"evidence {ref}"),
                reference_hash=reference_hash(ref),
            )
            self.records[record.id] = record
            out.append(record)
        return out

    def submit(self, records: list[Settlement]) -> None:
        self.ledger.submit(records, self.accounts["plat"])


def make_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    cli = deployed_cli(tmp_path_factory)
    os.environ["CREDITSHARE_DEV_RPC_URL"] = cli.env["CREDITSHARE_DEV_RPC_URL"]
    client = ChainClient(load_settings("development", cli.data_dir))
    saved = {k: os.environ.get(k) for k in ("CREDITSHARE_PASSWORD", "CREDITSHARE_SCRYPT_N")}
    os.environ.update({"CREDITSHARE_PASSWORD": "test-password", "CREDITSHARE_SCRYPT_N": "16"})
    try:
        names = ("plat", "ship", "ship2", "c1", "bank")
        accounts = {n: keys.load_account(client.settings.keystore_dir, n) for n in names}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return World(cli, client, SettlementLedger(client), accounts)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory)


@pytest.fixture(autouse=True)
def isolation(fn_isolation: Any, world: World) -> Iterator[None]:  # noqa: ANN401 - brownie fixture
    """Each test starts from the module's deployed state (the client's nonces with it)."""
    world.client._nonces.clear()
    yield
    world.client._nonces.clear()


def lifecycle(world: World) -> list[int]:
    """Every transition once; returns the block after each step."""
    a = world.accounts
    recs = world.new(6) + world.new(2, shipper="uscc:SHIP2")
    blocks = []
    world.submit(recs)
    blocks.append(chain.height)
    world.ledger.confirm(recs[:6], a["ship"])
    world.ledger.confirm(recs[6:], a["ship2"])
    blocks.append(chain.height)
    world.ledger.pledge(recs[0], a["bank"].address, a["plat"])
    world.ledger.pay(recs[:2], [0, 0], a["ship"])
    blocks.append(chain.height)
    world.ledger.confirm_payment([recs[1]], a["plat"])
    world.ledger.confirm_payment([recs[0]], a["bank"])
    world.ledger.mark_overdue([recs[2], recs[6]], a["plat"])
    blocks.append(chain.height)
    world.ledger.dispute([recs[3], recs[4]], b"\x11" * 32, a["ship"])
    world.ledger.resolve([recs[3]], False, a["c1"])
    world.ledger.resolve([recs[4], recs[6]], True, a["c1"])
    blocks.append(chain.height)
    return blocks


def test_the_index_frame_is_the_full_recompute_as_of_every_block(world):
    blocks = lifecycle(world)
    with world.index() as idx:
        assert_frame_equal(idx.frame(), world.full(), check_exact=True)
        for block in blocks:  # read back in time: states as of each block, not the latest
            assert_frame_equal(idx.frame(block), world.full(block), check_exact=True)
        assert set(idx.frame()["status"]) == {"Paid", "Confirmed", "Resolved", "Defaulted", "Overdue"}


def test_an_index_caught_up_step_by_step_equals_one_built_at_the_end(world, tmp_path):
    a = world.accounts
    recs = world.new(4)
    with world.index(path=tmp_path / "steps.sqlite3") as idx:
        assert idx.frame().empty and list(idx.frame().columns) == list(world.full().columns)
        world.submit(recs)
        assert len(idx.frame()) == 4
        world.ledger.confirm(recs, a["ship"])
        world.ledger.pay(recs[:1], [0], a["ship"])
        steps = idx.frame()
        assert idx.rebuilt is None
    assert_frame_equal(steps, world.full(), check_exact=True)


def test_shipper_rows_are_the_full_frames_rows_of_those_shippers(world):
    lifecycle(world)
    ship2 = to_hex(subject_id("uscc:SHIP2"))
    with world.index() as idx:
        part = idx.frame(subjects=[ship2])
        full = world.full()
        expected = full[full["shipper"] == ship2].reset_index(drop=True)
        assert len(part) == 2
        assert_frame_equal(part, expected, check_exact=True)
        assert idx.frame(subjects=[to_hex(subject_id("uscc:NOBODY"))]).empty


def snapshot() -> str:
    """An Anvil snapshot of our own (brownie's chain.snapshot would replace the one fn_isolation reverts to)."""
    return str(web3.provider.make_request("evm_snapshot", [])["result"])


def revert(world: World, snap: str) -> None:
    assert web3.provider.make_request("evm_revert", [snap])["result"] is True
    world.client._nonces.clear()


def test_a_reset_chain_is_detected_and_the_index_rebuilt(world):
    recs = world.new(3)
    world.submit(recs[:2])
    chain.mine()
    snap = chain.height
    saved = snapshot()
    world.submit(recs[2:])
    chain.mine(3)
    with world.index() as idx:
        assert len(idx.frame()) == 3
        revert(world, saved)  # the node forgets the last blocks: new blocks take their numbers
        chain.mine(6)
        assert chain.height > snap + 2
        frame = idx.frame()
        assert idx.rebuilt and "not the one indexed" in idx.rebuilt
        assert_frame_equal(frame, world.full(), check_exact=True)
        assert len(frame) == 2


def test_a_chain_behind_the_index_is_rebuilt(world):
    world.submit(world.new(1))
    saved = snapshot()
    world.submit(world.new(1))
    chain.mine(5)
    with world.index() as idx:
        assert len(idx.frame()) == 2
        revert(world, saved)
        assert len(idx.frame()) == 1
        assert idx.rebuilt and "behind the last indexed block" in idx.rebuilt


def test_a_damaged_index_file_is_rebuilt(world):
    world.submit(world.new(3))
    with world.index() as idx:
        idx.catch_up()
        path = idx.path
    raw = bytearray(path.read_bytes())
    raw[:100] = b"garbage!" * 12 + b"gar!"
    path.write_bytes(bytes(raw))
    with world.index() as idx:
        assert idx.rebuilt and "unreadable index file" in idx.rebuilt
        assert_frame_equal(idx.frame(), world.full(), check_exact=True)
        assert idx.check() == "ok"


def test_a_damaged_page_is_found_by_the_check_and_rebuilt_on_read(world):
    world.submit(world.new(150))
    with world.index() as idx:
        idx.catch_up()
        path = idx.path
        idx.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = bytearray(path.read_bytes())
    page = 4096
    for p in range(2, len(raw) // page):  # every page but the header's: the b-trees' cells
        raw[p * page + 8 : p * page + 200] = bytes([0xA5]) * 192
    path.write_bytes(bytes(raw))
    with world.index() as idx:
        if idx.rebuilt is None:
            assert idx.check() != "ok"
        assert_frame_equal(idx.frame(), world.full(), check_exact=True)
        assert idx.rebuilt and "damaged" in idx.rebuilt or "unreadable" in idx.rebuilt


def test_an_older_schema_is_migrated_and_a_newer_one_rebuilt(world, monkeypatch):
    world.submit(world.new(2))
    with world.index() as idx:
        idx.catch_up()
        last = idx.last_block()
        idx.db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION - 1),))
    ran = []
    monkeypatch.setitem(index_mod.MIGRATIONS, SCHEMA_VERSION - 1, lambda db: ran.append(db))
    with world.index() as idx:
        assert ran and idx.rebuilt is None and idx.last_block() == last
        version = idx.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
        assert int(version) == SCHEMA_VERSION
        idx.db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    with world.index() as idx:
        assert idx.rebuilt and "newer than this code" in idx.rebuilt
        assert idx.last_block() is None
        assert_frame_equal(idx.frame(), world.full(), check_exact=True)


def test_confirmations_hold_the_index_back(world):
    world.submit(world.new(1))
    chain.mine(2)
    world.submit(world.new(1))
    with world.index(confirmations=2) as idx:
        assert len(idx.frame()) == 1 and idx.last_block() == chain.height - 2
        chain.mine(2)
        assert len(idx.frame()) == 2
    with pytest.raises(ValueError, match="confirmations must be 0 or more; got -1"):
        world.index(confirmations=-1)


def test_history_and_by_subject_match_the_bindings(world):
    lifecycle(world)
    with world.index() as idx:
        for sid in list(world.records)[:8]:
            assert idx.history(sid) == world.ledger.history(sid)
        for org in ("uscc:SHIP1", "uscc:SHIP2", "uscc:PLAT1", "driver:D1"):
            subject = subject_id(org)
            assert idx.by_subject(subject) == [to_hex(r.id) for r in world.ledger.by_subject(subject)]
        assert idx.history(b"\x00" * 32) == [] and idx.by_subject(b"\x00" * 32) == []


def test_event_tables_hold_consents_with_their_arguments(world):
    world.cli(
        "consent",
        "grant",
        "--lender",
        world.accounts["bank"].address,
        "--purpose",
        "credit-line",
        "--scope",
        "score",
        "--days",
        "30",
        account="ship",
    )
    with world.index() as idx:
        rows = idx.rows("consents")
        assert len(rows) == 1
        assert (
            rows[0]["subject"] == subject_id("uscc:SHIP1")
            and rows[0]["lender"] == world.accounts["bank"].address.lower()
        )
        assert rows[0]["scope"] >= 1 and rows[0]["consentId"] >= 1
        with pytest.raises(ValueError, match="no event table 'nope'"):
            idx.rows("nope")


def test_payouts_are_indexed_in_their_event_tables(world, tmp_path):
    from tests.cli.test_cli_payouts import pid, prow, write

    cli = world.cli
    cli("keys", "new", "carr-ix")
    proposal = cli.json(
        "members", "propose", "admit", "--member", "carr-ix", "--org", "driver:D1", "--role", "CARRIER", account="c1"
    )
    cli("members", "approve", str(proposal["id"]), account="c2")
    path = write(tmp_path, [prow("PIX-1"), prow("PIX-2", amount="90000")])
    cli("payouts", "submit", str(path), account="plat")
    cli("payouts", "confirm", pid("PIX-1"), account="carr-ix")
    with world.index() as idx:
        payouts = idx.rows("payouts")
        assert [to_hex(r["id"]) for r in payouts] == [pid("PIX-1"), pid("PIX-2")]
        assert [r["amount"] for r in payouts] == [80000, 90000] and payouts[0]["carrier"] == subject_id("driver:D1")
        (confirmed,) = idx.rows("payout_confirmations")
        assert to_hex(confirmed["id"]) == pid("PIX-1") and confirmed["block"] > payouts[0]["block"]
        assert idx.rows("payouts", "amount > ?", [85000])[0]["amount"] == 90000


def test_a_changed_set_of_event_tables_rebuilds_the_index(world, monkeypatch):
    world.submit(world.new(1))
    with world.index() as idx:
        idx.catch_up()
    monkeypatch.setattr(index_mod, "EVENT_TABLES", index_mod.EVENT_TABLES[:-2])
    with world.index() as idx:  # fewer tables: a new one would lack the blocks read before it existed
        assert idx.rebuilt and "event_tables" in idx.rebuilt
        assert_frame_equal(idx.frame(), world.full(), check_exact=True)


def test_two_processes_share_one_file_and_a_reset_by_one_is_seen_by_the_other(world):
    world.submit(world.new(4))
    with world.index() as first, world.index() as second:
        assert_frame_equal(first.frame(), world.full(), check_exact=True)
        inode = first.path.stat().st_ino
        second.rebuild("the other node asked")  # emptied in place: the first keeps a valid file open
        assert first.path.stat().st_ino == inode and second.last_block() is None
        world.submit(world.new(2))
        assert_frame_equal(first.frame(), world.full(), check_exact=True)  # it reads again from genesis
        assert second.catch_up() == 0  # the first already indexed every block: nothing applied twice
        assert_frame_equal(second.frame(), world.full(), check_exact=True)
        count = second.db.execute("SELECT count(*), count(DISTINCT id) FROM settlements").fetchone()
        assert count[0] == count[1] == len(world.full())


def test_a_role_scoped_frame_is_the_full_frames_rows_of_those_subjects_in_that_role(world):
    lifecycle(world)
    full = world.full()
    carrier, platform = str(full["carrier"].iloc[0]), str(full["platform"].iloc[0])
    with world.index() as idx:
        for role, subject in (("carrier", carrier), ("platform", platform)):
            part = idx.frame(subjects=[subject], roles=(role,))
            expected = full[full[role] == subject].reset_index(drop=True)
            assert len(part) == len(expected) > 0
            assert_frame_equal(part, expected, check_exact=True)
        both = idx.frame(subjects=[carrier, platform], roles=("carrier", "platform"))
        expected = full[(full["carrier"] == carrier) | (full["platform"] == platform)].reset_index(drop=True)
        assert_frame_equal(both, expected, check_exact=True)  # a row where both meet is read once
        with pytest.raises(index_mod.InvalidInput, match="roles must be among shipper, platform, carrier"):
            idx.frame(subjects=[carrier], roles=("lender",))


def test_subject_roles_of_some_subjects_are_those_of_the_whole_index(world):
    lifecycle(world)
    with world.index() as idx:
        everyone = idx.subject_roles()
        some = sorted(everyone)[:3] + [to_hex(subject_id("uscc:NOBODY"))]
        assert idx.subject_roles(subjects=some) == {s: everyone[s] for s in some if s in everyone}
        assert idx.subject_roles(subjects=[s.upper().replace("0X", "0x") for s in some[:1]]) == {
            some[0]: everyone[some[0]]
        }
