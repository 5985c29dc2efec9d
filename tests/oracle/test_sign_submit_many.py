"""`oracle sign` and `oracle submit` with several report files: a refused file leaves every file unsigned and
sends nothing; a report the contract refuses after another landed names the one that did (issue #14,
finding 1: what a signer writes, checked before it writes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from brownie import web3

from tests.cli.helpers import deployed_cli, row, write_csv
from tests.cli.lender_scenario import oracles_and_card

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    return deployed_cli(tmp_path_factory)


@pytest.fixture(scope="module")
def reports(cli, tmp_path_factory):
    folder = tmp_path_factory.mktemp("many")
    card = oracles_and_card(cli, folder)
    shippers = ("uscc:SHIP2", "uscc:SHIP1")
    rows = [row(f"MANY-{i}", amount=str(100_000 + i), shipper=shippers[i % 2]) for i in range(4)]
    cli("settlements", "submit", str(write_csv(folder, rows)), account="plat")
    paths = cli.json("oracle", "propose", "--card", str(card), "--batch", "1", "--out-dir", str(folder / "r"))
    assert len(paths) == 2
    return card, paths


def signatures(path: str) -> dict[str, str]:
    return json.loads(Path(path).read_text())["signatures"]


def test_a_refused_report_among_several_leaves_every_file_unsigned(cli, reports):
    card, (first, second) = reports
    body = json.loads(Path(second).read_text())
    body["report"]["as_of"] -= 1
    bad = Path(second).with_name("bad-as-of.json")
    bad.write_text(json.dumps(body))
    result = cli("oracle", "sign", first, str(bad), "--card", str(card), account="o1", ok=False)
    assert result.exit_code == 1 and result.stderr.startswith("error: as_of must be the time of the epoch's block")
    assert result.stderr.count("\n") == 1
    assert signatures(first) == {} and signatures(str(bad)) == {}  # before, the first file was signed


def test_submit_checks_every_file_before_sending_and_names_what_landed(cli, reports):
    card, (first, second) = reports
    for name in ("o1", "o2", "o3"):
        assert cli.json("oracle", "sign", first, second, "--card", str(card), account=name) == {
            first: "signed",
            second: "signed",
        }
    body = json.loads(Path(second).read_text())
    o1, o2 = list(body["signatures"])[:2]
    body["signatures"][o1] = body["signatures"][o2]  # o2's signature listed as o1's
    forged = Path(second).with_name("forged.json")
    forged.write_text(json.dumps(body))
    head = web3.eth.block_number
    result = cli("oracle", "submit", first, str(forged), account="o1", ok=False)
    assert result.stderr == f"error: {forged}: the signature listed for {o1} was not made by it.\n"
    assert web3.eth.block_number == head  # the first report was not sent either
    cli("oracle", "submit", second, account="o1")
    result = cli("oracle", "submit", first, second, account="o1", ok=False)
    assert result.exit_code == 1 and "ScoreOracleReportAlreadySubmitted" in result.stderr
    assert f"already on chain from this command: {first}" in result.stderr
    shown = cli.json("score", "show", "uscc:SHIP1", "uscc:SHIP2", "--max-age-days", "0")
    assert [s["scored"] for s in shown] == [True, True]
