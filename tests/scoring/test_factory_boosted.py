"""Issue #18: the boosted additive scorecard and the factory's methods (logistic, boosted, auto).

Quality checks (not timing): on German credit ``auto`` reaches optbinning's default holdout AUC; on the synthetic
freight market the boosted card beats the logistic one. The card of a boosted model scores every row exactly as
the model, is deterministic, and works with hashing, reason codes, tiers and drift unchanged.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.boosted import BlendedScorecardModel, BoostedScorecardModel
from scoring.drift import monitor
from scoring.errors import ModelError
from scoring.factory import (
    TrainResult,
    compare,
    compare_methods,
    cross_validate,
    holdout_split,
    optbinning_default_auc,
    train_scorecard,
    training_window,
)
from scoring.model_card import ModelCard
from scoring.scorecard import ScorecardModel
from scoring.synthetic import generate_market, generate_payouts, role_population


@pytest.fixture(scope="module")
def freight_boosted(freight: tuple, market) -> TrainResult:
    X, y, _ = freight
    return train_scorecard(
        X, y, name="freight-boosted", version=1, method="boosted", training=training_window(market.as_of)
    )


@pytest.fixture(scope="module")
def german_boosted(german: tuple) -> TrainResult:
    X, y, cats = german
    return train_scorecard(X, y, name="german-boosted", version=1, method="boosted", categorical=cats)


@pytest.fixture(scope="module")
def german_auto(german: tuple) -> TrainResult:
    X, y, cats = german
    return train_scorecard(X, y, name="german-auto", version=1, method="auto", categorical=cats)


# -- quality targets ---------------------------------------------------------------------------------------------


def test_boosted_beats_logistic_on_the_synthetic_freight_market(freight: tuple, freight_boosted: TrainResult) -> None:
    _, _, logistic = freight
    assert freight_boosted.y_test.tolist() == logistic.y_test.tolist()  # the same holdout
    assert freight_boosted.metrics.auc > logistic.metrics.auc + 0.005, (freight_boosted.metrics, logistic.metrics)


@pytest.fixture(scope="module")
def role_market() -> tuple:
    market = generate_market(n_subjects=12_000, n_platforms=1500, seed=7)
    return market, generate_payouts(market, seed=7)


@pytest.mark.parametrize("role", ["carrier", "platform"])
def test_boosted_beats_logistic_on_the_carrier_and_platform_populations(role_market: tuple, role: str) -> None:
    market, payouts = role_market
    X, labels = role_population(market, role, payouts=payouts)
    y = labels.to_numpy().astype(int)
    assert X.isna().all().any()  # no trips given: the trip features are all missing (both methods leave them out)
    logistic = train_scorecard(X, y, name=role, version=1)
    boosted = train_scorecard(X, y, name=role, version=1, method="boosted")
    assert boosted.metrics.auc > logistic.metrics.auc, (boosted.metrics, logistic.metrics)
    X_tr, X_te, y_tr, y_te = holdout_split(X, y)
    assert boosted.metrics.auc > optbinning_default_auc(X_tr, y_tr, X_te, y_te)
    np.testing.assert_array_equal(boosted.card.score_frame(X), boosted.model.score(X))


def test_auto_reaches_the_optbinning_default_on_german_credit(german: tuple, german_auto: TrainResult) -> None:
    X, y, cats = german
    X_tr, X_te, y_tr, y_te = holdout_split(X, y)
    reference = optbinning_default_auc(X_tr, y_tr, X_te, y_te, cats)
    assert reference == pytest.approx(0.806, abs=0.003)
    assert german_auto.metrics.auc >= reference


def test_boosted_alone_reaches_the_optbinning_default_on_german_credit(
    german: tuple, german_boosted: TrainResult
) -> None:
    X, y, cats = german
    X_tr, X_te, y_tr, y_te = holdout_split(X, y)
    assert german_boosted.metrics.auc >= optbinning_default_auc(X_tr, y_tr, X_te, y_te, cats)


# -- auto: cross-validation on the training split only -----------------------------------------------------------


def test_auto_records_its_choice_and_the_cv_figures_of_the_training_split(
    german: tuple, german_auto: TrainResult
) -> None:
    X, y, cats = german
    entry = german_auto.card.factory
    assert entry["method"] == "auto" and entry["chosen"] in ("logistic", "boosted", "blend")
    cv = entry["cv"]
    assert cv["folds"] == 5 and all(len(cv[f"{m}_fold_auc"]) == 5 for m in ("logistic", "boosted", "blend"))
    means = {m: float(cv[f"{m}_auc"]) for m in ("logistic", "boosted", "blend")}
    assert means[entry["chosen"]] == max(means.values())
    chosen_type = {"logistic": ScorecardModel, "boosted": BoostedScorecardModel, "blend": BlendedScorecardModel}
    assert isinstance(german_auto.model, chosen_type[entry["chosen"]])
    # the figures come from the training split alone: recomputing them there gives the same entry
    X_tr, _, y_tr, _ = holdout_split(X, y)
    again = cross_validate(X_tr, y_tr, categorical=cats)
    assert {k: again[k] for k in ("chosen", "cv")} == {k: entry[k] for k in ("chosen", "cv")}
    assert ModelCard.from_json(german_auto.card.to_json()).factory == entry


# -- the card scores exactly as the model ------------------------------------------------------------------------


def test_boosted_card_scores_equal_the_model_on_every_row(freight: tuple, freight_boosted: TrainResult) -> None:
    X, _, _ = freight
    model, card = freight_boosted.model, freight_boosted.card
    np.testing.assert_array_equal(card.score_frame(X), model.score(X))
    loaded = ModelCard.from_json(card.to_json())
    np.testing.assert_array_equal(loaded.score_frame(X), model.score(X))
    assert card.training["as_of"] > 0 and card.factory["method"] == "boosted"


def test_boosted_card_with_categories_scores_equal_the_model(german: tuple, german_boosted: TrainResult) -> None:
    X, _, _ = german
    np.testing.assert_array_equal(german_boosted.card.score_frame(X), german_boosted.model.score(X))
    assert {f["kind"] for f in german_boosted.card.to_dict()["features"]} == {"numerical", "categorical"}


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_boosted_card_matches_the_model_on_random_rows(freight_boosted: TrainResult, data: st.DataObject) -> None:
    model, card = freight_boosted.model, freight_boosted.card
    assert isinstance(model, BoostedScorecardModel)
    row = {
        name: data.draw(st.one_of(st.none(), st.integers(min_value=-20_000, max_value=10**9)), label=name)
        for name in model.features_
    }
    frame = pd.DataFrame([row], dtype="Int64")
    expected = int(model.score(frame)[0])
    assert card.score_one(row).score == expected == int(card.score_frame(frame)[0])


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_boosted_card_with_categories_matches_the_model_on_random_rows(
    german: tuple, german_boosted: TrainResult, data: st.DataObject
) -> None:
    X, _, cats = german
    model, card = german_boosted.model, german_boosted.card
    row: dict[str, int | str | None] = {}
    for name in X.columns:
        if name in cats:
            seen = sorted(set(X[name]))
            row[name] = data.draw(st.one_of(st.none(), st.sampled_from([*seen, "never-seen"])), label=name)
        else:
            row[name] = data.draw(st.one_of(st.none(), st.integers(min_value=-5, max_value=20_000)), label=name)
    frame = pd.DataFrame({n: pd.Series([v], dtype=object if n in cats else "Int64") for n, v in row.items()})
    expected = int(model.score(frame)[0])
    assert card.score_one(row).score == expected == int(card.score_frame(frame)[0])


@pytest.fixture(scope="module")
def german_blend(german: tuple, german_boosted: TrainResult) -> TrainResult:
    X, y, cats = german
    return train_scorecard(X, y, name="german-blend", version=1, method="blend", categorical=cats)


def test_the_blend_is_the_average_of_the_two_cards_and_scores_as_its_model(
    german: tuple, german_blend: TrainResult
) -> None:
    X, y, cats = german
    model, card = german_blend.model, german_blend.card
    assert isinstance(model, BlendedScorecardModel) and card.factory["method"] == "blend"
    np.testing.assert_array_equal(card.score_frame(X), model.score(X))
    np.testing.assert_array_equal(ModelCard.from_json(card.to_json()).score_frame(X), model.score(X))
    # each bin rounds once: the blend is within half a point per feature (and the intercept) of the average
    average = (model.logistic_.score(X) + model.boosted_.score(X)) / 2
    assert np.max(np.abs(model.score(X) - average)) <= 0.5 * (len(model.features_) + 1)
    X_tr, X_te, y_tr, y_te = holdout_split(X, y)
    assert german_blend.metrics.auc >= optbinning_default_auc(X_tr, y_tr, X_te, y_te, cats)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_blend_card_matches_the_model_on_random_rows(
    german: tuple, german_blend: TrainResult, data: st.DataObject
) -> None:
    X, _, cats = german
    model, card = german_blend.model, german_blend.card
    row: dict[str, int | str | None] = {}
    for name in X.columns:
        if name in cats:
            seen = sorted(set(X[name]))
            row[name] = data.draw(st.one_of(st.none(), st.sampled_from([*seen, "never-seen"])), label=name)
        else:
            row[name] = data.draw(st.one_of(st.none(), st.integers(min_value=-5, max_value=20_000)), label=name)
    frame = pd.DataFrame({n: pd.Series([v], dtype=object if n in cats else "Int64") for n, v in row.items()})
    expected = int(model.score(frame)[0])
    assert card.score_one(row).score == expected == int(card.score_frame(frame)[0])


def test_blend_of_freight_scores_as_its_model_with_integer_edges(freight: tuple) -> None:
    X, y, _ = freight
    result = train_scorecard(X, y, name="freight-blend", version=1, method="blend")
    np.testing.assert_array_equal(result.card.score_frame(X), result.model.score(X))
    features = result.card.to_dict()["features"]
    assert all(f["edge_type"] == "int" for f in features)


def test_a_blend_needs_the_same_scaling(german: tuple) -> None:
    X, y, cats = german
    logistic = ScorecardModel(categorical=cats, pdo=40).fit(X, y)
    boosted = BoostedScorecardModel(categorical=cats, n_bags=1).fit(X, y)
    with pytest.raises(ModelError, match="same scaling"):
        BlendedScorecardModel().fit_from(logistic, boosted, X, y)
    with pytest.raises(ModelError, match="unknown parameter for a blended scorecard: bogus"):
        BlendedScorecardModel(bogus=1).fit(X, y)
    with pytest.raises(ModelError, match="BlendedScorecardModel is not fitted yet"):
        BlendedScorecardModel().score(X)


def test_integer_points_follow_the_pdo_scaling_of_the_log_odds(german: tuple, german_boosted: TrainResult) -> None:
    X, _, _ = german
    model = german_boosted.model
    assert isinstance(model, BoostedScorecardModel)
    factor = 20 / math.log(2)
    offset = 600 - factor * math.log(50)
    exact = offset - factor * model.log_odds(X)
    # each feature's points and the intercept are rounded once: at most half a point each
    assert np.max(np.abs(model.score(X) - exact)) <= 0.5 * (len(model.features_) + 1)
    assert np.corrcoef(model.score(X), -model.log_odds(X))[0, 1] > 0.999


def test_same_data_and_seed_give_the_same_card_bytes(german: tuple, german_boosted: TrainResult) -> None:
    X, y, cats = german
    again = train_scorecard(X, y, name="german-boosted", version=1, method="boosted", categorical=cats)
    assert again.card.to_json() == german_boosted.card.to_json()
    other_seed = train_scorecard(
        X, y, name="german-boosted", version=1, method="boosted", categorical=cats, random_state=3
    )
    assert other_seed.card.model_hash != german_boosted.card.model_hash


def test_logistic_cards_have_no_factory_entry_and_hash_as_before(freight: tuple) -> None:
    _, _, result = freight
    assert "factory" not in result.card.to_dict() and result.card.factory == {}
    rebuilt = ModelCard.from_scorecard(
        result.model, name=result.card.name, version=1, metrics=result.metrics, training=result.card.training
    )
    assert rebuilt.to_json() == result.card.to_json()


def test_boosted_card_file_round_trips_and_tampering_is_detected(freight_boosted: TrainResult, tmp_path: Path) -> None:
    path = freight_boosted.card.save(tmp_path / "boosted.json")
    assert ModelCard.load(path).model_hash == freight_boosted.card.model_hash
    data = json.loads(path.read_text())
    data["factory"]["method"] = "logistic"
    path.write_text(json.dumps(data))
    with pytest.raises(ModelError, match="hash mismatch"):
        ModelCard.load(path)


def test_reason_codes_tiers_and_drift_work_for_boosted_cards(freight: tuple, freight_boosted: TrainResult) -> None:
    X, _, _ = freight
    card = freight_boosted.card
    rows = X.iloc[:50]
    scores = card.score_frame(rows)
    for (_, row), s in zip(rows.iterrows(), scores):
        one = card.score_one({k: (None if pd.isna(v) else int(v)) for k, v in row.items()})
        assert one.score == s and one.tier == card.tier(s) and len(one.reasons) <= 3
    tiers = card.tiers_of(freight_boosted.model.train_scores_)
    shares = [float(np.mean(tiers == t)) for t in "ABCD"]
    assert all(0.1 < s < 0.3 for s in shares), shares
    report = monitor(card, X)
    assert report.psi < 0.1 and report.status == "stable"


def test_monotonic_constraints_hold_on_the_card(german: tuple) -> None:
    X, y, cats = german
    X_tr, _, y_tr, _ = holdout_split(X, y)
    model = BoostedScorecardModel(
        categorical=cats, monotonic_trend={"duration_in_month": "ascending", "age_in_years": "descending"}
    ).fit(X_tr, y_tr)
    card = ModelCard.from_scorecard(model, name="mono", version=1)
    points = {f["name"]: f["points"] for f in card.to_dict()["features"]}
    # risk rises with the duration: points (higher = safer) never rise; risk falls with age: points never fall
    assert all(a >= b for a, b in zip(points["duration_in_month"], points["duration_in_month"][1:]))
    assert all(a <= b for a, b in zip(points["age_in_years"], points["age_in_years"][1:]))
    assert len(points["duration_in_month"]) > 2
    np.testing.assert_array_equal(card.score_frame(X), model.score(X))


def test_special_codes_missing_values_and_unseen_categories(german: tuple) -> None:
    rng = np.random.default_rng(5)
    n = 3000
    x = rng.integers(0, 100, n).astype("float64")
    x[rng.random(n) < 0.1] = -1  # not applicable
    x[rng.random(n) < 0.1] = np.nan
    region = rng.choice(["north", "south", "east"], n).astype(object)
    logit = -2 + 0.03 * np.nan_to_num(x) + 1.5 * (x == -1) - 1.0 * np.isnan(x) + 0.8 * (region == "east")
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame({"x": pd.array(np.where(np.isnan(x), None, x), dtype="Int64"), "region": region})
    model = BoostedScorecardModel(categorical=["region"], special_codes=[-1]).fit(frame, y)
    card = ModelCard.from_json(ModelCard.from_scorecard(model, name="codes", version=1).to_json())
    np.testing.assert_array_equal(card.score_frame(frame), model.score(frame))
    feats = {f["name"]: f for f in card.to_dict()["features"]}
    assert feats["x"]["edge_type"] == "int" and feats["x"]["special_codes"] == [-1]
    assert feats["x"]["special_points"] < min(feats["x"]["points"][:3])  # the special code is the riskiest
    probe = pd.DataFrame({"x": pd.array([5, -1, None], dtype="Int64"), "region": ["west", None, "east"]})
    np.testing.assert_array_equal(card.score_frame(probe), model.score(probe))
    got = card.feature_points(probe)
    assert got[0, 1] == got[1, 1] == feats["region"]["missing_points"]  # unseen category = missing


def test_a_boosted_challenger_is_deployable_in_the_champion_challenger_report(
    freight: tuple, freight_boosted: TrainResult
) -> None:
    _, _, logistic = freight
    report = compare(logistic.model, freight_boosted.model, logistic.X_test, logistic.y_test)
    assert report["challenger"]["type"] == "BoostedScorecardModel"
    assert report["challenger_deployable"] is True and report["challenger_better"] is True
    assert report["recommendation"] == "promote the challenger"


def test_compare_methods_lists_both_scorecards_and_the_challenger(german: tuple) -> None:
    X, y, cats = german
    report = compare_methods(X, y, categorical=cats)
    assert [m["name"] for m in report["models"]] == ["logistic", "boosted", "blend", "hist-gradient-boosting"]
    assert [m["deployable"] for m in report["models"]] == [True, True, True, False]
    best = max((m for m in report["models"] if m["deployable"]), key=lambda m: m["auc"])
    assert report["best_deployable"] == best["name"] and report["holdout"]["n"] == 300
    assert all(0.7 < m["auc"] < 0.9 for m in report["models"])


# -- rejections --------------------------------------------------------------------------------------------------


def test_unknown_method_is_rejected(german: tuple) -> None:
    X, y, _ = german
    with pytest.raises(ModelError, match="method must be one of logistic, boosted, blend, auto; got 'ebm'"):
        train_scorecard(X, y, name="x", version=1, method="ebm")


def test_a_parameter_of_the_other_model_type_is_rejected(german: tuple) -> None:
    X, y, cats = german
    with pytest.raises(ModelError, match="unknown parameter for method 'logistic': learning_rate"):
        train_scorecard(X, y, name="x", version=1, categorical=cats, learning_rate=0.1)
    with pytest.raises(ModelError, match="unknown parameter for method 'boosted': C"):
        train_scorecard(X, y, name="x", version=1, method="boosted", categorical=cats, C=1.0)
    with pytest.raises(ModelError, match="unknown parameter for method 'auto': bogus"):
        train_scorecard(X, y, name="x", version=1, method="auto", categorical=cats, bogus=1)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"monotonic_trend": "peak"}, "monotonic_trend for 'duration_in_month' must be one of"),
        ({"monotonic_trend": {"purpose": "ascending"}}, "monotonic_trend names 'purpose', which is not a numerical"),
        ({"learning_rate": 1.5}, "learning_rate must be at most 1; got 1.5"),
        ({"learning_rate": 0}, "learning_rate must be a positive number; got 0"),
        ({"max_bins": 1}, "max_bins must be at least 2; got 1"),
        ({"max_leaves": 1}, "max_leaves must be at least 2; got 1"),
        ({"n_bags": 0}, "n_bags must be at least 1; got 0"),
        ({"validation_size": 0.7}, "validation_size must be between 0 and 0.5; got 0.7"),
        ({"l2": -1}, "l2 must be a number of at least 0; got -1"),
        ({"special_codes": [1.5]}, "special codes must be integers; got 1.5"),
        ({"tier_cutoffs": [1, 2, 3, 4]}, "tier_cutoffs must be 4 descending integers"),
        ({"features": []}, "features must name at least one column; got none"),
    ],
)
def test_bad_boosted_parameters_are_rejected(german: tuple, params: dict, message: str) -> None:
    X, y, cats = german
    with pytest.raises(ModelError, match=message):
        BoostedScorecardModel(categorical=cats if "features" not in params else (), **params).fit(X, y)


def test_boosted_needs_goods_and_bads(german: tuple) -> None:
    X, y, cats = german
    y = np.zeros(len(X), dtype=int)
    y[:3] = 1
    with pytest.raises(ModelError, match="at least 5 goods and 5 bads"):
        BoostedScorecardModel(categorical=cats).fit(X, y)


def test_unfitted_boosted_model_is_rejected() -> None:
    with pytest.raises(ModelError, match="BoostedScorecardModel is not fitted yet"):
        BoostedScorecardModel().score(pd.DataFrame({"a": [1]}))
    with pytest.raises(ModelError, match="not fitted yet"):
        ModelCard.from_scorecard(BoostedScorecardModel(), name="x", version=1)


def test_cv_needs_at_least_two_folds(german: tuple) -> None:
    X, y, cats = german
    with pytest.raises(ModelError, match="cv folds must be at least 2; got 1"):
        train_scorecard(X, y, name="x", version=1, method="auto", categorical=cats, cv_folds=1)


def test_an_all_missing_column_is_left_out_by_every_method(german: tuple) -> None:
    X, y, cats = german
    X = X.assign(empty=np.nan, empty_cat=pd.Series([None] * len(X), dtype=object, index=X.index))
    for method in ("logistic", "boosted", "blend"):
        result = train_scorecard(X, y, name="x", version=1, method=method, categorical=[*cats, "empty_cat"])
        assert {"empty", "empty_cat"}.isdisjoint(result.card.feature_names)
        np.testing.assert_array_equal(result.card.score_frame(X), result.model.score(X))


def test_nothing_to_fit_when_every_feature_is_missing() -> None:
    frame = pd.DataFrame({"a": [np.nan] * 40, "b": [np.nan] * 40})
    y = np.r_[np.zeros(20, dtype=int), np.ones(20, dtype=int)]
    with pytest.raises(ModelError, match="every feature is missing on every row"):
        train_scorecard(frame, y, name="x", version=1)
