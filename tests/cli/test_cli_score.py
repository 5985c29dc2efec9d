"""Lender reads: `score show|batch` verify each score's provenance locally (report calldata, EIP-712
digest, entries root, k oracle signers, registered model, reason codes from the public card)."""

from __future__ import annotations

import json

import pytest

from creditshare.core.ids import subject_id, to_hex
from scoring.model_card import TIERS
from tests.cli.lender_scenario import TRAIN, scored_market


@pytest.fixture(scope="module")
def market(cli, tmp_path_factory):
    folder = tmp_path_factory.mktemp("score")
    return folder, scored_market(cli, folder)


def test_score_show_verifies_a_score_and_recovers_its_reason_codes(cli, market):
    folder, card = market
    shown = cli.json("score", "show", "uscc:SHIP1", "uscc:SHIP2", "--card", str(card))
    for item in shown:
        p = item["provenance"]
        assert item["scored"] and p["verified"], p["problems"]
        assert item["epoch"] == 2 and item["model_is_champion"] is True and item["model_version"] == 1
        assert len(p["signers"]) == 3 and p["threshold"] == 3 and p["reasons_recovered"]
        assert isinstance(item["reasons"], list) and item["tier"] in TIERS
    card_hash = json.loads(card.read_text())["model_hash"]
    assert shown[0]["model_hash"] == card_hash
    assert shown[0]["subject"] == to_hex(subject_id("uscc:SHIP1"))
    text = cli("score", "show", "uscc:SHIP1", "--card", str(card)).stdout
    assert "verified: 3 oracle signatures" in text


def test_score_show_without_a_card_verifies_signatures_but_not_reason_codes(cli, market):
    (item,) = cli.json("score", "show", "uscc:SHIP1")
    assert item["provenance"]["verified"] and item["reasons"] is None
    assert not item["provenance"]["reasons_recovered"]


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
    folder, card = market
    path = tmp_path / "subjects.txt"
    path.write_text("# lender's watch list\nuscc:SHIP1\n\nuscc:NOBODY\nuscc:SHIP2\n")
    items = cli.json("score", "batch", str(path), "--card", str(card))
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
