"""Signed scores through the CLI: 4 oracle operators, k = 3, a champion card, the ledger as data."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from brownie import web3

from creditshare.core.ids import subject_id, to_hex
from creditshare.core.localchain import free_port
from scoring.model_card import TIERS
from tests.cli.helpers import row, write_csv
from tests.cli.lender_scenario import oracles_and_card

ORACLE = {"id": 1, "name": "o1", "keystore": "o1", "address": "0x" + "01" * 20, "port": 18601}


@pytest.fixture(scope="module")
def setup(cli, tmp_path_factory):
    folder = tmp_path_factory.mktemp("oracle")
    card = oracles_and_card(cli, folder)  # o1..o4 (k = 3) and a promoted card
    rows = [row(f"ORC-{i}", amount=str(100_000 + i), shipper="uscc:SHIP1" if i % 2 else "uscc:SHIP2") for i in range(8)]
    path = write_csv(folder, rows)
    cli("settlements", "submit", str(path), account="plat")
    return folder, card


def propose(cli, folder, card, name: str) -> list[str]:
    """A report at the latest block (the default epoch), scored as of that block's time."""
    return cli.json("oracle", "propose", "--card", str(card), "--out-dir", str(folder / name))


def test_three_of_four_oracles_put_signed_scores_on_chain(cli, setup):
    folder, card = setup
    reports = propose(cli, folder, card, "first")
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
    reports = propose(cli, folder, card, "tampered")
    body = json.loads(open(reports[0]).read())
    body["entries"][0]["score"] += 1
    with open(reports[0], "w") as handle:
        json.dump(body, handle)
    result = cli("oracle", "sign", *reports, "--card", str(card), account="o2", ok=False)
    assert result.exit_code == 1 and "do not hash to its entries root" in result.stderr


def test_a_non_oracle_cannot_sign_usefully_or_submit(cli, setup):
    folder, card = setup
    reports = propose(cli, folder, card, "outsider")
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
        "--ttl",
        str(7 * 86_400 + 1),
        "--out-dir",
        str(out),
        ok=False,
    )
    assert result.exit_code == 1 and "error: expiry" in result.stderr
    assert "is more than 604800 seconds after as_of" in result.stderr
    assert not out.exists()


def test_propose_refuses_an_as_of_that_is_not_the_epoch_blocks_date(cli, setup):
    """An old --as-of would score subjects as they stood before their defaults (issue #14, finding 1)."""
    folder, card = setup
    out = folder / "old"
    result = cli("oracle", "propose", "--card", str(card), "--as-of", "2026-03-01", "--out-dir", str(out), ok=False)
    assert result.exit_code == 1
    assert "error: --as-of 2026-03-01 is not the date of epoch block" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
    today = time.strftime("%Y-%m-%d", time.gmtime(web3.eth.get_block("latest")["timestamp"]))
    (path,) = cli.json("oracle", "propose", "--card", str(card), "--as-of", today, "--out-dir", str(out))
    report = json.loads(Path(path).read_text())["report"]
    assert report["as_of"] == web3.eth.get_block(report["epoch"])["timestamp"]


def tampered(path: str, **changes: int) -> str:
    """A copy of a proposed report file with header fields changed (the entries root still matches)."""
    body = json.loads(Path(path).read_text())
    body["report"].update(changes)
    out = Path(path).with_name(f"tampered-{'-'.join(changes)}.json")
    out.write_text(json.dumps(body))
    return str(out)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r, head: {"epoch": 2**64 - 1}, "epoch must be a confirmed block number between 1 and"),
        (lambda r, head: {"epoch": head + 5}, "epoch must be a confirmed block number between 1 and"),
        (lambda r, head: {"as_of": r["as_of"] - 329 * 86_400}, "as_of must be the time of the epoch's block"),
        (lambda r, head: {"as_of": r["as_of"] + 1}, "as_of must be the time of the epoch's block"),
        (lambda r, head: {"expiry": r["as_of"] + 7 * 86_400 + 1}, "is more than 604800 seconds after as_of"),
    ],
    ids=["epoch-2^64-1", "future-epoch", "old-as-of", "as-of-off-by-one", "expiry-beyond-max-ttl"],
)
def test_sign_refuses_a_report_outside_the_window_with_one_clear_error(cli, setup, change, message):
    """Issue #14, finding 1: `oracle sign` checks epoch, as_of and expiry, not only the entries."""
    folder, card = setup
    (path,) = propose(cli, folder, card, "window")
    report = json.loads(Path(path).read_text())["report"]
    bad = tampered(path, **change(report, web3.eth.block_number))
    result = cli("oracle", "sign", bad, "--card", str(card), account="o1", ok=False)
    assert result.exit_code == 1 and result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert json.loads(Path(bad).read_text())["signatures"] == {}
    assert cli.json("oracle", "sign", path, "--card", str(card), account="o1")[path] == "signed"


def test_sign_holds_expiry_to_the_configured_ttl_and_refuses_an_epoch_older_than_it(cli, setup):
    folder, card = setup
    config = folder / "oracles.json"
    config.write_text(json.dumps({"oracles": [ORACLE], "round": {"report_ttl_seconds": 3600, "confirmations": 1}}))
    (path,) = cli.json("oracle", "propose", "--card", str(card), "--ttl", "7200", "--out-dir", str(folder / "ttl"))
    report = json.loads(Path(path).read_text())["report"]
    fine = tampered(path, expiry=report["as_of"] + 3600)
    with_config = ("--card", str(card), "--config", str(config))
    # one confirmation: the latest block is not yet final for this operator
    result = cli("oracle", "sign", fine, *with_config, account="o1", ok=False)
    assert "error: epoch must be a confirmed block number" in result.stderr and "minus 1 confirmations" in result.stderr
    cli(
        "settlements", "submit", str(write_csv(folder, [row("ORC-TTL", shipper="uscc:SHIP1")], "t.csv")), account="plat"
    )
    result = cli("oracle", "sign", path, *with_config, account="o1", ok=False)
    assert "error: expiry" in result.stderr and "is more than 3600 seconds after as_of" in result.stderr
    assert cli.json("oracle", "sign", fine, *with_config, account="o1")[fine] == "signed"
    # two hours later the epoch's block is older than the TTL: the report would already have expired
    web3.provider.make_request("evm_increaseTime", [7200])
    web3.provider.make_request("evm_mine", [])
    result = cli("oracle", "sign", fine, *with_config, account="o2", ok=False)
    assert "error: the report expired at" in result.stderr and "is too old" in result.stderr


def test_malformed_report_and_config_files_give_one_error_line_naming_the_file(cli, setup, tmp_path):
    """Issue #13, finding 3, through the CLI: no traceback, the file named."""
    folder, card = setup
    report = tmp_path / "report.json"
    for raw in ("{", "[]", '{"chain_id": true}', json.dumps({"chain_id": 31337, "contract": "0x" + "ab" * 20})):
        report.write_text(raw)
        result = cli("oracle", "sign", str(report), "--card", str(card), account="o1", ok=False)
        assert result.exit_code == 1 and result.stderr.startswith(f"error: {report} is not a score report file")
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    config = tmp_path / "oracles.json"
    for raw, message in (("{", "is not JSON"), ('{"oracles": [{"id": 1}]}', "lacks name, keystore, address, port")):
        config.write_text(raw)
        result = cli("oracle", "status", "--config", str(config), ok=False)
        assert result.exit_code == 1 and str(config) in result.stderr and message in result.stderr
        assert "Traceback" not in result.stderr


def test_status_shows_a_corrupt_checkpoint_instead_of_failing(cli, setup, tmp_path):
    config = tmp_path / "oracles.json"
    config.write_text(json.dumps({"oracles": [{**ORACLE, "port": free_port()}]}))
    path = cli.data_dir / "oracle" / "checkpoint-1.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"block": ')
    (row,) = cli.json("oracle", "status", "--config", str(config))
    assert row["up"] is False and row["checkpoint"] == -1
    assert f"{path} is not an oracle checkpoint" in row["last_round"]["status"]
    assert "signs nothing for leader_timeout_seconds" in row["last_round"]["status"]
