"""`creditshare model ...`: train a card, register it, promote it by committee vote, monitor drift."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def card(cli, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "card.json"
    out = cli.json("model", "train", "--synthetic", "1500", "--seed", "5", "--out", str(path))
    assert out["auc"] > 0.65 and out["model_hash"].startswith("0x")
    return path, out["model_hash"]


def test_register_promote_and_show(cli, card):
    path, model_hash = card
    registered = cli.json("model", "register", str(path), account="c1")
    assert registered["done"] == "registered" and registered["auc"] > 6500
    assert cli.json("model", "register", str(path), account="c1")["done"] == "already registered"
    first = cli.json("model", "promote", str(path), "--synthetic", "1500", "--seed", "6", account="c1")
    assert (first["approvals"], first["champion"]) == (1, False)
    second = cli.json("model", "promote", str(path), "--skip-drift-check", account="c2")
    assert second["champion"] is True
    shown = cli.json("model", "show")
    assert shown["champion"] == model_hash
    assert [m["status"] for m in shown["models"]] == ["champion"]


def test_the_committee_withdraws_a_registration_and_the_hash_may_be_registered_again(cli, tmp_path):
    path = tmp_path / "other.json"
    model_hash = cli.json("model", "train", "--synthetic", "1500", "--seed", "9", "--out", str(path))["model_hash"]
    assert cli.json("model", "register", str(path), account="c1")["done"] == "registered"
    refused = cli("model", "withdraw", str(path), account="plat", ok=False)
    assert refused.exit_code == 1 and "ModelRegistryNotCommittee" in refused.stderr
    first = cli.json("model", "withdraw", str(path), account="c1")
    assert (first["status"], first["approvals"]) == ("registered", 1)
    assert cli.json("model", "withdraw", model_hash, account="c2")["status"] == "withdrawn"
    assert cli.json("model", "register", str(path), account="c2")["done"] == "registered"
    shown = [m for m in cli.json("model", "show")["models"] if m["model_hash"] == model_hash]
    assert len(shown) == 1 and shown[0]["status"] == "registered"
    assert shown[0]["registrant"] == next(k["address"] for k in cli.json("keys", "list") if k["name"] == "c2")


def test_register_by_a_platform_is_refused(cli, card):
    result = cli("model", "register", str(card[0]), account="plat", ok=False)
    assert result.exit_code == 1 and "ModelRegistryNotRegistrar" in result.stderr


def test_promote_by_a_non_committee_member_is_refused(cli, card):
    cli("model", "register", str(card[0]), account="c1")
    result = cli("model", "promote", str(card[0]), "--skip-drift-check", account="plat", ok=False)
    assert result.exit_code == 1 and "ModelRegistryNotCommittee" in result.stderr


def test_promote_needs_a_population_for_the_drift_check(cli, card):
    result = cli("model", "promote", str(card[0]), account="c1", ok=False)
    assert "give the data either as --settlements FILE (or `chain`) or as --synthetic N" in result.stderr


def test_monitor_reports_psi(cli, card):
    report = cli.json("model", "monitor", str(card[0]), "--synthetic", "1500", "--seed", "7")
    assert report["status"] in ("stable", "watch") and 0 <= report["psi"] < 0.25
    assert set(report["csi"]) and report["model_hash"] == card[1]


def test_tampered_card_is_refused(cli, card, tmp_path):
    raw = json.loads(card[0].read_text())
    raw["name"] = "forged"
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(raw))
    result = cli("model", "register", str(forged), account="c1", ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.stderr


def test_train_needs_as_of_with_a_settlements_file(cli, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("settlement_id\n")
    result = cli("model", "train", "--settlements", str(path), "--out", str(tmp_path / "c.json"), ok=False)
    assert "--as-of YYYY-MM-DD is needed" in result.stderr


def test_settlement_history_read_from_the_chain_feeds_the_features(cli, tmp_path, monkeypatch):
    from creditshare.bindings.settlement_ledger import SettlementLedger, settlement_frame
    from creditshare.core.chain import ChainClient
    from creditshare.core.config import load_settings
    from creditshare.core.ids import subject_id, to_hex
    from scoring.features import build_features
    from tests.cli.helpers import row, write_csv

    path = write_csv(tmp_path, [row("FRAME-1"), row("FRAME-2", amount="5000"), row("FRAME-3", carrier="driver:D9")])
    cli("settlements", "submit", str(path), account="plat")
    cli("settlements", "confirm", "--file", str(path), account="ship")
    ids = [r["id"] for r in cli.json("settlements", "history", "uscc:SHIP1")["settlements"]]
    cli("settlements", "pay", ids[0], account="ship")  # declared at the block time, final once the payee confirms
    cli("settlements", "confirm-payment", ids[0], account="plat")
    monkeypatch.setenv("CREDITSHARE_DEV_RPC_URL", cli.env["CREDITSHARE_DEV_RPC_URL"])
    client = ChainClient(load_settings("development", cli.data_dir))
    frame = settlement_frame(SettlementLedger(client))
    by_id = frame.set_index("settlement_id")
    paid_date = int(by_id.loc[ids[0], "paid_date"])
    assert by_id.loc[ids[0], "status"] == "Paid" and by_id.loc[ids[0], "status_date"] == paid_date
    assert paid_date == client.block_timestamp(int(cli.json("settlements", "show", ids[0])["events"][-2]["block"]))
    assert set(by_id.loc[ids[1:], "status"]) == {"Confirmed"}
    assert by_id.loc[ids[1], "shipper"] == to_hex(subject_id("uscc:SHIP1"))
    features = build_features(frame, 1_770_000_000, roles=("shipper",))
    assert to_hex(subject_id("uscc:SHIP1")) in set(features.index)


def test_training_on_too_little_chain_history_is_a_clear_error(cli, tmp_path):
    result = cli(
        "model", "train", "--settlements", "chain", "--as-of", "2026-03-01", "--out", str(tmp_path / "c.json"), ok=False
    )
    assert result.exit_code == 1 and "Traceback" not in result.stderr
