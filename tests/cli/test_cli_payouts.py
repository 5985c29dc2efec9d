"""Payouts through the CLI: submit (whole-file validation against the chain, idempotent reruns), the
two-sided lifecycle (carrier confirms, platform pays, carrier confirms receipt, the dispute window), and
every rejection as one `error:` line that names the row, with no block mined."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from brownie import chain, web3

from creditshare.core.ids import settlement_id, subject_id, to_hex
from tests.cli.helpers import EXAMPLES, Cli

DAY = 86_400
HEADER = "reference,platform,carrier,amount_fen,delivery_date,due_date,evidence"


def day(offset: int) -> str:
    """A date `offset` days from the chain's today."""
    return dt.datetime.fromtimestamp(chain.time() + offset * DAY, dt.UTC).date().isoformat()


def prow(
    ref: str,
    *,
    platform: str = "uscc:PLAT1",
    carrier: str = "driver:D1",
    amount: str = "80000",
    delivered: int = -3,
    due: int = 7,
    evidence: str = "evidence/waybill-1.txt",
) -> str:
    return ",".join([ref, platform, carrier, amount, day(delivered), day(due), evidence])


def write(folder: Path, rows: list[str], name: str = "p.csv", header: str = HEADER) -> Path:
    evidence = folder / "evidence"
    if not evidence.exists():
        shutil.copytree(EXAMPLES / "evidence", evidence)
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def pid(ref: str, platform: str = "uscc:PLAT1") -> str:
    return to_hex(settlement_id(subject_id(platform), ref))


@pytest.fixture(scope="module")
def pcli(cli: Cli) -> Cli:
    """The deployed consortium plus carrier `carr` (driver:D1, CARRIER role)."""
    cli("keys", "new", "carr")
    proposal = cli.json(
        "members", "propose", "admit", "--member", "carr", "--org", "driver:D1", "--role", "CARRIER", account="c1"
    )
    cli("members", "approve", str(proposal["id"]), account="c2")
    return cli


def refused(pcli: Cli, *args: str, account: str | None = None) -> str:
    """Runs a command that must fail: one `error:` line, exit 1, no traceback, no block mined."""
    before = web3.eth.block_number
    result = pcli(*args, ok=False, account=account)
    assert result.exit_code == 1, result.stdout
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert web3.eth.block_number == before
    return result.stderr


def status(pcli: Cli, ref: str) -> str:
    return pcli.json("payouts", "show", pid(ref))["status"]


def test_submit_then_rerun_records_nothing_twice(pcli, tmp_path):
    path = write(tmp_path, [prow("WB-1"), prow("WB-2", amount="120000")])
    first = pcli.json("payouts", "submit", str(path), account="plat")
    assert (first["recorded"], first["already_on_chain"]) == (2, 0)
    again = pcli("payouts", "submit", str(path), account="plat")
    assert "nothing to record: all 2 payouts" in again.stdout
    more = pcli.json(
        "payouts", "submit", str(write(tmp_path, [prow("WB-1"), prow("WB-3")], "more.csv")), account="plat"
    )
    assert (more["recorded"], more["already_on_chain"]) == (1, 1)
    assert status(pcli, "WB-3") == "Recorded"


def test_dry_run_checks_and_sends_nothing(pcli, tmp_path):
    before = web3.eth.block_number
    result = pcli.json("payouts", "submit", str(write(tmp_path, [prow("DRY-1")])), "--dry-run", account="plat")
    assert (result["would_record"], result["recorded"]) == (1, 0) and web3.eth.block_number == before


def test_full_lifecycle_through_the_cli(pcli, tmp_path):
    path = write(tmp_path, [prow("LIFE-1"), prow("LIFE-2")])
    pcli("payouts", "submit", str(path), account="plat")
    assert pcli.json("payouts", "confirm", "--file", str(path), account="carr")["done"] == 2
    assert pcli.json("payouts", "pay", "--file", str(path), account="plat")["done"] == 2
    assert status(pcli, "LIFE-1") == "PaymentDeclared"
    assert pcli.json("payouts", "confirm-receipt", pid("LIFE-1"), account="carr")["done"] == 1
    shown = pcli.json("payouts", "show", pid("LIFE-1"))
    assert shown["status"] == "Paid" and shown["payment_final"] and shown["days_late"] == 0
    # a rerun of every step is harmless
    assert pcli.json("payouts", "confirm-receipt", pid("LIFE-1"), account="carr")["already"] == 1
    assert pcli.json("payouts", "confirm", "--file", str(path), account="carr")["skipped_past"] == 2
    # the other one becomes final once its dispute window passes undisputed
    chain.sleep(8 * DAY)
    chain.mine()
    assert pcli.json("payouts", "finalize", pid("LIFE-2"), account="ship")["done"] == 1
    summary = pcli.json("payouts", "show", "uscc:PLAT1")["summary"]
    assert summary["paid"] == 2 and summary["paid_on_time"] == 2


def test_carrier_disputes_a_declared_payout_and_it_stays_open(pcli, tmp_path):
    path = write(tmp_path, [prow("DIS-1")])
    pcli("payouts", "submit", str(path), account="plat")
    pcli("payouts", "pay", pid("DIS-1"), account="plat")
    pcli("payouts", "dispute", pid("DIS-1"), "--reason", "paid 500 short", account="carr")
    chain.sleep(8 * DAY)
    chain.mine()
    err = refused(pcli, "payouts", "finalize", pid("DIS-1"), account="ship")
    assert "is Disputed; cannot finalize it" in err


def test_overdue_payout_is_marked_by_the_carrier_and_shows_as_a_fact_about_the_platform(pcli, tmp_path):
    path = write(tmp_path, [prow("LATE-1", due=2)])
    pcli("payouts", "submit", str(path), account="plat")
    err = refused(pcli, "payouts", "overdue", pid("LATE-1"), account="carr")
    assert "is not due until" in err
    chain.sleep(3 * DAY)
    chain.mine()
    pcli("payouts", "overdue", pid("LATE-1"), account="carr")
    assert pcli.json("payouts", "show", "driver:D1")["summary"]["overdue_or_defaulted"] == 1


BAD_ROWS = {
    "zero amount": (prow("BAD-1", amount="0"), "amount_fen must lie between 1 and"),
    "fractional amount": (prow("BAD-2", amount="12.50"), "whole number of fen"),
    "too large": (prow("BAD-3", amount=str(10**12 + 1)), "amount_fen must lie between 1 and"),
    "due before delivery": (prow("BAD-4", delivered=-3, due=-5), "is before delivery_date"),
    "delivered in the future": (prow("BAD-5", delivered=2, due=9), "is in the future"),
    "missing evidence": (prow("BAD-6", evidence="evidence/nope.pdf"), "evidence/nope.pdf"),
    "evidence outside the folder": (prow("BAD-7", evidence="../../etc/passwd"), "evidence"),
    "bad subject": (prow("BAD-8", carrier="Zhang San"), "subject must be 'namespace:registration'"),
    "same party": (prow("BAD-9", carrier="uscc:PLAT1"), "the carrier is the same subject as the platform"),
    "unknown platform": (prow("BAD-10", platform="uscc:GHOST"), "is not a consortium member"),
    "platform without the role": (prow("BAD-11", platform="uscc:SHIP1"), "does not hold the PLATFORM role"),
    "malformed": ("BAD-12,uscc:PLAT1", "expected 7 fields"),
}


@pytest.mark.parametrize("case", BAD_ROWS, ids=list(BAD_ROWS))
def test_a_bad_row_refuses_the_whole_file(pcli, tmp_path, case):
    bad, message = BAD_ROWS[case]
    path = write(tmp_path, [prow("GOOD-1"), bad])
    err = refused(pcli, "payouts", "submit", str(path), account="plat")
    assert "1 bad row(s); nothing was sent" in err and "line 3:" in err and message in err
    assert pcli("payouts", "show", pid("GOOD-1"), ok=False).exit_code == 1


def test_duplicate_reference_is_refused(pcli, tmp_path):
    err = refused(pcli, "payouts", "submit", str(write(tmp_path, [prow("DUP"), prow("DUP")])), account="plat")
    assert "duplicate reference 'DUP' (first on line 2)" in err


def test_another_members_file_is_refused(pcli, tmp_path):
    err = refused(pcli, "payouts", "submit", str(write(tmp_path, [prow("OTHER-1")])), account="ship")
    assert "is not the platform of this payout" in err


def test_a_changed_row_under_a_recorded_reference_is_refused(pcli, tmp_path):
    pcli("payouts", "submit", str(write(tmp_path, [prow("CHG-1")])), account="plat")
    err = refused(pcli, "payouts", "submit", str(write(tmp_path, [prow("CHG-1", amount="1")], "b.csv")), account="plat")
    assert "payout 'CHG-1' is on chain with different content" in err


def test_a_carrier_that_cannot_confirm_is_refused_before_sending(pcli, tmp_path):
    """PayoutLedger refuses a payout to a subject that is no active CARRIER member (a platform could otherwise
    pay an invented carrier and finalize it undisputed); the CLI says so per row and sends nothing."""
    rows = [prow("NOCARR-1", carrier="driver:NOBODY"), prow("NOCARR-2", carrier="uscc:SHIP1")]
    err = refused(pcli, "payouts", "submit", str(write(tmp_path, rows)), account="plat")
    assert "must be an active member with the CARRIER role (is not a consortium member)" in err
    assert "must be an active member with the CARRIER role (lacks it)" in err


def test_missing_columns_are_refused(pcli, tmp_path):
    path = write(tmp_path, ["X,uscc:PLAT1"], header="reference,platform")
    err = refused(pcli, "payouts", "submit", str(path), account="plat")
    assert "carrier" in err


def test_a_backdated_paid_date_is_refused(pcli, tmp_path):
    path = write(tmp_path, [prow("BACK-1", delivered=-10)])
    pcli("payouts", "submit", str(path), account="plat")
    err = refused(pcli, "payouts", "pay", pid("BACK-1"), "--paid-date", day(-10), account="plat")
    assert "cannot be declared paid before it was recorded" in err
    err = refused(pcli, "payouts", "pay", pid("BACK-1"), "--paid-date", day(3), account="plat")
    assert "must lie between its recording" in err


def test_a_paid_date_column_is_checked_per_row(pcli, tmp_path):
    pcli("payouts", "submit", str(write(tmp_path, [prow("COL-1"), prow("COL-2")])), account="plat")
    header = HEADER + ",paid_date"
    path = write(tmp_path, [prow("COL-1") + ",", prow("COL-2") + "," + day(-3)], "pay.csv", header=header)
    err = refused(pcli, "payouts", "pay", "--file", str(path), account="plat")
    assert "line 3:" in err and "line 2:" not in err


@pytest.mark.parametrize(
    ("command", "account"),
    [("confirm", "plat"), ("confirm", "ship"), ("confirm-receipt", "plat"), ("pay", "carr"), ("dispute", "ship")],
)
def test_the_wrong_side_is_refused_by_the_contract_before_anything_is_sent(pcli, tmp_path, command, account):
    pcli("payouts", "submit", str(write(tmp_path, [prow("SIDE-1")])), account="plat")
    if command == "confirm-receipt":
        pcli("payouts", "pay", pid("SIDE-1"), account="plat")
    extra = ["--reason", "no"] if command == "dispute" else []
    err = refused(pcli, "payouts", command, pid("SIDE-1"), *extra, account=account)
    assert "PayoutLedgerNotParty" in err and "line 1:" in err


def test_an_outsider_is_refused(pcli, tmp_path):
    pcli("payouts", "submit", str(write(tmp_path, [prow("OUT-1")])), account="plat")
    assert "PayoutLedgerNotActiveMember" in refused(pcli, "payouts", "confirm", pid("OUT-1"), account="outsider")


def test_unknown_ids_and_both_ways_of_naming_are_refused(pcli, tmp_path):
    assert "not on the payout ledger" in refused(pcli, "payouts", "confirm", "0x" + "ab" * 32, account="carr")
    path = write(tmp_path, [prow("BOTH-1")])
    assert "either as IDs or with --file" in refused(
        pcli, "payouts", "confirm", pid("BOTH-1"), "--file", str(path), account="carr"
    )
    assert "no payout on the payout ledger names" in refused(pcli, "payouts", "show", "uscc:NOBODY")


def test_an_empty_dispute_reason_is_refused(pcli, tmp_path):
    pcli("payouts", "submit", str(write(tmp_path, [prow("EMPTY-1")])), account="plat")
    assert "--reason must not be empty" in refused(pcli, "payouts", "dispute", pid("EMPTY-1"), "--reason", " ")


def test_the_payout_frame_feeds_the_platform_and_carrier_features(pcli, tmp_path, monkeypatch):
    from creditshare.bindings.payout_ledger import PayoutLedger, payout_frame
    from creditshare.bindings.settlement_ledger import SettlementLedger, settlement_frame
    from creditshare.core.chain import ChainClient
    from creditshare.core.config import load_settings
    from scoring.features import party_features

    path = write(tmp_path, [prow("FR-1", due=1), prow("FR-2", due=1)])
    pcli("payouts", "submit", str(path), account="plat")
    pcli("payouts", "pay", pid("FR-1"), account="plat")
    pcli("payouts", "confirm-receipt", pid("FR-1"), account="carr")
    chain.sleep(3 * DAY)
    chain.mine()
    for key, value in pcli.env.items():
        monkeypatch.setenv(key, value)
    client = ChainClient(load_settings())
    frame = payout_frame(PayoutLedger(client))
    assert set(frame["status"]) == {"Paid", "Recorded"} and (frame["status_date"] > 0).all()
    now = chain.time()
    features = party_features(settlement_frame(SettlementLedger(client)), now, payouts=frame, role="platform")
    platform = to_hex(subject_id("uscc:PLAT1"))
    assert features.loc[platform, "plt_payout_n_365"] == 2
    assert features.loc[platform, "plt_payout_ontime_bps"] == 5_000  # FR-1 paid on time, FR-2 due and unpaid
    assert features.loc[platform, "plt_payout_overdue_n"] == 1
