"""Scorecard: real-data check, monotonic bins, tiers, and every rejected input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pytest import approx
from sklearn.model_selection import train_test_split

from scoring.errors import ModelError
from scoring.factory import evaluate
from scoring.scorecard import ScorecardModel


@pytest.fixture(scope="module")
def german_split(german: tuple[pd.DataFrame, np.ndarray, list[str]]) -> tuple:
    X, y, cats = german
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=42)
    return X_tr, X_te, y_tr, y_te, cats


@pytest.fixture(scope="module")
def german_model(german_split: tuple) -> ScorecardModel:
    X_tr, _, y_tr, _, cats = german_split
    return ScorecardModel(categorical=cats).fit(X_tr, y_tr)


def test_german_credit_holdout_auc_beats_optbinning_defaults(german_split: tuple, german_model: ScorecardModel) -> None:
    _, X_te, _, y_te, _ = german_split
    m = evaluate(german_model, X_te, y_te)
    assert m.auc >= 0.80
    assert m.auc == approx(0.809, abs=0.005)
    assert m.ks == approx(0.50, abs=0.02)
    assert m.gini == approx(2 * m.auc - 1)


def test_scores_are_integers_and_higher_means_safer(german_split: tuple, german_model: ScorecardModel) -> None:
    _, X_te, _, y_te, _ = german_split
    s = german_model.score(X_te)
    assert s.dtype == np.int64
    assert s[y_te == 0].mean() > s[y_te == 1].mean() + 20


def test_numerical_bins_follow_a_monotonic_or_single_peaked_trend(german_model: ScorecardModel) -> None:
    for b in german_model.bins_:
        if b.kind != "numerical" or len(b.points) < 3:
            continue
        d = np.sign(np.diff(b.points))
        d = d[d != 0]
        assert np.count_nonzero(np.diff(d)) <= 1, (b.name, b.points)


def test_forced_descending_trend_gives_non_increasing_points(german_split: tuple) -> None:
    X_tr, _, y_tr, _, cats = german_split
    model = ScorecardModel(categorical=cats, monotonic_trend={"duration_in_month": "ascending"}).fit(X_tr, y_tr)
    pts = next(b for b in model.bins_ if b.name == "duration_in_month").points
    # risk ascends with duration, so points descend
    assert all(a >= b for a, b in zip(pts, pts[1:]))


def test_tiers_default_to_training_quintiles(german_model: ScorecardModel) -> None:
    cut = german_model.tier_cutoffs_
    assert len(cut) == 4 and list(cut) == sorted(cut, reverse=True)
    share_a = float(np.mean(german_model.train_scores_ >= cut[0]))
    assert share_a == approx(0.2, abs=0.06)


def test_scaling_parameters_move_scores_as_documented(german_split: tuple) -> None:
    X_tr, X_te, y_tr, _, cats = german_split
    base = ScorecardModel(categorical=cats).fit(X_tr, y_tr).score(X_te)
    shifted = ScorecardModel(categorical=cats, base_points=700).fit(X_tr, y_tr).score(X_te)
    assert np.abs((shifted - base) - 100).max() <= len(X_tr.columns)  # rounding per feature


def test_special_code_gets_its_own_bin() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 100, 2000)
    y = (rng.uniform(size=2000) < 0.1 + 0.004 * x).astype(int)
    x[:300] = -1  # "not applicable"
    y[:300] = (rng.uniform(size=300) < 0.6).astype(int)
    model = ScorecardModel(special_codes=[-1]).fit(pd.DataFrame({"x": x}), y)
    b = model.bins_[0]
    assert b.counts[-2] == 300 and all(-1 < s for s in b.splits)
    assert b.special_points < min(b.points)


def test_not_fitted_model_raises() -> None:
    with pytest.raises(ModelError, match="not fitted yet"):
        ScorecardModel().score(pd.DataFrame({"a": [1]}))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"pdo": -2}, "pdo must be a positive number; got -2."),
        ({"odds": 0}, "odds must be a positive number; got 0."),
        ({"C": "big"}, "C must be a positive number"),
        ({"base_points": 600.5}, "base_points must be an integer"),
        ({"n_reasons": -1}, "n_reasons must be at least 0"),
        ({"monotonic_trend": "sideways"}, "monotonic_trend for 'duration_in_month' must be one of"),
        ({"monotonic_trend": {"purpose": "ascending"}}, "not a numerical feature"),
        ({"tier_cutoffs": [500, 600, 400, 300]}, "tier_cutoffs must be 4 descending integers"),
        ({"special_codes": [0.5]}, "special codes must be integers"),
        ({"features": ["nope"]}, "missing feature columns: nope"),
    ],
)
def test_bad_parameters_are_rejected(german_split: tuple, params: dict, message: str) -> None:
    X_tr, _, y_tr, _, cats = german_split
    with pytest.raises(ModelError, match=message.replace("(", r"\(").replace(".", r"\.")):
        ScorecardModel(categorical=cats if "features" not in params else (), **params).fit(X_tr, y_tr)


def test_single_class_target_is_rejected(german_split: tuple) -> None:
    X_tr, _, _, _, cats = german_split
    with pytest.raises(ModelError, match=r"single class \(0\)"):
        ScorecardModel(categorical=cats).fit(X_tr, np.zeros(len(X_tr), dtype=int))


def test_nan_in_target_is_rejected(german_split: tuple) -> None:
    X_tr, _, y_tr, _, cats = german_split
    y = y_tr.astype(float)
    y[3] = np.nan
    with pytest.raises(ModelError, match="y has 1 missing values"):
        ScorecardModel(categorical=cats).fit(X_tr, y)


def test_non_binary_target_is_rejected(german_split: tuple) -> None:
    X_tr, _, y_tr, _, cats = german_split
    with pytest.raises(ModelError, match="only 0 \\(good\\) and 1 \\(bad\\)"):
        ScorecardModel(categorical=cats).fit(X_tr, y_tr * 2)


def test_target_length_mismatch_is_rejected(german_split: tuple) -> None:
    X_tr, _, y_tr, _, cats = german_split
    with pytest.raises(ModelError, match="y has 699 values but X has 700 rows"):
        ScorecardModel(categorical=cats).fit(X_tr, y_tr[:-1])


def test_empty_data_is_rejected(german_split: tuple) -> None:
    X_tr, _, y_tr, _, cats = german_split
    with pytest.raises(ModelError, match="X is empty"):
        ScorecardModel(categorical=cats).fit(X_tr.iloc[:0], y_tr[:0])


def test_string_column_not_declared_categorical_is_rejected(german_split: tuple) -> None:
    X_tr, _, y_tr, _, _ = german_split
    with pytest.raises(ModelError, match="feature 'status_of_existing_checking_account' must be numeric"):
        ScorecardModel().fit(X_tr, y_tr)


def test_infinite_values_are_rejected(german_split: tuple) -> None:
    X_tr, _, y_tr, _, cats = german_split
    X = X_tr.copy()
    X["age_in_years"] = X["age_in_years"].astype(float)
    X.iloc[0, X.columns.get_loc("age_in_years")] = np.inf
    with pytest.raises(ModelError, match="'age_in_years' holds infinite values"):
        ScorecardModel(categorical=cats).fit(X, y_tr)


def test_numbers_in_a_categorical_column_are_rejected(german_split: tuple) -> None:
    X_tr, _, y_tr, _, cats = german_split
    X = X_tr.copy()
    X["purpose"] = X["purpose"].astype(object)
    X.iloc[0, X.columns.get_loc("purpose")] = 3
    with pytest.raises(ModelError, match="categorical feature 'purpose' must hold strings; got 3"):
        ScorecardModel(categorical=cats).fit(X, y_tr)


def test_nan_features_go_to_the_missing_bin(german_split: tuple, german_model: ScorecardModel) -> None:
    _, X_te, _, _, _ = german_split
    X = X_te.copy()
    X["duration_in_month"] = X["duration_in_month"].astype(float)
    X.iloc[:5, X.columns.get_loc("duration_in_month")] = np.nan
    s = german_model.score(X)
    assert s.dtype == np.int64 and len(s) == len(X)


def test_not_a_dataframe_is_rejected() -> None:
    with pytest.raises(ModelError, match="X must be a pandas DataFrame; got ndarray"):
        ScorecardModel().fit(np.zeros((10, 2)), np.r_[np.zeros(5), np.ones(5)])
