"""Issue #18 in the CLI: `creditshare model train --method logistic|boosted|auto` and `model compare`."""

from __future__ import annotations

import json

import numpy as np

from scoring.factory import training_set
from scoring.model_card import ModelCard
from scoring.synthetic import generate_market


def test_a_boosted_card_trains_scores_as_its_model_and_registers_on_chain(cli, tmp_path):
    path = tmp_path / "boosted.json"
    out = cli.json("model", "train", "--synthetic", "1500", "--seed", "5", "--method", "boosted", "--out", str(path))
    assert (out["method"], out["model"]) == ("boosted", "boosted") and out["auc"] > 0.65
    card = ModelCard.load(path)
    assert card.model_hash == out["model_hash"] and card.factory["method"] == "boosted"
    market = generate_market(n_subjects=1500, seed=5)
    X, _ = training_set(market.settlements, market.as_of)
    scores = card.score_frame(X)
    assert scores.dtype == np.int64 and len(set(scores.tolist())) > 20
    registered = cli.json("model", "register", str(path), account="c1")
    assert registered["done"] == "registered" and registered["model_hash"] == out["model_hash"]
    assert out["model_hash"] in [m["model_hash"] for m in cli.json("model", "show")["models"]]


def test_train_with_auto_records_the_cross_validation(cli, tmp_path):
    path = tmp_path / "auto.json"
    out = cli.json("model", "train", "--synthetic", "1500", "--seed", "5", "--method", "auto", "--out", str(path))
    assert out["method"] == "auto" and out["model"] in ("logistic", "boosted", "blend")
    assert out["cv"]["folds"] == 5 and len(out["cv"]["boosted_fold_auc"]) == 5
    factory = json.loads(path.read_text())["factory"]
    assert factory["chosen"] == out["model"] and factory["cv"] == out["cv"]


def test_train_without_method_is_the_logistic_card_of_before(cli, tmp_path):
    path = tmp_path / "logistic.json"
    out = cli.json("model", "train", "--synthetic", "1500", "--seed", "5", "--out", str(path))
    assert (out["method"], out["model"]) == ("logistic", "logistic") and "cv" not in out
    assert "factory" not in json.loads(path.read_text())


def test_compare_lists_logistic_boosted_and_the_challenger(cli):
    report = cli.json("model", "compare", "--synthetic", "1500", "--seed", "5")
    assert [m["name"] for m in report["models"]] == ["logistic", "boosted", "blend", "hist-gradient-boosting"]
    assert [m["deployable"] for m in report["models"]] == [True, True, True, False]
    assert report["best_deployable"] in ("logistic", "boosted", "blend") and report["holdout"]["n"] > 300
    text = cli("model", "compare", "--synthetic", "1500", "--seed", "5").stdout
    assert "logistic" in text and "boosted" in text and "hist-grad" in text
    assert "best deployable:" in text


def test_an_unknown_method_is_one_error_line(cli, tmp_path):
    result = cli(
        "model", "train", "--synthetic", "1500", "--method", "ebm", "--out", str(tmp_path / "c.json"), ok=False
    )
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "error: --method must be one of logistic, boosted, blend, auto; got 'ebm'." in result.stderr
    assert not (tmp_path / "c.json").exists()


def test_compare_needs_a_population(cli):
    result = cli("model", "compare", ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "give the data either as --settlements FILE (or `chain`) or as --synthetic N" in result.stderr
