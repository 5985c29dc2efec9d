"""A verified score for every party (#17) through the real CLI: a champion per role in the registry, a carrier
and a platform scored in the same k-of-n reports as the shippers, a card of one role refused as another role's
champion, and `score show` of a carrier verifying its provenance (its model: the carrier champion at the epoch)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from brownie import chain

from creditshare.core.ids import subject_id, to_hex
from tests.cli.lender_scenario import TRAIN, oracles_and_card, promote, settlements

pytestmark = pytest.mark.chain

NO_LIMIT = ("--max-age-days", "0")
SHIP1, SHIP2 = (to_hex(subject_id(s)) for s in ("uscc:SHIP1", "uscc:SHIP2"))
PLAT1, CARRIER = to_hex(subject_id("uscc:PLAT1")), to_hex(subject_id("driver:D1"))


def _train(cli, folder: Path, role: str) -> Path:
    card = folder / f"{role}.json"
    out = cli.json("model", "train", "--role", role, *TRAIN, "--out", str(card))
    assert out["role"] == role and json.loads(card.read_text())["role"] == role
    cli("model", "register", str(card), account="c1")
    return card


def _propose(cli, folder: Path, name: str, epoch: int, *cards: Path) -> list[str]:
    return cli.json(
        "oracle",
        "propose",
        *[a for c in cards for a in ("--card", str(c))],
        "--epoch",
        str(epoch),
        "--out-dir",
        str(folder / name),
    )


@pytest.fixture(scope="module")
def roles(cli, tmp_path_factory) -> dict[str, Any]:
    """Oracles o1..o4 (k = 3), the lender scenario's settlements, a champion for each role, and one report
    proposed twice (by an operator with the shipper card only, and by one with all three cards), signed by o1,
    o2, o4 and submitted. Here, not in the tests: the cli tests run in a snapshot reverted after each test."""
    folder = tmp_path_factory.mktemp("roles")
    shipper = oracles_and_card(cli, folder)
    settlements(cli, folder)
    carrier, platform = _train(cli, folder, "carrier"), _train(cli, folder, "platform")
    promote(cli, carrier)
    promote(cli, platform)
    chain.mine()
    epoch = chain[-1].number
    (first,) = _propose(cli, folder, "a", epoch, shipper)
    (second,) = _propose(cli, folder, "b", epoch, shipper, carrier, platform)
    signed = [cli.json("oracle", "sign", first, "--card", str(shipper), account=n) for n in ("o1", "o2", "o4")]
    cli("oracle", "submit", first, account="o1")
    return {
        "folder": folder,
        "shipper": shipper,
        "carrier": carrier,
        "platform": platform,
        "epoch": epoch,
        "reports": (first, second),
        "signed": signed,
    }


def _hash(card: Path) -> str:
    return json.loads(card.read_text())["model_hash"]


def test_a_card_of_another_role_cannot_be_promoted_as_that_roles_champion(cli, roles) -> None:
    platform = roles["platform"]
    # the CLI reads the card's role first
    refused = cli("model", "promote", str(platform), "--role", "carrier", "--skip-drift-check", account="c1", ok=False)
    assert refused.exit_code == 1
    assert refused.stderr.strip() == "error: the card scores platforms: it cannot become the carrier champion."
    # by hash, the contract refuses it (ModelRegistryWrongRole): nothing approved
    by_hash = cli(
        "model", "promote", _hash(platform), "--role", "carrier", "--skip-drift-check", account="c1", ok=False
    )
    assert by_hash.exit_code == 1 and "ModelRegistryWrongRole" in by_hash.stderr
    assert "Traceback" not in by_hash.stderr and len(by_hash.stderr.strip().splitlines()) == 1
    bad_role = cli("model", "promote", str(platform), "--role", "lender", "--skip-drift-check", account="c1", ok=False)
    assert bad_role.exit_code == 1 and "--role must be one of shipper, carrier, platform" in bad_role.stderr
    assert cli.json("model", "show")["champions"]["carrier"] == _hash(roles["carrier"])


def test_model_show_lists_the_champion_of_each_role(cli, roles) -> None:
    shown = cli.json("model", "show")
    assert shown["champions"] == {r: _hash(roles[r]) for r in ("shipper", "carrier", "platform")}
    assert shown["champion"] == _hash(roles["shipper"])  # the shipper champion, as before roles
    by_hash = {m["model_hash"]: m for m in shown["models"]}
    assert [by_hash[_hash(roles[r])]["role"] for r in ("shipper", "carrier", "platform")] == [
        "shipper",
        "carrier",
        "platform",
    ]
    assert shown["champion_set"] is not None and shown["champion_set"] not in by_hash


def test_carriers_and_platforms_are_scored_in_the_same_report_as_shippers(cli, roles) -> None:
    first, second = roles["reports"]
    # two independent computations (one with the carrier and platform cards from the evidence store, one with
    # them given): the same bytes, deterministic integer arithmetic
    assert Path(first).read_bytes().split(b'"signatures"')[0] == Path(second).read_bytes().split(b'"signatures"')[0]
    body = json.loads(Path(first).read_text())
    subjects = [e["subject"] for e in body["entries"]]
    assert subjects == sorted(subjects) and set(subjects) == {SHIP1, SHIP2, PLAT1, CARRIER}
    assert body["report"]["model_hash"] == cli.json("model", "show")["champion_set"]
    assert roles["signed"] == [{first: "signed"}] * 3 and len(body["signatures"]) == 3
    shown = cli.json("score", "show", "uscc:SHIP1", "uscc:PLAT1", "driver:D1", *NO_LIMIT)
    for item, role in zip(shown, ("shipper", "platform", "carrier"), strict=True):
        p = item["provenance"]
        assert item["scored"] and p["verified"], (role, p["problems"])
        assert item["epoch"] == roles["epoch"] and item["role"] == role
        assert item["model_hash"] == _hash(roles[role]) and item["report_model_hash"] == body["report"]["model_hash"]
        assert p["reasons_recovered"], role


def test_score_show_of_a_carrier_verifies_with_its_card(cli, roles) -> None:
    (item,) = cli.json("score", "show", "driver:D1", "--card", str(roles["carrier"]), *NO_LIMIT)
    assert item["provenance"]["verified"], item["provenance"]["problems"]
    assert item["model_status"] == "champion" and item["role"] == "carrier"
    text = cli("score", "show", "driver:D1", *NO_LIMIT).stdout
    assert "verified" in text


def test_a_signer_with_a_card_that_is_not_its_roles_champion_refuses(cli, roles, tmp_path) -> None:
    chain.mine()
    (report,) = _propose(cli, roles["folder"], "c", chain[-1].number, roles["shipper"])
    stale = tmp_path / "old-carrier.json"
    cli("model", "train", "--role", "carrier", *TRAIN[:2], "--seed", "9", "--out", str(stale))
    refused = cli("oracle", "sign", report, "--card", str(stale), account="o1", ok=False)
    assert refused.exit_code == 1 and "is not the registered carrier champion" in refused.stderr
    twice = cli("oracle", "sign", report, "--card", str(roles["carrier"]), "--card", str(stale), account="o1", ok=False)
    assert twice.exit_code == 1 and "at most one --card per role" in twice.stderr


def test_a_daemon_round_scores_every_role_the_same_on_two_nodes(cli, roles, monkeypatch) -> None:
    """compute_round (what every daemon computes for a round): its due subjects come from the chain index
    (ChainIndex.touched_subjects: shippers, the platform and the carrier of the settlements), each scored with
    its role's champion; two independent clients compute the same entries and digests."""
    from creditshare.core.chain import ChainClient
    from creditshare.core.config import load_settings
    from oracle.rounds import affected, compute_round
    from scoring.model_card import ModelCard

    for key, value in cli.env.items():
        monkeypatch.setenv(key, value)
    card = ModelCard.load(roles["shipper"])
    end = roles["epoch"]  # as of the report's epoch nothing is stored yet: everything touched is due
    rounds = [compute_round(ChainClient(load_settings()), card, 0, end, ttl=3600, batch=500) for _ in range(2)]
    assert rounds[0] == rounds[1]
    assert set(rounds[0].due) == {SHIP1, SHIP2, PLAT1, CARRIER} and rounds[0].unscorable == ()
    ((report, entries),) = rounds[0].reports
    assert [to_hex(e.subject) for e in entries] == sorted([SHIP1, SHIP2, PLAT1, CARRIER])
    submitted = json.loads(Path(roles["reports"][0]).read_text())
    assert [(e["subject"], e["score"]) for e in submitted["entries"]] == [(to_hex(e.subject), e.score) for e in entries]
    assert to_hex(report.model_hash) == submitted["report"]["model_hash"]
    # the shipper-only view (what rounds read before roles) is the index's touched_shippers
    assert set(affected(ChainClient(load_settings()), 0, end)) == {SHIP1, SHIP2}
