"""Model cards as published documents: `evidence put-card` stores a card under the digest the registry records,
and `score show` / `report` recover reason codes without --card by fetching each score's model card by that
digest (checked against it); a card not published, damaged or of another model is named, never trusted."""

from __future__ import annotations

import json

import pytest

from creditshare.bindings.model_registry import ModelRegistry
from creditshare.core.chain import ChainClient
from creditshare.core.config import load_settings
from creditshare.core.ids import cid_from_digest, parse_bytes32
from creditshare.domain import cards
from scoring.model_card import ModelCard
from tests.cli.lender_scenario import scored_market

NO_LIMIT = ("--max-age-days", "0")
HINT = "publish it with `creditshare evidence put-card FILE`"


@pytest.fixture(scope="module")
def market(cli, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cards")
    card, epochs = scored_market(cli, folder)
    return folder, card, epochs


def registered_digest(cli, model_hash: str) -> str:
    (model,) = [m for m in cli.json("model", "show")["models"] if m["model_hash"] == model_hash]
    return str(model["card_digest"])


def unpublish(cli, card) -> None:
    """Removes the card from the folder store, whether `model register` published it or not."""
    digest = registered_digest(cli, json.loads(card.read_text())["model_hash"])
    (cli.data_dir / "evidence" / cid_from_digest(parse_bytes32(digest))).unlink(missing_ok=True)


def test_without_a_published_card_the_reasons_stay_unrecovered_and_the_read_says_how_to_publish(cli, market):
    unpublish(cli, market[1])
    (item,) = cli.json("score", "show", "uscc:SHIP1", *NO_LIMIT)
    assert item["provenance"]["verified"] and item["reasons"] is None and item["card_source"] is None
    assert HINT in item["card_problem"]
    text = cli("score", "show", "uscc:SHIP1", *NO_LIMIT).stdout
    assert "reason codes not recovered: card bafkrei" in text and "put-card" in text
    r = cli.json("report", "uscc:SHIP2", *NO_LIMIT)
    assert r["score"]["reasons"] is None and HINT in r["score"]["card_problem"]
    assert "reason codes not recovered: card bafkrei" in cli("report", "uscc:SHIP2", *NO_LIMIT).stdout
    result = cli("report", "--html", str(market[0] / "no-card"), ok=False)
    assert result.exit_code == 1 and "--html needs --card" in result.stderr and HINT in result.stderr


def test_a_published_card_recovers_the_reason_codes_without_card(cli, market, tmp_path):
    folder, card, _ = market
    model_hash = json.loads(card.read_text())["model_hash"]
    published = cli.json("evidence", "put-card", str(card))
    digest = registered_digest(cli, model_hash)
    assert published["card_digest"] == digest and published["model_hash"] == model_hash
    assert published["cid"] == cid_from_digest(parse_bytes32(digest))
    assert cli.json("evidence", "put-card", str(card))["cid"] == published["cid"]  # idempotent
    with_file = cli.json("score", "show", "uscc:SHIP1", "uscc:SHIP2", "uscc:NOBODY", "--card", str(card), *NO_LIMIT)
    fetched = cli.json("score", "show", "uscc:SHIP1", "uscc:SHIP2", "uscc:NOBODY", *NO_LIMIT)
    assert [i.get("reasons") for i in fetched] == [i.get("reasons") for i in with_file]
    assert all(isinstance(i["reasons"], list) and i["provenance"]["verified"] for i in fetched[:2])
    assert [i.get("card_source") for i in fetched] == ["evidence store", "evidence store", None]
    assert fetched[2] == {"subject": with_file[2]["subject"], "scored": False}
    assert "reason codes not recovered" not in cli("score", "show", "uscc:SHIP1", *NO_LIMIT).stdout
    r = cli.json("report", "uscc:SHIP2", *NO_LIMIT)
    assert r["score"]["reasons"] == cli.json("report", "uscc:SHIP2", "--card", str(card), *NO_LIMIT)["score"]["reasons"]
    assert r["score"]["card_source"] == "evidence store"
    out = tmp_path / "html"
    facts = cli.json("report", "--html", str(out), *NO_LIMIT)
    assert (out / "index.html").exists() and facts["subjects"] == 2


def test_a_damaged_published_card_is_not_used(cli, market):
    folder, card, _ = market
    cid = cli.json("evidence", "put-card", str(card))["cid"]
    stored = cli.data_dir / "evidence" / cid
    stored.write_bytes(stored.read_bytes().replace(b'"version"', b'"versi0n"'))
    (item,) = cli.json("score", "show", "uscc:SHIP1", *NO_LIMIT)
    assert item["reasons"] is None and item["provenance"]["verified"]  # the signatures still check out
    assert "does not match its CID (tampered or corrupted)" in item["card_problem"]
    cli("evidence", "put-card", str(card))  # published again: the damaged copy is replaced
    (item,) = cli.json("score", "show", "uscc:SHIP1", *NO_LIMIT)
    assert isinstance(item["reasons"], list)


def test_fetch_card_checks_the_model_and_the_registration(cli, market, monkeypatch):
    folder, card, _ = market
    for key, value in cli.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CREDITSHARE_EVIDENCE", raising=False)
    evidence_dir = cli.data_dir / "evidence"
    loaded = ModelCard.load(card)
    cid = cards.publish_card(evidence_dir, loaded)
    assert cid == cid_from_digest(cards.card_digest(loaded))
    digest = cards.card_digest(loaded)
    assert cards.fetch_card(evidence_dir, digest).model_hash == loaded.model_hash
    other = "0x" + "11" * 32
    with pytest.raises(cards.CardUnavailable, match=f"is the card of model {loaded.model_hash}, not of {other}"):
        cards.fetch_card(evidence_dir, digest, parse_bytes32(other))
    registry = ModelRegistry(ChainClient(load_settings()))
    with pytest.raises(cards.CardUnavailable, match=f"model {other} is not registered"):
        cards.card_of_model(registry, evidence_dir, parse_bytes32(other))
    assert cards.champion_card(registry, evidence_dir).model_hash == loaded.model_hash


def test_put_card_refuses_a_file_that_is_not_a_card(cli, tmp_path):
    bad = tmp_path / "card.json"
    bad.write_text('{"model_hash": "0x00"}')
    result = cli("evidence", "put-card", str(bad), ok=False)
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "model card" in line
