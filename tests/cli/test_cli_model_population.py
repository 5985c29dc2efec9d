"""`model train` on the population the oracles score (#17): --population all keeps the subjects already in
default, labelled bad (without it, as before, a shipper in default is left out, so the card's bins have no place
for it); every role trains from the chain (--settlements chain: settlements from the chain index, payouts and trip
verdicts from the chain), not only --synthetic."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from brownie import chain

from tests.cli.helpers import Cli
from tests.cli.lender_scenario import settlements
from tests.cli.test_cli_payouts import pcli, prow, write  # noqa: F401 - pcli is the carrier fixture

pytestmark = pytest.mark.chain

ONE_LINE = re.compile(r"^error: [^\n]+\n?$")


def _tomorrow() -> str:
    return (dt.datetime.fromtimestamp(chain.time(), dt.UTC).date() + dt.timedelta(days=1)).isoformat()


@pytest.fixture(scope="module")
def world(pcli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Cli:  # noqa: F811
    """SHIP1 pays its settlements, SHIP2 is in default on one (lender_scenario); PLAT1 owes carrier D1 a payout."""
    folder = tmp_path_factory.mktemp("population")
    settlements(pcli, folder)
    pcli("payouts", "submit", str(write(folder, [prow("P-1")])), account="plat")
    chain.mine()
    return pcli


def _refusal(cli: Cli, *args: str) -> str:
    result = cli("model", "train", *args, "--out", "/tmp/never-written.json", ok=False)
    assert result.exit_code == 1 and ONE_LINE.match(result.stderr), result.stderr
    return result.stderr


def test_the_shipper_in_default_is_in_the_chain_population_and_labelled_bad(world: Cli) -> None:
    every = _refusal(world, "--settlements", "chain", "--as-of", _tomorrow(), "--population", "all")
    assert "holds 2 shippers, 1 of them in default" in every
    alive = _refusal(world, "--settlements", "chain", "--as-of", _tomorrow(), "--population", "alive")
    assert "holds 1 shippers, 0 of them in default" in alive
    assert "a scorecard needs at least 5 in default and 5 not" in every
    # without --population, the population of before (those not yet in default)
    assert "holds 1 shippers, 0 of them in default" in _refusal(world, "--settlements", "chain", "--as-of", _tomorrow())


def test_carriers_and_platforms_train_from_the_chain(world: Cli) -> None:
    carriers = _refusal(
        world, "--role", "carrier", "--settlements", "chain", "--as-of", _tomorrow(), "--population", "all"
    )
    assert "the carrier population as of" in carriers and "holds 1 carriers, 0 of them in default" in carriers
    platforms = _refusal(
        world, "--role", "platform", "--settlements", "chain", "--as-of", _tomorrow(), "--population", "all"
    )
    assert "holds 1 platforms, 0 of them in default" in platforms  # PLAT1, from the payout recorded on chain


def test_a_platform_card_from_a_settlements_file_is_refused(world: Cli, tmp_path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        "settlement_id,shipper,platform,carrier,amount,invoice_date,due_date,paid_date,status,status_date\n"
    )
    refused = _refusal(world, "--role", "platform", "--settlements", str(path), "--as-of", "2026-01-01")
    assert "a platform card needs the payouts platforms owe carriers" in refused


def test_an_unknown_population_is_refused(world: Cli) -> None:
    refused = _refusal(world, "--synthetic", "500", "--population", "dead")
    assert "--population must be one of all, alive; got 'dead'" in refused


def test_the_synthetic_card_records_its_population_and_keeps_the_defaulted(cli: Cli, tmp_path) -> None:
    every = cli.json(
        "model", "train", "--synthetic", "1500", "--seed", "5", "--population", "all", "--out", str(tmp_path / "a.json")
    )
    alive = cli.json(
        "model",
        "train",
        "--synthetic",
        "1500",
        "--seed",
        "5",
        "--population",
        "alive",
        "--out",
        str(tmp_path / "b.json"),
    )
    assert every["population"] == "all" and alive["population"] == "alive"
    assert every["rows"] > alive["rows"] and every["defaults"] > alive["defaults"]
    assert json.loads((tmp_path / "a.json").read_text())["training"]["population"] == "all"
    assert every["auc"] > 0.65 and alive["auc"] > 0.65


@pytest.mark.parametrize("role", ["carrier", "platform"])
def test_a_synthetic_role_card_ranks_out_of_sample(cli: Cli, tmp_path, role: str) -> None:
    out = cli.json(
        "model",
        "train",
        "--role",
        role,
        "--synthetic",
        "1000",
        "--seed",
        "1",
        "--population",
        "all",
        "--out",
        str(tmp_path / "c"),
    )
    assert out["role"] == role and out["population"] == "all" and out["auc"] >= 0.8
