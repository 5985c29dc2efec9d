"""Extreme but valid settlements end to end (issue #13, finding 6): amounts at the ledger's maximum
(10^12 fen) and dates at both ends of its window go through the CSV check and the contract, and every
off-chain reader (the oracle's proposal, the HTML report, training on the chain) still works; one fen
more, or a day outside the window, is refused by the CSV check before anything is sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from brownie import web3

from creditshare.bindings.settlement_ledger import MAX_AMOUNT
from tests.cli.helpers import row, write_csv
from tests.cli.lender_scenario import oracles_and_card, sid

MAX = str(MAX_AMOUNT)


@pytest.fixture(scope="module")
def market(cli, tmp_path_factory):
    """SHIP1 owes 10^12 fen on each of 12 settlements: some overdue since 2000, some paid, some due in 2099."""
    folder = tmp_path_factory.mktemp("extremes")
    card = oracles_and_card(cli, folder)
    rows = [row(f"X-OLD-{i}", amount=MAX, invoice="2000-01-01", due="2000-01-31") for i in range(4)]
    rows += [row(f"X-PAID-{i}", amount=MAX, invoice="2026-01-05", due="2099-12-31") for i in range(4)]
    rows += [row(f"X-LATE-{i}", amount=MAX, invoice="2099-12-31", due="2099-12-31") for i in range(3)]
    rows += [row("X-ONE", amount="1", shipper="uscc:SHIP2", invoice="2000-01-01", due="2099-12-31")]
    path = write_csv(folder, rows, "extremes.csv")
    assert cli.json("settlements", "submit", str(path), account="plat")["submitted"] == len(rows)
    old = [sid(f"X-OLD-{i}") for i in range(4)]
    paid = [sid(f"X-PAID-{i}") for i in range(4)]
    cli("settlements", "confirm", *old, *paid, account="ship")
    cli("settlements", "confirm", sid("X-ONE"), account="ship2")
    cli("settlements", "overdue", *old, account="plat")
    cli("settlements", "resolve", *old[:2], "--defaulted", account="c1")
    cli("settlements", "pay", *paid, account="ship")
    cli("settlements", "confirm-payment", *paid, account="plat")
    # the oracles score both shippers from these records
    reports = cli.json("oracle", "propose", "--card", str(card), "--out-dir", str(folder / "reports"))
    entries = [e for report in reports for e in json.loads(Path(report).read_text())["entries"]]
    assert len(entries) == 2  # SHIP1 and SHIP2
    for name in ("o1", "o2", "o4"):
        cli("oracle", "sign", *reports, "--card", str(card), account=name)
    cli("oracle", "submit", *reports, account="o1")
    return folder, card


def test_the_oracle_scores_shippers_with_maximal_settlements(cli, market):
    shown = cli.json("score", "show", "uscc:SHIP1", "uscc:SHIP2")
    assert [s["scored"] for s in shown] == [True, True]
    assert all(isinstance(s["score"], int) and s["score"] > 0 for s in shown)


def test_the_html_report_and_the_subject_report_read_maximal_amounts(cli, market, tmp_path):
    _folder, card = market
    facts = cli.json("report", "--html", str(tmp_path / "html"), "--card", str(card), "--max-age-days", "0")
    assert facts["subjects"] >= 1 and (tmp_path / "html" / "index.html").exists()
    settlements = cli.json("report", "uscc:SHIP1", "--card", str(card), "--max-age-days", "0")["settlements"]
    assert settlements  # the subject report lists the maximal settlements without overflowing


def test_training_on_the_chain_reads_maximal_amounts(cli, market, tmp_path):
    result = cli(
        "model", "train", "--settlements", "chain", "--as-of", "2026-03-01", "--out", str(tmp_path / "c.json"), ok=False
    )
    # the frame and the features are built from the maximal records (where 2^96-1 fen overflowed int64); a market
    # this small may then hold a single class, which is a clear refusal
    assert result.exit_code in (0, 1) and "Traceback" not in result.stderr and "unexpected" not in result.stderr
    if result.exit_code == 1:
        assert result.stderr.startswith("error: ") and "Overflow" not in result.stderr


@pytest.mark.parametrize(
    ("amount", "invoice", "due", "message"),
    [
        (str(MAX_AMOUNT + 1), "2026-01-05", "2026-02-04", "amount_fen must be at most 1000000000000"),
        (str(2**96 - 1), "2026-01-05", "2026-02-04", "amount_fen must be at most 1000000000000"),
        (MAX, "1999-12-31", "2026-02-04", "invoice_date must lie between 2000-01-01 and 2099-12-31"),
        (MAX, "2026-01-05", "2100-01-01", "due_date must lie between 2000-01-01 and 2099-12-31"),
    ],
)
def test_values_past_the_bounds_are_refused_before_sending(cli, tmp_path, amount, invoice, due, message):
    block = web3.eth.block_number
    path = write_csv(tmp_path, [row("X-OK"), row("X-BAD", amount=amount, invoice=invoice, due=due)])
    result = cli("settlements", "submit", str(path), account="plat", ok=False)
    assert result.exit_code == 1 and "line 3: " + message in result.stderr and "Traceback" not in result.stderr
    assert web3.eth.block_number == block
