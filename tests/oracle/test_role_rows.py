"""A round reads only its due subjects' rows (#19 with #17): a carrier's or a platform's features from the rows
where it plays that role (its payouts, those settlements' trips) equal the features from the whole history, so
oracle.scores can read the chain index per subject and still sign the bytes a full recompute gives."""

from __future__ import annotations

import pytest
from pandas.testing import assert_frame_equal

from oracle.scores import _party_frame
from scoring.synthetic import generate_market, generate_payouts, generate_trips, trips_frame


@pytest.fixture(scope="module")
def market():
    m = generate_market(n_subjects=40, seed=5)
    payouts = generate_payouts(m, seed=5)
    trips = trips_frame(generate_trips(m.settlements, seed=5), m.settlements)
    return m, payouts, trips


@pytest.mark.parametrize("role", ["carrier", "platform"])
def test_a_roles_features_from_its_own_rows_equal_those_from_the_whole_history(market, role):
    m, payouts, trips = market
    frame = m.settlements
    subjects = sorted(set(frame[role]))[:7]
    full = _party_frame(frame, m.as_of, role, subjects, payouts, trips)
    mine = frame[frame[role].isin(subjects)].reset_index(drop=True)
    own_payouts = payouts[payouts["platform"].isin(subjects) | payouts["carrier"].isin(subjects)]
    own_trips = trips[trips["settlement_id"].isin(mine["settlement_id"])]
    scoped = _party_frame(mine, m.as_of, role, subjects, own_payouts, own_trips)
    assert full.notna().any().any()  # features were computed, not all missing
    assert_frame_equal(scoped, full, check_exact=True)
