"""oracle.batch.score_subjects reads the features column by column: the same scores, tiers and reasons as
scoring each subject's row on its own (card.score_one), with missing values (pandas NA) and a feature column
the frame lacks treated as missing."""

from __future__ import annotations

import pandas as pd
import pytest

from oracle.batch import score_subjects
from scoring.factory import train_scorecard, training_set
from scoring.features import build_features
from scoring.synthetic import generate_market


@pytest.fixture(scope="module")
def card_and_features():
    market = generate_market(n_subjects=1500, seed=3)
    X, y = training_set(market.settlements, market.as_of)
    card = train_scorecard(X, y, name="batch", version=1).card
    features = build_features(market.settlements, market.as_of, roles=("shipper",))
    return card, features


def one_by_one(card, features):
    out = []
    for subject, row in features.sort_index().iterrows():
        values = {}
        for name in card.feature_names:
            v = row.get(name)
            values[name] = None if v is None or pd.isna(v) else int(v)
        s = card.score_one(values)
        out.append((str(subject), int(s.score), s.tier, tuple(s.reasons)))
    return out


def as_tuples(scored):
    return [(s.subject, s.score, s.tier, s.reasons) for s in scored]


def test_the_same_entries_as_scoring_each_row_on_its_own(card_and_features):
    card, features = card_and_features
    shuffled = features.sample(frac=1.0, random_state=3)  # scored in subject order whatever the frame's
    assert as_tuples(score_subjects(card, shuffled)) == one_by_one(card, features)


def test_missing_values_and_a_missing_column_are_missing_features(card_and_features):
    card, features = card_and_features
    holed = features.copy()
    first, second = card.feature_names[0], card.feature_names[1]
    holed.loc[holed.index[::3], first] = pd.NA
    holed = holed.drop(columns=[second])
    got = as_tuples(score_subjects(card, holed))
    assert got == one_by_one(card, holed)
    assert len({g[1] for g in got}) > 1  # real scores, not one constant
