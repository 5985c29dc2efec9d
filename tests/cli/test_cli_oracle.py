"""Signed scores through the CLI: 4 oracle operators, k = 3, a champion card, the ledger as data."""

from __future__ import annotations

import json

import pytest

from creditshare.core.ids import subject_id, to_hex
from scoring.model_card import TIERS
from tests.cli.helpers import row, write_csv
from tests.cli.lender_scenario import oracles_and_card


@pytest.fixture(scope="module")
def setup(cli, tmp_path_factory):
    folder = tmp_path_factory.mktemp("oracle")
    card = oracles_and_card(cli, folder)  # o1..o4 (k = 3) and a promoted card
    rows = [row(f"ORC-{i}", amount=str(100_000 + i), shipper="uscc:SHIP1" if i % 2 else "uscc:SHIP2") for i in range(8)]
    path = write_csv(folder, rows)
    cli("settlements", "submit", str(path), account="plat")
    return folder, card


def propose(cli, folder, card, epoch: int) -> list[str]:
    return cli.json(
        "oracle",
        "propose",
        "--card",
        str(card),
        "--as-of",
        "2026-03-01",
        "--epoch",
        str(epoch),
        "--out-dir",
        str(folder / f"epoch{epoch}"),
    )


def test_three_of_four_oracles_put_signed_scores_on_chain(cli, setup):
    folder, card = setup
    reports = propose(cli, folder, card, 1)
    assert len(reports) == 1
    for name in ("o1", "o2"):
        assert cli.json("oracle", "sign", *reports, "--card", str(card), account=name)[reports[0]] == "signed"
    too_few = cli("oracle", "submit", *reports, account="o1", ok=False)
    assert too_few.exit_code == 1 and "ScoreOracleTooFewSignatures" in too_few.stderr
    cli("oracle", "sign", *reports, "--card", str(card), account="o4")
    done = cli.json("oracle", "submit", *reports, account="o1")[reports[0]]
    assert done["entries"] == 2 and done["signatures"] == 3
    shown = cli.json("score", "show", "uscc:SHIP1", "uscc:SHIP2", "uscc:NOBODY")
    assert [s["scored"] for s in shown] == [True, True, False]
    assert shown[0]["model_is_champion"] is True and shown[0]["tier"] in TIERS
    assert shown[0]["subject"] == to_hex(subject_id("uscc:SHIP1"))
    again = cli("oracle", "submit", *reports, account="o1", ok=False)
    assert "ScoreOracleReportAlreadySubmitted" in again.stderr


def test_an_oracle_refuses_to_sign_a_tampered_batch(cli, setup):
    folder, card = setup
    reports = propose(cli, folder, card, 2)
    body = json.loads(open(reports[0]).read())
    body["entries"][0]["score"] += 1
    with open(reports[0], "w") as handle:
        json.dump(body, handle)
    result = cli("oracle", "sign", *reports, "--card", str(card), account="o2", ok=False)
    assert result.exit_code == 1 and "do not hash to its entries root" in result.stderr


def test_a_non_oracle_cannot_sign_usefully_or_submit(cli, setup):
    folder, card = setup
    reports = propose(cli, folder, card, 3)
    for name in ("o1", "o2", "bank"):
        cli("oracle", "sign", *reports, "--card", str(card), account=name)
    result = cli("oracle", "submit", *reports, account="o1", ok=False)
    assert "ScoreOracleSignerNotOracle" in result.stderr
    result = cli("oracle", "submit", *reports, account="bank", ok=False)
    assert "ScoreOracleNotOracle" in result.stderr


def test_score_batch_reads_many_subjects(cli, setup, tmp_path):
    path = tmp_path / "subjects.txt"
    path.write_text("uscc:SHIP1\nuscc:NOBODY\n")
    items = cli.json("score", "batch", str(path))
    assert len(items) == 2 and items[1]["scored"] is False


def test_propose_refuses_an_epoch_past_the_latest_block_and_writes_nothing(cli, setup):
    folder, card = setup
    out = folder / "future"
    for epoch in (2**64 - 1, 10**9):
        result = cli(
            "oracle",
            "propose",
            "--card",
            str(card),
            "--as-of",
            "2026-03-01",
            "--epoch",
            str(epoch),
            "--out-dir",
            str(out),
            ok=False,
        )
        assert result.exit_code == 1
        assert "error: epoch must be between 1 and the latest block number" in result.stderr
        assert f"(epochs are block numbers); got {epoch}." in result.stderr
    assert not out.exists()


def test_propose_refuses_a_ttl_beyond_the_oracle_maximum_and_writes_nothing(cli, setup):
    folder, card = setup
    out = folder / "far"
    result = cli(
        "oracle",
        "propose",
        "--card",
        str(card),
        "--as-of",
        "2026-03-01",
        "--epoch",
        "4",
        "--ttl",
        str(7 * 86_400 + 1),
        "--out-dir",
        str(out),
        ok=False,
    )
    assert result.exit_code == 1 and "error: expiry" in result.stderr
    assert "more than 604800 seconds after the latest block's time" in result.stderr
    assert not out.exists()
