"""The raw stored scores (oracle.scores.scores: a consented read's `score`, the demo's reads) say their model's
status and their age, as `score show` does, so no reader takes a retired or old score for a current one
(issue #14, finding 10)."""

from __future__ import annotations

import pytest
from brownie import chain

from creditshare.core.chain import ChainClient
from creditshare.core.config import load_settings
from creditshare.core.ids import subject_id
from oracle.scores import scores
from tests.cli.helpers import deployed_cli
from tests.cli.lender_scenario import scored_market

pytestmark = pytest.mark.chain
DAY = 86_400


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    return deployed_cli(tmp_path_factory)


@pytest.fixture(scope="module")
def market(cli, tmp_path_factory):
    card, _ = scored_market(cli, tmp_path_factory.mktemp("stored"))
    return card


def read(cli) -> list[dict]:
    with pytest.MonkeyPatch.context() as env:
        for name, value in cli.env.items():
            env.setenv(name, value)
        client = ChainClient(load_settings())
    return scores(client, [subject_id("uscc:SHIP1"), subject_id("uscc:NOBODY")])


def test_a_stored_score_shows_its_models_status_and_its_age(cli, market):
    fresh, nobody = read(cli)
    assert nobody == {"subject": nobody["subject"], "scored": False}
    assert fresh["model_status"] == "champion" and fresh["model_is_champion"] is True and fresh["age_days"] == 0
    chain.sleep(200 * DAY)
    chain.mine()
    cli("model", "retire", str(market), account="c1")
    cli("model", "retire", str(market), account="c2")
    (old, _) = read(cli)
    assert old["model_status"] == "retired" and old["model_is_champion"] is False
    assert old["age_days"] == old["staleness_days"] >= 200
    assert (old["score"], old["epoch"]) == (fresh["score"], fresh["epoch"])  # the same stored score, read as it is
