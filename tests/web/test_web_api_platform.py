"""A platform's own system on the API of its member's console (`creditshare serve --account plat`): settlement
submission with a dry run, idempotent resubmission and a lifecycle step, checked against the CLI."""

from __future__ import annotations

from typing import Any

import pytest
from brownie import chain

from creditshare.core.ids import settlement_id, subject_id, to_hex
from tests.cli.test_cli_cards import unpublish
from tests.web.conftest import Server


@pytest.fixture(scope="module")
def plat(cli, market, tmp_path_factory) -> Any:
    # without --card: the model page reads the champion's published card, or says why there is none
    s = Server(cli, "plat", None, tmp_path_factory.mktemp("web-plat") / "serve.log")
    yield s
    s.stop()


def rows(cid: str) -> list[dict[str, Any]]:
    return [
        {
            "reference": f"API-P{i}",
            "shipper": "uscc:SHIP1",
            "platform": "uscc:PLAT1",
            "carrier": "driver:D7",
            "amount_fen": 20_000 * (i + 1),
            "invoice_date": "2026-03-01",
            "due_date": "2026-04-01",
            "evidence": f"cid:{cid}",
        }
        for i in range(2)
    ]


def test_a_platform_submits_settlements_and_steps_them_through_the_lifecycle(cli, plat):
    cid = plat.api.get("/api/subjects/uscc:SHIP1").json()["settlements"]["evidence_cids"][0]
    ids = [to_hex(settlement_id(subject_id("uscc:PLAT1"), f"API-P{i}")) for i in range(2)]
    head = plat.head()
    dry = plat.api.post("/api/settlements", json={"settlements": rows(cid), "dry_run": True}).json()
    assert dry["would_submit"] == 2 and dry["submitted"] == 0 and plat.head() == head
    done = plat.api.post("/api/settlements", json={"settlements": rows(cid)}).json()
    assert done["submitted"] == 2 and done["ids"] == ids and done["gas_used"] > 0
    again = plat.api.post("/api/settlements", json={"settlements": rows(cid)}).json()
    assert again["submitted"] == 0 and again["already_on_chain"] == 2
    shown = cli.json("settlements", "show", ids[0])
    assert shown["status"] == "Invoiced" and shown["amount_fen"] == 20_000
    # the platform cannot confirm its own invoice: the counterparty (the shipper) does
    refused = plat.api.post("/api/settlements/confirm", json={"ids": ids})
    assert refused.status_code == 409 and "refused by the contract" in refused.json()["error"]
    cli("settlements", "confirm", *ids, account="ship")
    overdue = plat.api.post("/api/settlements/overdue", json={"ids": ids}).json()
    assert overdue["done"] == 2 and overdue["already"] == 0
    assert cli.json("settlements", "show", ids[1])["status"] == "Overdue"
    repeat = plat.api.post("/api/settlements/overdue", json={"ids": ids}).json()
    assert repeat["done"] == 0 and repeat["already"] == 2
    page = plat.api.get("/api/subjects/uscc:SHIP1/settlements").json()
    assert {r["id"] for r in page["settlements"]} >= set(ids) and page["pages"] == 1
    assert plat.api.post("/api/settlements/nonsense", json={"ids": ids}).status_code == 422


def test_without_a_card_the_model_page_says_why_then_shows_the_published_one(cli, market, plat):
    unpublish(cli, market["card"])  # `model register` published it: take it out of the store first
    chain.mine()  # the console's reads are memoized per block
    model = plat.api.get("/api/model").json()
    assert model["champion"] == cli.json("model", "show")["champion"]
    assert model["card"] is None and "put-card" in model["no_card"]
    cli("evidence", "put-card", str(market["card"]))
    chain.mine()  # the console's reads are memoized per block
    model = plat.api.get("/api/model").json()
    assert model["card_matches_champion"] is True and model["card"]["model_hash"] == model["champion"]
    page = plat.http.get("/model")
    assert page.status_code == 200 and "(the champion)" in page.text and 'id="roc-auc"' in page.text
