"""The lender's report through the real CLI on a real Anvil: `report SUBJECT` and `report --html DIR`
after settlements, a promoted card and two signed score reports."""

from __future__ import annotations

import json
import re

import pytest
from brownie import chain

from creditshare.core.ids import subject_id, to_hex
from tests.cli.helpers import Cli
from tests.cli.lender_scenario import TRAIN, list_entry, scored_market

SHIP1, SHIP2 = to_hex(subject_id("uscc:SHIP1")), to_hex(subject_id("uscc:SHIP2"))
DAY = 86_400
NO_LIMIT = ("--max-age-days", "0")  # the checks of the signed report alone, whatever the score's age


@pytest.fixture(scope="module")
def market(cli, tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    card, epochs = scored_market(cli, folder)
    list_entry(cli, folder)
    return folder, card, epochs


def test_report_subject_shows_score_history_settlements_and_provenance(cli, market):
    folder, card, _ = market
    r = cli.json("report", "uscc:SHIP2", "--card", str(card), *NO_LIMIT)
    assert r["subject"] == SHIP2
    assert r["score"]["provenance"]["verified"] and r["score"]["reasons"] is not None
    assert [h["epoch"] for h in r["history"]] == market[2]
    s = r["settlements"]
    assert s["count"] == 3 and s["by_status"] == {"Defaulted": 1, "Overdue": 1, "Paid": 1}
    assert s["amount_fen"] == 300_000 and s["paid_fen"] == 50_000 and s["overdue_or_defaulted_fen"] == 250_000
    # its one payment was declared at the block time, after its 2026 due date
    assert s["late_payments"] == 1 and s["defaulted"] == 1 and s["overdue"] == 1
    p = r["provenance"]
    assert p["model_hash"] == json.loads(card.read_text())["model_hash"] and p["champion"] is True
    assert len(p["oracle_signers"]) == 3 and p["evidence_cids"] and p["evidence_cids"][0].startswith("b")
    (entry,) = r["list_entries"]
    assert entry["category"] == "payment-default" and entry["amount_fen"] == 250_000 and entry["active"]
    assert cli.json("report", "uscc:SHIP1")["list_entries"] == []
    ship1 = cli.json("report", "uscc:SHIP1")["settlements"]
    assert ship1["late_payments"] == 3 and ship1["by_status"] == {"Invoiced": 1, "Paid": 3}
    assert len(ship1["evidence_cids"]) == 2
    text = cli("report", "uscc:SHIP2", "--card", str(card), *NO_LIMIT).stdout
    assert "Score history" in text and "verified: 3 oracle signatures" in text and "Defaulted" in text
    assert p["model_status"] == "champion" and p["verdict"] == "verified" and p["max_age_days"] is None


def test_report_html_has_the_four_plots_tables_and_subject_pages(cli, market, tmp_path):
    folder, card, _ = market
    gas = tmp_path / "gas.json"
    gas.write_text(json.dumps({"bench: naive oracle per score": 61234}))
    out = tmp_path / "html"
    facts = cli.json("report", "--html", str(out), "--card", str(card), *TRAIN, "--gas", str(gas), *NO_LIMIT)
    index = (out / "index.html").read_text()
    assert facts["index"] == str(out / "index.html") and facts["subjects"] == 2
    for title in (
        "Score distribution by tier",
        "ROC curve of the champion",
        "PSI: training vs scored population",
        "Default rate by tier",
    ):
        assert re.search(rf"<figure id=\"[a-z-]+\"><svg.*?{re.escape(title)}.*?</svg><figcaption>", index, re.S), title
    assert index.count("<svg") == 4
    assert "Subjects by tier and default rate" in index and "Gas per operation" in index
    assert "settlements submit" in index and "oracle submit" in index and "list post" in index and "61,234" in index
    metrics = json.loads(card.read_text())["metrics"]  # the holdout `model train` measured the card on
    assert facts["roc"]["auc"] == pytest.approx(float(metrics["auc"]), abs=1e-4)
    assert facts["roc"]["n"] == metrics["n"]
    assert (
        facts["by_tier"][json.loads(cli("--json", "score", "show", "uscc:SHIP2").stdout)[0]["tier"]]["defaulters"] == 1
    )
    for subject in (SHIP1, SHIP2):
        link = f"subjects/{subject[2:]}.html"
        assert f'href="{link}"' in index
        page = (out / link).read_text()
        assert "Score history" in page and "oracle signers" in page and "verified" in page
        assert ("payment-default" in page) == (subject == SHIP2)
    # re-running replaces the report in place
    cli("report", "--html", str(out), "--card", str(card))
    assert (out / "index.html").exists() and not list(tmp_path.glob(".html.*"))


def test_report_shows_model_status_and_age_and_marks_an_old_score_stale(cli, market, tmp_path):
    folder, card, _ = market
    chain.sleep(200 * DAY)  # reverted after the test
    chain.mine()
    r = cli.json("report", "uscc:SHIP2", "--card", str(card))
    s, p = r["score"], r["provenance"]
    assert s["age_days"] >= 200 and s["model_status"] == "champion"
    assert p["verdict"] == "stale" and p["verified"] is False and p["age_days"] == s["age_days"]
    assert p["max_age_days"] == 90 and p["model_status"] == "champion" and p["problems"] == []
    text = cli("report", "uscc:SHIP2", "--card", str(card)).stdout
    assert f"STALE: 3 oracle signatures (k=3), but it is {s['age_days']} days old (limit 90)" in text
    assert "age" in text and "(champion)" in text  # the table column; a narrow terminal wraps its header
    assert cli.json("report", "uscc:SHIP2", "--max-age-days", "365")["provenance"]["verdict"] == "verified"
    out = tmp_path / "html"
    cli("report", "--html", str(out), "--card", str(card))
    page = (out / f"subjects/{SHIP2[2:]}.html").read_text()
    assert f"{s['age_days']} days old, over the limit of 90 days" in page and "champion" in page
    assert "NO (stale)" in (out / "index.html").read_text()
    result = cli("report", "uscc:SHIP2", "--max-age-days", "-5", ok=False)
    assert result.exit_code == 1 and "maximum score age" in result.stderr


def test_report_html_default_roc_uses_the_ledger(cli, market, tmp_path):
    folder, card, _ = market
    facts = cli.json("report", "--html", str(tmp_path / "r"), "--card", str(card))
    assert "the ledger" in facts["roc"]["source"]
    assert (tmp_path / "r" / "index.html").read_text().count("<svg") == 4


def test_report_of_an_unknown_subject_is_refused(cli, market):
    result = cli("report", "uscc:NOBODY", ok=False)
    assert result.exit_code == 1 and "unknown subject" in result.stderr


def test_report_html_into_an_unwritable_place_is_refused(cli, market, tmp_path):
    folder, card, _ = market
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    result = cli("report", "--html", str(blocker / "report"), "--card", str(card), ok=False)
    assert result.exit_code == 1 and "cannot write the report" in result.stderr
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep me")
    result = cli("report", "--html", str(other), "--card", str(card), ok=False)
    assert result.exit_code == 1 and "not overwriting" in result.stderr
    assert (other / "mine.txt").read_text() == "keep me"


def test_report_needs_a_subject_or_html_and_html_finds_the_champions_published_card(cli, market, tmp_path):
    assert "either a SUBJECT or --html" in cli("report", ok=False).stderr
    assert "either a SUBJECT or --html" in cli("report", "uscc:SHIP1", "--html", str(tmp_path), ok=False).stderr
    cli("report", "--html", str(tmp_path / "x"))  # no --card: `model register` published the champion's card
    assert (tmp_path / "x" / "index.html").is_file()


def test_report_html_without_a_champion_is_refused(tmp_path):
    fresh = Cli(tmp_path / "data")
    for name in ("c1", "c2", "c3"):
        fresh("keys", "new", name)
    fresh(
        "deploy",
        "--committee",
        "c1=uscc:C1",
        "--committee",
        "c2=uscc:C2",
        "--committee",
        "c3=uscc:C3",
        "--threshold",
        "2",
        account="c1",
    )
    card = tmp_path / "card.json"
    fresh("model", "train", *TRAIN, "--out", str(card))
    result = fresh("report", "--html", str(tmp_path / "r"), "--card", str(card), ok=False)
    assert result.exit_code == 1 and "no champion model is promoted" in result.stderr


def chain_features(cli, monkeypatch, subject: str, as_of: int):
    """The subject's shipper features as of `as_of`, recomputed here from the ledger (not the index)."""
    from creditshare.bindings.settlement_ledger import SettlementLedger, settlement_frame
    from creditshare.core.chain import ChainClient
    from creditshare.core.config import load_settings
    from scoring.features import build_features

    for key, value in cli.env.items():
        monkeypatch.setenv(key, value)
    frame = settlement_frame(SettlementLedger(ChainClient(load_settings())))
    return build_features(frame, as_of, subjects=[subject], roles=("shipper",)).loc[subject]


def test_report_reasons_read_as_sentences_with_the_subjects_values(cli, market, monkeypatch):
    import pandas as pd

    from creditshare.reports.freight import feature_phrase
    from scoring.features import format_value

    _, card, _ = market
    r = cli.json("report", "uscc:SHIP2", "--card", str(card), *NO_LIMIT)
    reasons, texts = r["score"]["reasons"], r["reason_text"]
    assert reasons and len(texts) == len(reasons) and r["score"]["reason_text"] == texts
    values = chain_features(cli, monkeypatch, SHIP2, r["score"]["as_of"])
    for feature, text in zip(reasons, texts, strict=True):
        value = None if pd.isna(values[feature]) else int(values[feature])
        assert text.startswith(feature_phrase(feature)) and text != feature_phrase(feature)
        assert text.endswith(": " + format_value(feature, value)), (feature, text, value)
    printed = cli("report", "uscc:SHIP2", "--card", str(card), *NO_LIMIT).stdout
    assert f"reason: {texts[0]}" in printed


def test_report_html_has_a_model_page_and_reason_sentences(cli, market, tmp_path):
    from creditshare.reports.freight import feature_phrase
    from scoring.model_card import ModelCard

    _, card, _ = market
    out = tmp_path / "html"
    cli("report", "--html", str(out), "--card", str(card), *NO_LIMIT)
    model = (out / "model.html").read_text()
    loaded = ModelCard.load(card)
    for f in loaded.to_dict()["features"]:
        assert f"<code>{f['name']}</code>" in model and feature_phrase(f["name"]) in model
    index = (out / "index.html").read_text()
    assert 'href="model.html"' in index and "<th>new-energy trips</th>" in index and "no logged trip" in index
    r = cli.json("report", "uscc:SHIP2", "--card", str(card), *NO_LIMIT)
    page = (out / f"subjects/{SHIP2[2:]}.html").read_text()
    import html

    assert "<h2>Reasons</h2>" in page and html.escape(r["reason_text"][0]) in page
    assert "<h2>Lanes</h2>" in page and "<h2>Green freight</h2>" in page
