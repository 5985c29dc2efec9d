"""Lender reads: `score show|batch` verify each score's provenance locally (report calldata, EIP-712
digest, entries root, k oracle signers, registered model, reason codes from the public card)."""

from __future__ import annotations

import json

import pytest
from brownie import chain

from creditshare.core.ids import subject_id, to_hex
from scoring.model_card import TIERS
from tests.cli.lender_scenario import TRAIN, scored_market

DAY = 86_400
NO_LIMIT = ("--max-age-days", "0")  # the checks of the signed report alone, whatever the score's age


@pytest.fixture(scope="module")
def market(cli, tmp_path_factory):
    folder = tmp_path_factory.mktemp("score")
    card, epochs = scored_market(cli, folder)
    return folder, card, epochs


def test_score_show_verifies_a_score_and_recovers_its_reason_codes(cli, market):
    folder, card, epochs = market
    shown = cli.json("score", "show", "uscc:SHIP1", "uscc:SHIP2", "--card", str(card), *NO_LIMIT)
    for item in shown:
        p = item["provenance"]
        assert item["scored"] and p["verified"], p["problems"]
        assert p["verdict"] == "verified" and item["model_status"] == "champion" and p["max_age_days"] is None
        assert item["epoch"] == epochs[1] and item["model_is_champion"] is True and item["model_version"] == 1
        assert len(p["signers"]) == 3 and p["threshold"] == 3 and p["reasons_recovered"]
        assert isinstance(item["reasons"], list) and item["tier"] in TIERS
    card_hash = json.loads(card.read_text())["model_hash"]
    assert shown[0]["model_hash"] == card_hash
    assert shown[0]["subject"] == to_hex(subject_id("uscc:SHIP1"))
    text = cli("score", "show", "uscc:SHIP1", "--card", str(card), *NO_LIMIT).stdout
    assert "verified: 3 oracle signatures" in text


def test_score_show_without_a_card_recovers_reasons_from_the_card_model_register_published(cli, market):
    (item,) = cli.json("score", "show", "uscc:SHIP1", *NO_LIMIT)
    (with_card,) = cli.json("score", "show", "uscc:SHIP1", "--card", str(market[1]), *NO_LIMIT)
    assert item["provenance"]["verified"] and item["provenance"]["reasons_recovered"]
    assert item["card_source"] == "evidence store"
    assert isinstance(item["reasons"], list) and item["reasons"] == with_card["reasons"]
    # the reasons as sentences with the subject's value (creditshare.reports.freight), the same with either card
    assert item["reason_text"] == with_card["reason_text"] and len(item["reason_text"]) == len(item["reasons"])
    assert all(": " in t for t in item["reason_text"])


def test_a_wrong_card_is_reported_as_not_verified(cli, market, tmp_path):
    other = tmp_path / "other.json"
    cli("model", "train", *TRAIN[:2], "--seed", "6", "--out", str(other))
    (item,) = cli.json("score", "show", "uscc:SHIP1", "--card", str(other))
    assert item["provenance"]["verified"] is False and item["reasons"] is None
    assert "not to the report's model" in item["provenance"]["problems"][0]
    assert "NOT VERIFIED" in cli("score", "show", "uscc:SHIP1", "--card", str(other)).stdout


def test_a_subject_with_no_score(cli, market):
    (item,) = cli.json("score", "show", "uscc:NOBODY")
    assert item == {"subject": to_hex(subject_id("uscc:NOBODY")), "scored": False}
    assert "1 subject(s) without a score" in cli("score", "show", "uscc:NOBODY").stdout


def test_score_batch_reads_many_subjects(cli, market, tmp_path):
    folder, card, epochs = market
    path = tmp_path / "subjects.txt"
    path.write_text("# lender's watch list\nuscc:SHIP1\n\nuscc:NOBODY\nuscc:SHIP2\n")
    items = cli.json("score", "batch", str(path), "--card", str(card), *NO_LIMIT)
    assert [i["scored"] for i in items] == [True, False, True]
    assert all(i["provenance"]["verified"] for i in items if i["scored"])


def test_score_batch_with_a_missing_file(cli, market, tmp_path):
    result = cli("score", "batch", str(tmp_path / "nope.txt"), ok=False)
    assert result.exit_code == 1 and "cannot read" in result.stderr


def test_score_batch_with_a_bad_subject_line(cli, market, tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("uscc:SHIP1\nnot a subject\n")
    result = cli("score", "batch", str(path), ok=False)
    assert result.exit_code == 1 and "line 2" in result.stderr and "subject must be" in result.stderr


def test_a_score_older_than_the_lenders_limit_is_stale_not_verified(cli, market):
    folder, card, epochs = market
    chain.sleep(200 * DAY)  # the chain's clock moves on; nobody rescored SHIP1 (reverted after the test)
    chain.mine()
    (item,) = cli.json("score", "show", "uscc:SHIP1", "--card", str(card))
    p = item["provenance"]
    age = item["age_days"]
    assert age >= 200 and p["age_days"] == age and item["staleness_days"] == age
    assert p["problems"] == [] and p["max_age_days"] == 90  # the documented default
    assert p["verdict"] == "stale" and p["verified"] is False and item["model_status"] == "champion"
    text = cli("score", "show", "uscc:SHIP1", "--card", str(card)).stdout
    assert f"STALE: 3 oracle signatures (k=3), but it is {age} days old (limit 90)" in text
    assert "0 of 1 score(s) verified" in text and "1 stale" in text
    # the lender sets its own limit: just above the age verifies, just below is stale, 0 disables it
    (item,) = cli.json("score", "show", "uscc:SHIP1", "--max-age-days", str(age))
    assert item["provenance"]["verdict"] == "verified" and item["provenance"]["verified"]
    (item,) = cli.json("score", "show", "uscc:SHIP1", "--max-age-days", str(age - 1))
    assert item["provenance"]["verdict"] == "stale"
    (item,) = cli.json("score", "show", "uscc:SHIP1", *NO_LIMIT)
    assert item["provenance"]["verified"] and item["provenance"]["max_age_days"] is None
    path = folder / "watch.txt"
    path.write_text("uscc:SHIP1\nuscc:SHIP2\n")
    items = cli.json("score", "batch", str(path), "--max-age-days", "30")
    assert [i["provenance"]["verdict"] for i in items] == ["stale", "stale"]


def test_a_score_from_a_retired_model_is_retired_not_verified(cli, market):
    folder, card, epochs = market
    cli("model", "retire", str(card), account="c1")
    assert cli.json("model", "retire", str(card), account="c2")["status"] == "retired"
    (item,) = cli.json("score", "show", "uscc:SHIP1", "--card", str(card), *NO_LIMIT)
    p = item["provenance"]
    assert item["model_status"] == p["model_status"] == "retired" and item["model_is_champion"] is False
    assert p["problems"] == [] and p["verdict"] == "retired" and p["verified"] is False
    text = cli("score", "show", "uscc:SHIP1", "--card", str(card), *NO_LIMIT).stdout
    assert "RETIRED: 3 oracle signatures (k=3), but its model is retired" in text and "retired" in text
    # retirement outranks age: an old score of a retired model is still reported as retired
    (item,) = cli.json("score", "show", "uscc:SHIP1", "--max-age-days", "1")
    assert item["provenance"]["verdict"] == "retired"


def test_a_negative_maximum_age_is_refused(cli, market):
    result = cli("score", "show", "uscc:SHIP1", "--max-age-days", "-1", ok=False)
    assert result.exit_code == 1 and "error:" in result.stderr and "maximum score age" in result.stderr
    assert "Traceback" not in result.stderr
