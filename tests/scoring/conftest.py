"""Shared, session-scoped fixtures: a small synthetic market and fitted models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.factory import TrainResult, train_scorecard, training_set, training_window
from scoring.synthetic import SyntheticMarket, generate_market
from tests.data import shared_data_file

GERMAN = shared_data_file("germancredit.csv")


@pytest.fixture(scope="session")
def market() -> SyntheticMarket:
    return generate_market(n_subjects=12_000, seed=7)


@pytest.fixture(scope="session")
def freight(market: SyntheticMarket) -> tuple[pd.DataFrame, np.ndarray, TrainResult]:
    X, y = training_set(market.settlements, market.as_of)
    result = train_scorecard(X, y, name="freight-test", version=1, training=training_window(market.as_of))
    return X, y, result


@pytest.fixture(scope="session")
def german() -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    df = pd.read_csv(GERMAN)
    y = (df.pop("creditability") == "bad").astype(int).to_numpy()
    cats = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    return df, y, cats
