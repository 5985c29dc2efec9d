"""Issue #12 through the real CLI: each ledger exploit of the review is refused before anything is sent, with
its own error line, and the ledger is unchanged after it (findings 1, 2 and 3)."""

from __future__ import annotations

import datetime as dt

import pytest
from brownie import chain

from creditshare.bindings.settlement_ledger import SettlementLedger, settlement_frame
from creditshare.core.chain import ChainClient
from creditshare.core.config import load_settings
from creditshare.core.ids import settlement_id, subject_id, to_hex
from tests.cli.helpers import row, write_csv

DAY = 86_400


def sid(ref: str) -> str:
    return to_hex(settlement_id(subject_id("uscc:PLAT1"), ref))


def shown(cli, ref: str) -> dict:
    return cli.json("settlements", "show", sid(ref))


def day(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).date().isoformat()


def later(days: int) -> None:
    chain.sleep(days * DAY)
    chain.mine()  # the CLI checks against the latest block's time


def refused(result, *needles: str) -> None:
    assert result.exit_code == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error:") and "nothing was sent" in result.stderr, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_payer_cannot_date_an_overdue_payment_before_the_overdue_marking(cli, tmp_path):
    """Finding 1: the platform marks the invoice overdue; the shipper's payment may not be dated before it."""
    cli("settlements", "submit", str(write_csv(tmp_path, [row("OVB-1")])), account="plat")
    cli("settlements", "confirm", sid("OVB-1"), account="ship")
    confirmed = chain.time()
    later(3)
    cli("settlements", "overdue", sid("OVB-1"), account="plat")
    later(1)
    for date in (day(confirmed + DAY), day(chain.time() - 2 * DAY)):
        result = cli("settlements", "pay", sid("OVB-1"), "--paid-date", date, account="ship", ok=False)
        refused(result, f"paid date {date} must lie between its overdue marking")
    assert shown(cli, "OVB-1")["status"] == "Overdue"
    cli("settlements", "pay", sid("OVB-1"), account="ship")  # dated now: accepted
    assert shown(cli, "OVB-1")["status"] == "PaymentDeclared"


def test_payment_final_by_the_window_alone_is_dated_at_its_declaration(cli, tmp_path, monkeypatch):
    """Finding 1: a backdated declaration the payee never confirms does not keep its date; the frame the
    features read carries the final date, and a declared payment that is not final reads as unpaid."""
    path = write_csv(tmp_path, [row("FIN-1"), row("FIN-2", evidence="evidence/waybill-2.txt")])
    cli("settlements", "submit", str(path), account="plat")
    cli("settlements", "confirm", "--file", str(path), account="ship")
    confirmed = chain.time()
    later(10)
    backdated = day(confirmed + DAY)
    cli("settlements", "pay", sid("FIN-1"), "--paid-date", backdated, account="ship")
    declared = chain.time()
    assert shown(cli, "FIN-1")["paid_date"] == backdated  # declared, not final
    later(8)  # past the 7-day dispute window
    cli("settlements", "pay", sid("FIN-2"), account="ship")  # declared now: its window is open
    cli("settlements", "finalize", sid("FIN-1"), account="outsider")
    final = shown(cli, "FIN-1")
    assert final["status"] == "Paid" and final["payment_final"] is True
    assert final["paid_date"] == day(declared) != backdated
    monkeypatch.setenv("CREDITSHARE_DEV_RPC_URL", cli.env["CREDITSHARE_DEV_RPC_URL"])
    frame = settlement_frame(SettlementLedger(ChainClient(load_settings("development", cli.data_dir))))
    paid = dict(zip(frame["settlement_id"], frame["paid_date"], strict=True))
    assert day(int(paid[sid("FIN-1")])) == day(declared) and int(paid[sid("FIN-2")]) == 0


def test_same_receivable_under_a_new_reference_and_document_is_not_pledged_twice(cli, tmp_path):
    """Finding 3: the same freight order (shipper, platform, amount, invoice and due day) re-submitted under a new
    reference with another document is refused at the second pledge; so is another receivable reusing the
    first one's document."""
    rows = [
        row("DF-1"),
        row("DF-2", evidence="evidence/waybill-2.txt"),  # the clone: new reference and document
        row("DF-3", amount="99", evidence="evidence/waybill-1.txt"),  # DF-1's document again
    ]
    path = write_csv(tmp_path, rows)
    cli("settlements", "submit", str(path), account="plat")
    cli("settlements", "confirm", "--file", str(path), account="ship")
    cli("settlements", "pledge", sid("DF-1"), "--lender", "bank", account="plat")
    result = cli("settlements", "pledge", sid("DF-2"), "--lender", "bank", account="plat", ok=False)
    refused(result, "SettlementLedgerFingerprintAlreadyFinanced", sid("DF-1"))
    result = cli("settlements", "pledge", sid("DF-3"), "--lender", "bank", account="plat", ok=False)
    refused(result, "SettlementLedgerEvidenceAlreadyFinanced")
    assert [shown(cli, r)["status"] for r in ("DF-1", "DF-2", "DF-3")] == ["Financed", "Confirmed", "Confirmed"]
    assert shown(cli, "DF-2")["lender"] is None


@pytest.mark.parametrize(
    ("who", "error"),
    [("ship", "SettlementLedgerNotParty"), ("bank", "SettlementLedgerNotParty")],
)
def test_only_the_platform_pledges(cli, tmp_path, who, error):
    cli("settlements", "submit", str(write_csv(tmp_path, [row("PW-1")])), account="plat")
    cli("settlements", "confirm", sid("PW-1"), account="ship")
    refused(cli("settlements", "pledge", sid("PW-1"), "--lender", "bank", account=who, ok=False), error)
    assert shown(cli, "PW-1")["status"] == "Confirmed"


@pytest.mark.parametrize("lender", ["ship", "outsider", "plat"])
def test_a_pledge_to_a_non_lender_is_refused(cli, tmp_path, lender):
    cli("settlements", "submit", str(write_csv(tmp_path, [row("NL-1")])), account="plat")
    cli("settlements", "confirm", sid("NL-1"), account="ship")
    refused(
        cli("settlements", "pledge", sid("NL-1"), "--lender", lender, account="plat", ok=False),
        "SettlementLedgerNotLender",
    )
    assert shown(cli, "NL-1")["lender"] is None


@pytest.mark.parametrize(
    ("sides", "message"),
    [
        ({"shipper": "uscc:PLAT1"}, "shipper and platform are the same subject"),
        ({"carrier": "uscc:SHIP1"}, "the carrier is the same subject as the shipper or the platform"),
        ({"carrier": "uscc:PLAT1"}, "the carrier is the same subject as the shipper or the platform"),
    ],
)
def test_one_member_on_two_sides_of_a_record_is_refused(cli, tmp_path, sides, message):
    """Finding 2: shipper, platform and carrier are three distinct subjects."""
    path = write_csv(tmp_path, [row("TWO-1", **sides)])
    result = cli("settlements", "submit", str(path), account="plat", ok=False)
    refused(result, "line 2:", message)
    assert cli("settlements", "show", sid("TWO-1"), ok=False).exit_code == 1  # not on the ledger


def test_payee_of_a_financed_receivable_is_the_lender_not_the_platform(cli, tmp_path):
    cli("settlements", "submit", str(write_csv(tmp_path, [row("LP-1")])), account="plat")
    cli("settlements", "confirm", sid("LP-1"), account="ship")
    cli("settlements", "pledge", sid("LP-1"), "--lender", "bank", account="plat")
    cli("settlements", "pay", sid("LP-1"), account="ship")
    for who in ("plat", "ship"):
        refused(cli("settlements", "confirm-payment", sid("LP-1"), account=who, ok=False), "SettlementLedgerNotPayee")
    assert shown(cli, "LP-1")["status"] == "PaymentDeclared"
    cli("settlements", "confirm-payment", sid("LP-1"), account="bank")
    assert shown(cli, "LP-1")["status"] == "Paid"


def test_a_reference_taken_first_by_the_shipper_is_named_and_the_platform_file_sends_nothing(cli, tmp_path):
    """Finding 9 through the CLI: the shipper stores a record under the platform's next reference with other
    content. The contract would skip that id in the platform's batch; the CLI refuses the file before sending,
    names the line, says the shipper stored it and what to do, and sends none of the other rows."""
    squat = write_csv(tmp_path, [row("SQ-2", amount="375000")], name="squat.csv")
    cli("settlements", "submit", str(squat), account="ship")
    mine = write_csv(tmp_path, [row("SQ-1"), row("SQ-2", evidence="evidence/waybill-2.txt")], name="mine.csv")
    result = cli("settlements", "submit", str(mine), account="plat", ok=False)
    refused(result, "line 3: settlement 'SQ-2' is on chain with different content (stored by its shipper")
    assert "settlements dispute" in result.stderr and "line 2" not in result.stderr
    assert cli("settlements", "show", sid("SQ-1"), ok=False).exit_code == 1  # nothing was sent
    assert shown(cli, "SQ-2")["amount_fen"] == 375_000 and shown(cli, "SQ-2")["submitted_by"] == "shipper"
    cli("settlements", "dispute", sid("SQ-2"), "--reason", "not our order", account="plat")
    assert shown(cli, "SQ-2")["status"] == "Disputed"
