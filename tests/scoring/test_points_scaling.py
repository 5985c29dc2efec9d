"""One points scale for every scorecard (scoring.scorecard.points_scaling): the logistic card hands it to
optbinning, the boosted card applies it itself; both check it the same way."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pytest import approx

from scoring.boosted import BoostedScorecardModel
from scoring.errors import ModelError
from scoring.scorecard import ScorecardModel, points_scaling


def test_twenty_points_double_the_odds_and_base_points_sit_at_the_base_odds() -> None:
    factor, offset = points_scaling(20, 50, 600)
    assert factor == approx(28.8539, abs=1e-4) and offset == approx(487.1229, abs=1e-4)
    assert offset + factor * math.log(50) == approx(600)  # odds 50:1 good -> 600 points
    assert offset + factor * math.log(100) == approx(620)  # twice the odds -> 20 more


@given(
    pdo=st.floats(min_value=0.5, max_value=200),
    odds=st.floats(min_value=0.01, max_value=1e4),
    base=st.integers(min_value=-10_000, max_value=10_000),
)
def test_the_scale_is_what_the_boosted_card_computed_before(pdo: float, odds: float, base: int) -> None:
    factor = float(pdo) / math.log(2)
    assert points_scaling(pdo, odds, base) == (factor, float(base) - factor * math.log(float(odds)))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 50, 600), "pdo must be a positive number; got 0."),
        ((20, -1, 600), "odds must be a positive number; got -1."),
        ((20, 50, 600.5), "base_points must be an integer; got 600.5."),
        ((float("inf"), 50, 600), "pdo must be a finite number; got inf."),
    ],
)
def test_a_bad_scale_is_refused_with_its_name(args: tuple, message: str) -> None:
    with pytest.raises(ModelError, match=message.replace(".", r"\.")):
        points_scaling(*args)


@pytest.mark.parametrize("model", [ScorecardModel, BoostedScorecardModel])
def test_both_scorecards_refuse_a_bad_scale_the_same_way(model: type) -> None:
    import pandas as pd

    X = pd.DataFrame({"a": list(range(20))})
    y = [0, 1] * 10
    with pytest.raises(ModelError, match="pdo must be a positive number; got -2"):
        model(pdo=-2).fit(X, y)
    with pytest.raises(ModelError, match="base_points must be an integer; got 1.5"):
        model(base_points=1.5).fit(X, y)
