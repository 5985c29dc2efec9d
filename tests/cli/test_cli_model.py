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


def test_register_by_a_platform_is_refused(cli, card):
    result = cli("model", "register", str(card[0]), account="plat", ok=False)
    assert result.exit_code == 1 and "ModelRegistryNotRegistrar" in result.stderr


def test_promote_by_a_non_committee_member_is_refused(cli, card):
    cli("model", "register", str(card[0]), account="c1")
    result = cli("model", "promote", str(card[0]), "--skip-drift-check", account="plat", ok=False)
    assert result.exit_code == 1 and "ModelRegistryNotCommittee" in result.stderr


def test_promote_needs_a_population_for_the_drift_check(cli, card):
    result = cli("model", "promote", str(card[0]), account="c1", ok=False)
    assert "give the data either as --settlements FILE or as --synthetic N" in result.stderr


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
