"""Reasons as sentences for every role's subject (#17 item 4 with item 3): a carrier and a platform scored by
their roles' champions in a report naming the champion set; `score show` and `report SUBJECT` recover each
entry's reasons from its role's published card and say them as sentences with the subject's values, without
a `card_problem` (the set hash has no card of its own, and needs none)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from brownie import chain

from creditshare.core.ids import subject_id, to_hex
from creditshare.reports.freight import feature_phrase
from scoring.features import format_value
from tests.cli.lender_scenario import TRAIN, oracles_and_card, promote, settlements

pytestmark = pytest.mark.chain

NO_LIMIT = ("--max-age-days", "0")
PLAT1, CARRIER = to_hex(subject_id("uscc:PLAT1")), to_hex(subject_id("driver:D1"))


def _card(cli, folder: Path, role: str) -> Path:
    card = folder / f"{role}.json"
    cli("model", "train", "--role", role, *TRAIN, "--out", str(card))
    cli("model", "register", str(card), account="c1")
    promote(cli, card)
    return card


@pytest.fixture(scope="module")
def scored(cli, tmp_path_factory):
    folder = tmp_path_factory.mktemp("freight-roles")
    shipper = oracles_and_card(cli, folder)
    settlements(cli, folder)
    cards = [shipper, _card(cli, folder, "carrier"), _card(cli, folder, "platform")]
    chain.mine()
    epoch = chain[-1].number
    (path,) = cli.json(
        "oracle",
        "propose",
        *[a for c in cards for a in ("--card", str(c))],
        "--epoch",
        str(epoch),
        "--out-dir",
        str(folder / "r"),
    )
    for name in ("o1", "o2", "o4"):
        cli("oracle", "sign", path, "--card", str(shipper), account=name)
    cli("oracle", "submit", path, account="o1")
    return {"carrier": cards[1], "platform": cards[2]}


def test_a_carrier_and_a_platform_get_their_reasons_as_sentences(cli, scored):
    shown = cli.json("score", "show", "driver:D1", "uscc:PLAT1", *NO_LIMIT)
    assert any(item["reasons"] for item in shown)  # something to say
    for item, role in zip(shown, ("carrier", "platform"), strict=True):
        assert item["role"] == role and item["provenance"]["verified"], item["provenance"]["problems"]
        assert item["model_hash"] == json.loads(scored[role].read_text())["model_hash"]
        assert "card_problem" not in item and item["card_source"] == "evidence store"
        assert len(item["reason_text"]) == len(item["reasons"])
        for feature, text in zip(item["reasons"], item["reason_text"], strict=True):
            assert text.startswith(feature_phrase(feature)) and ": " in text, (feature, text)


def test_report_of_a_carrier_says_the_same_sentences_with_its_recomputed_values(cli, scored, monkeypatch):
    (item,) = cli.json("score", "show", "driver:D1", *NO_LIMIT)
    r = cli.json("report", "driver:D1", *NO_LIMIT)
    assert r["reason_text"] == item["reason_text"] and r["score"]["reasons"] == item["reasons"]
    assert "card_problem" not in r["score"]
    # the values, recomputed here as the oracles do (the carrier's settlement and party features)
    from creditshare.bindings.settlement_ledger import SettlementLedger, settlement_frame
    from creditshare.core.chain import ChainClient
    from creditshare.core.config import load_settings
    from scoring.features import build_features, party_features

    for key, value in cli.env.items():
        monkeypatch.setenv(key, value)
    frame = settlement_frame(SettlementLedger(ChainClient(load_settings())))
    t = item["as_of"]
    values = pd.concat(
        [
            build_features(frame, t, subjects=[CARRIER], roles=("carrier",)),
            party_features(frame, t, subjects=[CARRIER], role="carrier"),
        ],
        axis=1,
    ).loc[CARRIER]
    for feature, text in zip(item["reasons"], item["reason_text"], strict=True):
        if feature in values.index and not feature.startswith(("car_payout", "car_verified", "car_trips", "car_new")):
            value = None if pd.isna(values[feature]) else int(values[feature])
            assert text.endswith(": " + format_value(feature, value)), (feature, text, value)
    printed = cli("report", "uscc:PLAT1", *NO_LIMIT).stdout
    assert "reason: " in printed and "unknown subject" not in printed
