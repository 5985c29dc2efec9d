"""Settlements through the CLI: submit (whole-file validation, idempotent resubmission), lifecycle, reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from creditshare.core.ids import settlement_id, subject_id, to_hex
from tests.cli.helpers import EXAMPLES, row, write_csv


def sid(ref: str, platform: str = "uscc:PLAT1") -> str:
    return to_hex(settlement_id(subject_id(platform), ref))


def status_of(cli, ref: str) -> str | None:
    result = cli("--json", "settlements", "show", sid(ref), ok=False)
    if result.exit_code != 0:
        return None
    import json

    return json.loads(result.stdout)["status"]


def test_example_file_submits_then_resubmits_nothing(cli):
    first = cli.json("settlements", "submit", str(EXAMPLES / "settlements.csv"), account="plat")
    assert (first["submitted"], first["already_on_chain"]) == (3, 0)
    assert 0 < first["gas_per_settlement"] < 60_000
    again = cli("settlements", "submit", str(EXAMPLES / "settlements.csv"), account="plat")
    assert "nothing to submit: all 3 settlements" in again.stdout


def test_half_submitted_file_sends_exactly_the_missing_rows(cli, tmp_path):
    rows = [row(f"HALF-{i}") for i in range(6)]
    cli("settlements", "submit", str(write_csv(tmp_path, rows[:2], "part.csv")), account="plat")
    result = cli.json("settlements", "submit", str(write_csv(tmp_path, rows, "all.csv")), account="plat")
    assert (result["submitted"], result["already_on_chain"]) == (4, 2)


def test_dry_run_sends_nothing(cli, tmp_path):
    path = write_csv(tmp_path, [row("DRY-1")])
    result = cli.json("settlements", "submit", str(path), "--dry-run", account="plat")
    assert (result["would_submit"], result["submitted"]) == (1, 0)
    assert status_of(cli, "DRY-1") is None


BAD_ROWS = {
    "malformed": ("MAL-1,uscc:SHIP1,uscc:PLAT1", "expected 8 fields"),
    "zero amount": (row("BAD-1", amount="0"), "amount_fen must be positive"),
    "negative amount": (row("BAD-2", amount="-5"), "amount_fen must be positive"),
    "fractional amount": (row("BAD-3", amount="12.50"), "whole number of fen"),
    "due before invoice": (row("BAD-4", invoice="2026-03-01", due="2026-02-01"), "is before invoice_date"),
    "bad date": (row("BAD-5", invoice="2026-02-30"), "invoice_date must be a date"),
    "missing evidence": (row("BAD-6", evidence="evidence/nope.pdf"), "evidence file evidence/nope.pdf not found"),
    "bad subject": (row("BAD-7", carrier="Zhang San"), "subject must be 'namespace:registration'"),
    "unknown shipper": (row("BAD-8", shipper="uscc:GHOST"), "is not a consortium member"),
    "unknown platform": (row("BAD-9", platform="uscc:GHOSTPLAT"), "is not a consortium member"),
    "not a shipper": (row("BAD-10", shipper="uscc:BANK1"), "does not hold the SHIPPER role"),
    "other platform row": (
        row("BAD-11", shipper="uscc:SHIP2", platform="uscc:SHIP1"),
        "does not hold the PLATFORM role",
    ),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_bad_row_is_reported_with_its_line_and_nothing_is_submitted(cli, tmp_path, case):
    bad, reason = BAD_ROWS[case]
    path = write_csv(tmp_path, [row("GOOD-A-" + case.replace(" ", "")), bad, row("GOOD-B-" + case.replace(" ", ""))])
    result = cli("settlements", "submit", str(path), account="plat", ok=False)
    assert result.exit_code == 1
    assert "nothing was sent" in result.stderr
    assert "line 3:" in result.stderr and reason in result.stderr
    assert "Traceback" not in result.stderr
    assert status_of(cli, "GOOD-A-" + case.replace(" ", "")) is None


def test_duplicate_reference_in_file_is_reported(cli, tmp_path):
    path = write_csv(tmp_path, [row("DUP-1"), row("DUP-2"), row("DUP-1", amount="99")])
    result = cli("settlements", "submit", str(path), account="plat", ok=False)
    assert "line 4: duplicate reference 'DUP-1' (first on line 2)" in result.stderr
    assert status_of(cli, "DUP-2") is None


def test_every_bad_row_is_listed(cli, tmp_path):
    path = write_csv(tmp_path, [row("MANY-1", amount="0"), row("MANY-2"), row("MANY-3", due="2025-01-01")])
    result = cli("settlements", "submit", str(path), account="plat", ok=False)
    assert "2 bad row(s)" in result.stderr and "line 2:" in result.stderr and "line 4:" in result.stderr


def test_missing_column_is_reported(cli, tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text(
        "reference,shipper,platform,carrier,amount_fen,invoice_date,due_date\nX,a:b,a:c,a:d,1,2026-01-01,2026-01-02\n"
    )
    result = cli("settlements", "submit", str(path), account="plat", ok=False)
    assert "missing column(s) evidence" in result.stderr


def test_empty_file_and_missing_file_are_reported(cli, tmp_path):
    empty = write_csv(tmp_path, [], "empty.csv")
    assert "no settlements" in cli("settlements", "submit", str(empty), account="plat", ok=False).stderr
    assert "cannot read" in cli("settlements", "submit", str(tmp_path / "nope.csv"), account="plat", ok=False).stderr


def test_submitter_must_be_a_party(cli, tmp_path):
    path = write_csv(tmp_path, [row("NP-1")])
    result = cli("settlements", "submit", str(path), account="bank", ok=False)
    assert "is neither the shipper nor the platform" in result.stderr


def test_suspended_shipper_is_reported(cli, tmp_path):
    members = {m["org_id"]: m for m in cli.json("members", "list")}
    ship2 = members[to_hex(subject_id("uscc:SHIP2"))]["address"]
    proposal = cli.json("members", "propose", "suspend", "--member", ship2, account="c1")
    cli("members", "approve", str(proposal["id"]), account="c2")
    try:
        path = write_csv(tmp_path, [row("SUS-1", shipper="uscc:SHIP2")])
        result = cli("settlements", "submit", str(path), account="plat", ok=False)
        assert "line 2:" in result.stderr and "is suspended" in result.stderr
    finally:
        proposal = cli.json("members", "propose", "reinstate", "--member", ship2, account="c1")
        cli("members", "approve", str(proposal["id"]), account="c2")


def test_changed_row_already_on_chain_is_reported(cli, tmp_path):
    cli("settlements", "submit", str(write_csv(tmp_path, [row("CHG-1")], "a.csv")), account="plat")
    result = cli(
        "settlements",
        "submit",
        str(write_csv(tmp_path, [row("CHG-1", amount="999")], "b.csv")),
        account="plat",
        ok=False,
    )
    assert "is on chain with different content" in result.stderr


def test_lifecycle_through_the_cli(cli, tmp_path):
    path = write_csv(
        tmp_path,
        [
            row("LIFE-1"),
            row("LIFE-2", evidence="evidence/waybill-2.txt"),
            row("LIFE-3", evidence="evidence/waybill-3.txt"),
        ],
    )
    cli("settlements", "submit", str(path), account="plat")
    confirmed = cli.json("settlements", "confirm", "--file", str(path), account="ship")
    assert confirmed["done"] == 3
    assert cli.json("settlements", "confirm", "--file", str(path), account="ship")["already"] == 3
    cli("settlements", "pledge", sid("LIFE-1"), "--lender", "bank", account="plat")
    again = cli("settlements", "pledge", sid("LIFE-1"), "--lender", "bank", account="plat", ok=False)
    assert "SettlementLedgerAlreadyFinanced" in again.stderr and "Traceback" not in again.stderr
    declared = cli.json("settlements", "pay", sid("LIFE-1"), account="ship")
    assert declared["done"] == 1 and status_of(cli, "LIFE-1") == "PaymentDeclared"
    assert cli.json("settlements", "show", sid("LIFE-1"))["payment_final"] is False
    cli("settlements", "confirm-payment", sid("LIFE-1"), account="bank")  # financed: the lender confirms receipt
    cli("settlements", "overdue", sid("LIFE-2"), account="plat")
    cli("settlements", "dispute", sid("LIFE-3"), "--reason", "short delivery", account="ship")
    cli("settlements", "resolve", sid("LIFE-3"), "--defaulted", account="c1")
    shown = cli.json("settlements", "show", sid("LIFE-1"))
    assert shown["status"] == "Paid" and shown["payment_final"] is True and shown["paid_date"]
    assert shown["lender"] is not None and shown["evidence_cid"].startswith("bafkrei")
    assert [e["event"] for e in shown["events"]] == [
        "SettlementSubmitted",
        "SettlementConfirmed",
        "SettlementPledged",
        "SettlementPaymentDeclared",
        "SettlementPaid",
    ]
    assert status_of(cli, "LIFE-2") == "Overdue" and status_of(cli, "LIFE-3") == "Defaulted"


def test_wrong_role_lifecycle_is_refused_before_sending(cli, tmp_path):
    path = write_csv(tmp_path, [row("WR-1")])
    cli("settlements", "submit", str(path), account="plat")
    result = cli("settlements", "confirm", sid("WR-1"), account="plat", ok=False)
    assert result.exit_code == 1 and "SettlementLedgerNotParty" in result.stderr
    result = cli("settlements", "pay", sid("WR-1"), account="ship", ok=False)
    assert "is Invoiced; cannot pay it" in result.stderr


def test_backdated_paid_date_is_refused_before_sending(cli, tmp_path):
    """The payer cannot date its payment before the invoice was confirmed: a clear error, nothing sent."""
    path = write_csv(tmp_path, [row("PD-1"), row("PD-2")])
    cli("settlements", "submit", str(path), account="plat")
    cli("settlements", "confirm", "--file", str(path), account="ship")
    text = path.read_text().splitlines()
    paid = tmp_path / "paid.csv"
    paid.write_text("\n".join([text[0] + ",paid_date", text[1] + ",2026-01-20", text[2] + ","]) + "\n")
    result = cli("settlements", "pay", "--file", str(paid), account="ship", ok=False)
    assert result.exit_code == 1 and "error:" in result.stderr and "must lie between its confirmation" in result.stderr
    assert "Traceback" not in result.stderr
    assert status_of(cli, "PD-1") == "Confirmed" and status_of(cli, "PD-2") == "Confirmed"
    result = cli("settlements", "pay", sid("PD-2"), "--paid-date", "2026-01-25", account="ship", ok=False)
    assert "error:" in result.stderr and status_of(cli, "PD-2") == "Confirmed"


def test_a_refused_paid_date_is_reported_at_its_place_in_the_file(cli, tmp_path):
    """Rows already further along are skipped; a refusal among the rest names the row of the whole file."""
    path = write_csv(tmp_path, [row("PL-1"), row("PL-2")])
    cli("settlements", "submit", str(path), account="plat")
    cli("settlements", "confirm", "--file", str(path), account="ship")
    cli("settlements", "pay", sid("PL-1"), account="ship")  # PL-1 is declared: pay skips it below
    text = path.read_text().splitlines()
    paid = tmp_path / "paid.csv"
    paid.write_text("\n".join([text[0] + ",paid_date", text[1] + ",", text[2] + ",2026-01-20"]) + "\n")
    result = cli("settlements", "pay", "--file", str(paid), account="ship", ok=False)
    # PL-2 stands on line 3 of the file (line 1 is the header)
    assert "line 3:" in result.stderr and sid("PL-2") in result.stderr and "line 2:" not in result.stderr
    assert status_of(cli, "PL-2") == "Confirmed"


def test_payer_cannot_confirm_its_own_payment(cli, tmp_path):
    path = write_csv(tmp_path, [row("OWN-1")])
    cli("settlements", "submit", str(path), account="plat")
    cli("settlements", "confirm", sid("OWN-1"), account="ship")
    cli("settlements", "pay", sid("OWN-1"), account="ship")
    result = cli("settlements", "confirm-payment", sid("OWN-1"), account="ship", ok=False)
    assert result.exit_code == 1 and "error:" in result.stderr and "SettlementLedgerNotPayee" in result.stderr
    result = cli("settlements", "finalize", sid("OWN-1"), account="ship", ok=False)
    assert "error:" in result.stderr and "dispute window is open until" in result.stderr
    assert status_of(cli, "OWN-1") == "PaymentDeclared"
    done = cli.json("settlements", "confirm-payment", sid("OWN-1"), account="plat")
    assert done["done"] == 1 and status_of(cli, "OWN-1") == "Paid"


def test_declared_payment_can_be_disputed_by_the_payee(cli, tmp_path):
    path = write_csv(tmp_path, [row("DSP-1")])
    cli("settlements", "submit", str(path), account="plat")
    cli("settlements", "confirm", sid("DSP-1"), account="ship")
    cli("settlements", "pay", sid("DSP-1"), account="ship")
    cli("settlements", "dispute", sid("DSP-1"), "--reason", "nothing received", account="plat")
    assert status_of(cli, "DSP-1") == "Disputed"
    result = cli("settlements", "confirm-payment", sid("DSP-1"), account="plat", ok=False)
    assert "is Disputed; cannot confirm-payment it" in result.stderr


def test_history_of_a_subject_in_each_role(cli, tmp_path):
    path = write_csv(tmp_path, [row("HIS-1", carrier="driver:HISTORY7"), row("HIS-2", carrier="driver:HISTORY7")])
    cli("settlements", "submit", str(path), account="plat")
    carrier = cli.json("settlements", "history", "driver:HISTORY7")["settlements"]
    assert [s["role"] for s in carrier] == ["carrier", "carrier"]
    shipper = cli.json("settlements", "history", "uscc:SHIP1")["settlements"]
    assert {s["role"] for s in shipper} == {"shipper"} and len(shipper) >= 2
    platform = cli.json("settlements", "history", "uscc:PLAT1")["settlements"]
    assert len(platform) == len(shipper)


def test_unknown_settlement_show_is_a_clear_error(cli):
    result = cli("settlements", "show", "0x" + "ab" * 32, ok=False)
    assert result.exit_code == 1 and "is not on the ledger" in result.stderr
    result = cli("settlements", "show", "0x1234", ok=False)
    assert "32-byte hex" in result.stderr


def test_real_process_exit_code_and_streams(cli, tmp_path):
    """The installed entry point, as a script would run it."""
    path = write_csv(tmp_path, [row("PROC-1", amount="zero")])
    env = {**cli.subprocess_env(), "CREDITSHARE_ACCOUNT": "plat"}
    exe = Path(sys.executable).parent / "creditshare"
    done = subprocess.run(
        [str(exe), "settlements", "submit", str(path)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert done.stdout == "" and "line 2: amount_fen must be a whole number of fen" in done.stderr


def test_rerunning_a_lifecycle_file_skips_rows_already_further_along(cli, tmp_path):
    path = write_csv(tmp_path, [row("RR-1"), row("RR-2")])
    cli("settlements", "submit", str(path), account="plat")
    cli("settlements", "confirm", "--file", str(path), account="ship")
    cli("settlements", "pay", sid("RR-1"), account="ship")
    again = cli.json("settlements", "confirm", "--file", str(path), account="ship")
    assert (again["done"], again["already"], again["skipped_past"]) == (0, 1, 1)
