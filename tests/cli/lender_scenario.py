"""A small scored market for the lender-read tests (score show, report): 4 oracle operators with
k = 3, a trained, registered and promoted card, two shippers with paid, late, overdue and defaulted
settlements, and two signed score reports submitted through `oracle propose/sign/submit`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from brownie import chain

from creditshare.core.ids import settlement_id, subject_id, to_hex
from tests.cli.helpers import admit_oracle, row, write_csv

TRAIN = ("--synthetic", "1500", "--seed", "5")


def sid(ref: str) -> str:
    return to_hex(settlement_id(subject_id("uscc:PLAT1"), ref))


def admit_oracles(cli, n: int, threshold: int) -> None:
    """Oracle members o1..on (keys made here) and the committee's oracle.threshold set to `threshold`."""
    for i in range(1, n + 1):
        admit_oracle(cli, f"o{i}", f"uscc:ORACLE{i}")
    p = cli.json(
        "members",
        "propose",
        "set-parameter",
        "--parameter",
        "oracle.threshold",
        "--value",
        str(threshold),
        account="c1",
    )
    cli("members", "approve", str(p["id"]), account="c2")


def oracles_and_card(cli, folder: Path) -> Path:
    """Oracle members o1..o4 (k = 3) and a card trained, registered and promoted; returns the card."""
    admit_oracles(cli, 4, 3)
    card = folder / "card.json"
    cli("model", "train", *TRAIN, "--out", str(card))
    cli("model", "register", str(card), account="c1")
    promote(cli, card)
    return card


def promote(cli, card: Path) -> None:
    cli("model", "promote", str(card), "--skip-drift-check", account="c1")
    cli("model", "promote", str(card), "--skip-drift-check", account="c2")


def settlements(cli, folder: Path) -> None:
    """SHIP1: 3 paid (late), 1 open; SHIP2: 1 paid, 1 overdue, 1 defaulted."""
    rows = [
        row(f"L1-{i}", amount=str(100_000 * (i + 1)), evidence=f"evidence/waybill-{1 + i % 2}.txt") for i in range(4)
    ]
    rows += [row(f"L2-{i}", shipper="uscc:SHIP2", amount=str(50_000 * (i + 1))) for i in range(3)]
    path = write_csv(folder, rows, "lender.csv")
    cli("settlements", "submit", str(path), account="plat")
    cli("settlements", "confirm", *[sid(f"L1-{i}") for i in range(3)], account="ship")
    cli("settlements", "confirm", *[sid(f"L2-{i}") for i in range(3)], account="ship2")
    # payments are declared at the block time (a paid date cannot precede the confirmation) and made final by
    # the payee; all three are therefore late against their 2026 due dates
    cli("settlements", "pay", sid("L1-0"), sid("L1-1"), sid("L1-2"), account="ship")
    cli("settlements", "pay", sid("L2-0"), account="ship2")
    cli("settlements", "confirm-payment", sid("L1-0"), sid("L1-1"), sid("L1-2"), sid("L2-0"), account="plat")
    cli("settlements", "overdue", sid("L2-1"), sid("L2-2"), account="plat")
    cli("settlements", "resolve", sid("L2-2"), "--defaulted", account="c1")


def score(cli, folder: Path, card: Path, epoch: int, as_of: str = "2026-03-01") -> list[str]:
    """One signed report per batch, signed by o1, o2, o4 and submitted by o1."""
    reports = cli.json(
        "oracle",
        "propose",
        "--card",
        str(card),
        "--as-of",
        as_of,
        "--epoch",
        str(epoch),
        "--out-dir",
        str(folder / f"epoch{epoch}"),
    )
    for name in ("o1", "o2", "o4"):
        cli("oracle", "sign", *reports, "--card", str(card), account=name)
    cli("oracle", "submit", *reports, account="o1")
    return reports


def scored_market(cli, folder: Path) -> tuple[Path, list[int]]:
    """Oracles, a card, the settlements and two signed reports, each scored as of its epoch block now (a signer
    requires as_of to be the epoch block's time: issue #14 finding 1). Returns the card and the two epochs."""
    card = oracles_and_card(cli, folder)
    settlements(cli, folder)
    epochs = []
    for _ in range(2):
        chain.mine()
        head = chain[-1]
        score(cli, folder, card, head.number, dt.datetime.fromtimestamp(head.timestamp, dt.UTC).date().isoformat())
        epochs.append(head.number)
    return card, epochs


def list_entry(cli, folder: Path) -> None:
    """A maintainer `maint` posts one payment-default entry about uscc:SHIP2 (the credit-list CLI)."""
    cli("keys", "new", "maint")
    p = cli.json(
        "members", "propose", "admit", "--member", "maint", "--org", "uscc:MAINT1", "--role", "MAINTAINER", account="c1"
    )
    cli("members", "approve", str(p["id"]), account="c2")
    for name, value in (
        ("creditList.entryTtl", 90 * 86_400),
        ("creditList.minStake", 50_000),
        ("creditList.contestDeposit", 20_000),
        ("creditList.viewFee", 1_000),
        ("creditList.reciprocityWindow", 30 * 86_400),
        ("creditList.reciprocityDiscountBps", 2_500),
    ):
        p = cli.json("members", "propose", "set-parameter", "--parameter", name, "--value", str(value), account="c1")
        cli("members", "approve", str(p["id"]), account="c2")
    cli("token", "mint", "maint", "1000000", account="c1")
    (folder / "details.txt").write_text('{"days_overdue": 96}')
    path = folder / "entries.csv"
    path.write_text(
        "subject,category,amount_fen,period_from,period_to,settlements,evidence,details,stake_fen\n"
        f"uscc:SHIP2,payment-default,250000,2026-01-01,2026-03-31,{sid('L2-2')},"
        "evidence/waybill-1.txt,details.txt,50000\n"
    )
    cli("list", "post", str(path), account="maint")
