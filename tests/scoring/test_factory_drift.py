"""Model factory (champion/challenger) and PSI/CSI drift monitoring."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pytest import approx

from scoring.drift import DRIFT, WATCH, PromotionBlocked, assert_promotable, csi, monitor, psi, status_of
from scoring.errors import ModelError
from scoring.factory import (
    CreditModel,
    GradientBoostingChallenger,
    compare,
    evaluate,
    report_json,
    train_scorecard,
    training_set,
)
from scoring.scorecard import ScorecardModel
from scoring.synthetic import SyntheticMarket


@pytest.fixture(scope="module")
def challenger(freight: tuple) -> GradientBoostingChallenger:
    X, y, result = freight
    train = ~X.index.isin(result.X_test.index)
    return GradientBoostingChallenger().fit(X[train], y[train])


def test_synthetic_scorecard_has_useful_but_imperfect_auc(freight: tuple) -> None:
    _, _, result = freight
    assert result.metrics.auc == approx(0.76, abs=0.04)
    assert result.metrics.event_rate == approx(0.028, abs=0.01)


def test_both_model_types_share_the_fit_evaluate_interface(
    freight: tuple, challenger: GradientBoostingChallenger
) -> None:
    _, _, result = freight
    assert isinstance(result.model, CreditModel) and isinstance(challenger, CreditModel)
    m = evaluate(challenger, result.X_test, result.y_test)
    assert m.auc == approx(0.76, abs=0.05) and m.n == len(result.X_test)


def test_champion_challenger_report(freight: tuple, challenger: GradientBoostingChallenger) -> None:
    _, _, result = freight
    report = compare(result.model, challenger, result.X_test, result.y_test, challenger_name="hgb")
    assert report["champion"]["type"] == "ScorecardModel" and report["challenger"]["name"] == "hgb"
    assert report["delta"]["auc"] == approx(report["challenger"]["auc"] - report["champion"]["auc"], abs=1e-5)
    assert report["challenger_deployable"] is False
    assert report["recommendation"].startswith("keep the champion")
    assert json.loads(report_json(report)) == report


def test_a_better_scorecard_challenger_is_recommended(freight: tuple) -> None:
    X, y, result = freight
    weak = ScorecardModel(features=["shp_n_30"]).fit(X, y)
    report = compare(weak, result.model, result.X_test, result.y_test)
    assert report["challenger_better"] and report["recommendation"] == "promote the challenger"


def test_challenger_not_fitted_raises(freight: tuple) -> None:
    with pytest.raises(ModelError, match="not fitted yet"):
        GradientBoostingChallenger().risk(freight[0])


def test_challenger_rejects_single_class(freight: tuple) -> None:
    X, _, _ = freight
    with pytest.raises(ModelError, match="single class"):
        GradientBoostingChallenger().fit(X, np.ones(len(X), dtype=int))


def test_challenger_handles_categories(german: tuple) -> None:
    X, y, cats = german
    model = GradientBoostingChallenger(categorical=cats, max_iter=50).fit(X, y)
    unseen = X.iloc[:3].copy()
    unseen["purpose"] = "space travel"
    assert model.risk(unseen).shape == (3,)


def test_train_scorecard_rejects_empty_data(freight: tuple) -> None:
    X, y, _ = freight
    with pytest.raises(ModelError, match="X is empty"):
        train_scorecard(X.iloc[:0], y[:0], name="x", version=1)


def test_training_set_on_a_date_before_any_history_is_rejected(market: SyntheticMarket) -> None:
    with pytest.raises(ModelError, match="no shipper has history"):
        training_set(market.settlements, 1_000)


def test_psi_of_identical_distributions_is_zero() -> None:
    assert psi([10, 20, 30], [1, 2, 3]) == approx(0.0, abs=1e-12)


def test_psi_has_the_textbook_value() -> None:
    e = np.array([0.5, 0.5])
    a = np.array([0.8, 0.2])
    expected = float(np.sum((a - e) * np.log(a / e)))
    assert psi([50, 50], [80, 20]) == approx(expected) == approx(0.416, abs=1e-3)


@given(st.lists(st.integers(min_value=1, max_value=1000), min_size=2, max_size=12), st.data())
def test_psi_is_non_negative_and_symmetric(expected: list[int], data: st.DataObject) -> None:
    actual = data.draw(
        st.lists(st.integers(min_value=1, max_value=1000), min_size=len(expected), max_size=len(expected))
    )
    v = psi(expected, actual)
    assert v >= 0 and v == approx(psi(actual, expected)) and math.isfinite(v)


def test_psi_rejects_mismatched_or_empty_counts() -> None:
    with pytest.raises(ModelError, match="same length"):
        psi([1, 2], [1, 2, 3])
    with pytest.raises(ModelError, match="positive total"):
        psi([0, 0], [1, 2])


def test_status_thresholds_are_010_and_025() -> None:
    assert (WATCH, DRIFT) == (0.10, 0.25)
    assert [status_of(0.099), status_of(0.10), status_of(0.249), status_of(0.25)] == [
        "stable",
        "watch",
        "watch",
        "drifted",
    ]


def test_holdout_population_is_stable_and_promotable(freight: tuple) -> None:
    _, _, result = freight
    report = assert_promotable(result.card, result.X_test)
    assert report.psi == approx(0.0, abs=0.02) and report.status == "stable" and not report.blocks_promotion
    assert set(report.csi) == set(result.card.feature_names)
    assert json.loads(json.dumps(report.as_dict()))["thresholds"] == {"watch": 0.1, "drift": 0.25}


def test_drifted_population_blocks_promotion(freight: tuple) -> None:
    _, _, result = freight
    shifted = result.X_test.copy()
    shifted["shp_ontime_bps"] = 0
    shifted["shp_dpd_max"] = 400
    shifted["shp_overdue_n"] = 9
    report = monitor(result.card, shifted)
    assert report.psi >= DRIFT and report.status == "drifted" and report.blocks_promotion
    with pytest.raises(PromotionBlocked, match="cannot be promoted: score PSI"):
        assert_promotable(result.card, shifted)


def test_csi_flags_the_feature_that_moved(freight: tuple) -> None:
    _, _, result = freight
    shifted = result.X_test.copy()
    shifted["shp_tenure_days"] = shifted["shp_tenure_days"] + 400
    values = csi(result.card, shifted)
    assert values["shp_tenure_days"] >= DRIFT
    assert values["shp_n_365"] < WATCH


def test_monitor_rejects_empty_population(freight: tuple) -> None:
    _, _, result = freight
    with pytest.raises(ModelError, match="non-empty DataFrame"):
        monitor(result.card, result.X_test.iloc[:0])


def test_population_a_year_earlier_differs_more_than_the_holdout(freight: tuple, market: SyntheticMarket) -> None:
    _, _, result = freight
    X_old, _ = training_set(market.settlements, market.as_of - 365 * 86_400)
    assert monitor(result.card, X_old).psi > monitor(result.card, result.X_test).psi


def test_training_set_is_integer_features_and_binary_labels(freight: tuple) -> None:
    X, y, _ = freight
    assert all(str(t) == "Int64" for t in X.dtypes)
    assert set(np.unique(y)) == {0, 1}
    assert isinstance(X, pd.DataFrame) and X.index.is_unique


def test_training_set_rejects_bad_settlements(market: SyntheticMarket) -> None:
    from scoring.errors import InvalidData

    with pytest.raises(InvalidData, match="missing columns: status"):
        training_set(market.settlements.drop(columns=["status"]), market.as_of)
