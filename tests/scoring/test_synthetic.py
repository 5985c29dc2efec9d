"""The synthetic freight market: seeded, valid, with informative but noisy labels."""

from __future__ import annotations

import pandas as pd
import pytest
from pytest import approx

from scoring.errors import InvalidData
from scoring.features import DAY, STATUSES, validate_settlements
from scoring.synthetic import MarketParams, SyntheticMarket, generate_market


def test_same_seed_gives_the_same_market() -> None:
    a = generate_market(n_subjects=500, seed=11)
    b = generate_market(MarketParams(n_subjects=500, seed=11))
    pd.testing.assert_frame_equal(a.settlements, b.settlements)
    pd.testing.assert_series_equal(a.labels, b.labels)


def test_other_seed_gives_another_market() -> None:
    a = generate_market(n_subjects=500, seed=11)
    b = generate_market(n_subjects=500, seed=12)
    assert not a.settlements["amount"].equals(b.settlements["amount"])


def test_market_passes_settlement_validation(market: SyntheticMarket) -> None:
    s = validate_settlements(market.settlements)
    assert set(s["status"]) <= set(STATUSES) and {"Paid", "Overdue", "Defaulted", "Disputed"} <= set(s["status"])
    assert s["settlement_id"].is_unique
    assert (s["due_date"] - s["invoice_date"]).isin([d * DAY for d in (30, 45, 60, 90)]).all()
    paid = s["paid_date"] > 0
    assert (s.loc[paid, "paid_date"] > s.loc[paid, "invoice_date"]).all()
    assert s["shipper"].str.fullmatch(r"0x[0-9a-f]{64}").all()


def test_market_size_and_default_rate(market: SyntheticMarket) -> None:
    assert len(market.labels) == approx(10_300, rel=0.05)
    assert market.labels.mean() == approx(0.028, abs=0.01)
    assert len(market.settlements) / 12_000 == approx(25, rel=0.2)


def test_latent_quality_drives_default(market: SyntheticMarket) -> None:
    q = market.quality.reindex(market.labels.index)
    assert q[market.labels == 1].mean() < q[market.labels == 0].mean() - 0.4


def test_volume_follows_the_season(market: SyntheticMarket) -> None:
    s = market.settlements
    doy = (s["invoice_date"] // DAY) % 365
    peak = ((doy - 30).abs() < 45).mean() / (90 / 365)
    trough = ((doy - 212).abs() < 45).mean() / (90 / 365)
    assert peak > trough * 1.2


def test_labels_at_another_date_exclude_already_defaulted(market: SyntheticMarket) -> None:
    earlier = market.labelled(market.as_of - 180 * DAY)
    assert 0 < earlier.mean() < 0.1
    s = market.settlements
    gone = s[(s["status"] == "Defaulted") & (s["status_date"] <= market.as_of - 180 * DAY)]["shipper"]
    assert not set(gone) & set(earlier.index)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"n_subjects": 0}, "n_subjects must be a positive integer"),
        ({"payment_terms_probs": (0.5, 0.5, 0.5, 0.5)}, "must sum to 1"),
        ({"payment_terms_days": (30,)}, "same, non-zero length"),
        ({"late_base": 1.5}, "late_base must be strictly between 0 and 1"),
        ({"annual_default_rate": -0.1}, "annual_default_rate must be a positive number"),
        ({"history_days": 10}, "history_days must be at least 60"),
        ({"colour": "red"}, "unknown market parameters: colour"),
    ],
)
def test_bad_parameters_are_rejected(overrides: dict, message: str) -> None:
    with pytest.raises(InvalidData, match=message):
        generate_market(**overrides)


def test_features_of_the_market_are_shipper_role_integers(market: SyntheticMarket) -> None:
    X = market.features()
    assert list(X.index) == list(market.labels.index)
    assert X.columns[0] == "shp_n_30" and all(str(t) == "Int64" for t in X.dtypes)
    assert not X["shp_tenure_days"].isna().any() and int(X["shp_n_365"].min()) >= 0
