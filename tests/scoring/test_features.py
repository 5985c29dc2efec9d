"""Scene features: fixed expected values, point-in-time correctness, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.errors import InvalidData
from scoring.features import DAY, FEATURE_NAMES, ROLE_FEATURES, build_features, default_labels, validate_settlements
from scoring.synthetic import SyntheticMarket

T = 1_700_006_400  # the as-of date
S, S2, S3, P, C1, C2, C3 = ("0x" + f"{i:02x}" * 32 for i in range(1, 8))


def _row(
    sid: int, shipper: str, carrier: str, amount: int, inv: int, due: int, paid: int | None, status: str, sd: int
) -> dict:
    return {
        "settlement_id": f"0x{sid:064x}",
        "shipper": shipper,
        "platform": P,
        "carrier": carrier,
        "amount": amount,
        "invoice_date": T + inv * DAY,
        "due_date": T + due * DAY,
        "paid_date": 0 if paid is None else T + paid * DAY,
        "status": status,
        "status_date": T + sd * DAY,
    }


def sample_settlements() -> pd.DataFrame:
    rows = [
        _row(1, S, C1, 100_000, -200, -170, -165, "Paid", -165),  # 5 days late
        _row(2, S, C2, 200_000, -100, -70, -75, "Paid", -75),  # early
        _row(3, S, C1, 300_000, -60, -30, None, "Overdue", -29),  # 30 days past due
        _row(4, S, C1, 400_000, -20, 10, None, "Confirmed", -19),  # not due yet
        _row(5, S, C1, 50_000, -50, -20, None, "Defaulted", -5),  # defaulted before as_of
        _row(6, S, C1, 70_000, -40, -10, 5, "Paid", 5),  # paid only after as_of
        _row(7, S, C3, 999_900, 3, 33, None, "Invoiced", 3),  # invoiced after as_of
        _row(8, S, C1, 10_000, -10, 20, None, "Disputed", -2),
        _row(9, S, C1, 20_000, -150, -120, -119, "Resolved", 1),  # dispute resolved after as_of
        _row(10, S2, C2, 5_000, -5, 25, None, "Invoiced", -5),
        _row(11, S3, C2, 5_000, 1, 31, None, "Invoiced", 1),  # only future activity
    ]
    return pd.DataFrame(rows)


def test_shipper_features_have_the_expected_integer_values() -> None:
    f = build_features(sample_settlements(), T).loc[S]
    expected = {
        "shp_n_30": 2,
        "shp_n_90": 5,
        "shp_n_365": 8,
        "shp_amt_30": 410_000,
        "shp_amt_90": 830_000,
        "shp_amt_365": 1_150_000,
        "shp_ontime_bps": 1666,
        "shp_dpd_mean": 11,
        "shp_dpd_max": 30,
        "shp_dpd_p90": 30,
        "shp_overdue_n": 3,
        "shp_overdue_amt": 420_000,
        "shp_default_n": 1,
        "shp_default_amt": 50_000,
        "shp_dispute_bps": 1250,
        "shp_tenure_days": 200,
        "shp_counterparties": 2,
        "shp_recency_days": 10,
        "shp_trend_bps": 5809,
    }
    assert {k: int(f[k]) for k in expected} == expected


def test_features_of_a_subject_with_nothing_due_are_missing_not_zero() -> None:
    f = build_features(sample_settlements(), T).loc[S2]
    for k in ("shp_ontime_bps", "shp_dpd_mean", "shp_dpd_max", "shp_dpd_p90"):
        assert pd.isna(f[k])
    assert int(f["shp_trend_bps"]) == 10_000 and int(f["shp_tenure_days"]) == 5 and int(f["shp_n_30"]) == 1


def test_platform_and_carrier_roles_get_their_own_features() -> None:
    feats = build_features(sample_settlements(), T)
    assert int(feats.loc[P, "plt_n_365"]) == 9 and int(feats.loc[P, "plt_counterparties"]) == 2
    assert int(feats.loc[C1, "car_n_365"]) == 7 and int(feats.loc[C1, "car_counterparties"]) == 1
    assert pd.isna(feats.loc[S, "plt_n_365"]) and pd.isna(feats.loc[P, "shp_n_365"])


def test_every_feature_is_a_nullable_integer_column_in_canonical_order() -> None:
    feats = build_features(sample_settlements(), T)
    assert tuple(feats.columns) == FEATURE_NAMES
    assert all(str(t) == "Int64" for t in feats.dtypes)


def test_subject_with_only_future_settlements_is_absent_or_all_missing() -> None:
    assert S3 not in build_features(sample_settlements(), T).index
    f = build_features(sample_settlements(), T, subjects=[S3, S])
    assert list(f.index) == [S3, S] and f.loc[S3].isna().all()


def _truncate(settlements: pd.DataFrame, as_of: int) -> pd.DataFrame:
    """What the ledger looked like at ``as_of``: later rows, payments and status changes removed."""
    s = settlements[settlements["invoice_date"] <= as_of].copy()
    later_pay = s["paid_date"] > as_of
    s.loc[later_pay, "paid_date"] = 0
    later_status = s["status_date"] > as_of
    s.loc[later_status, "status"] = "Invoiced"
    s.loc[later_status, "status_date"] = s.loc[later_status, "invoice_date"]
    return s


def test_features_do_not_change_when_the_future_is_removed() -> None:
    full = build_features(sample_settlements(), T)
    past = build_features(_truncate(sample_settlements(), T), T)
    pd.testing.assert_frame_equal(full, past)


@settings(max_examples=15, deadline=None)
@given(days_back=st.integers(min_value=0, max_value=400))
def test_features_never_see_after_as_of_on_a_synthetic_market(market: SyntheticMarket, days_back: int) -> None:
    as_of = market.as_of - days_back * DAY
    s = market.settlements.iloc[:30_000]
    full = build_features(s, as_of)
    past = build_features(_truncate(s, as_of), as_of)
    pd.testing.assert_frame_equal(full, past)


@given(st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=40))
def test_dpd_p90_is_the_nearest_rank_percentile(dpds: list[int]) -> None:
    rows = [_row(i + 1, S, C1, 1_000, -1000 - d, -900 - d, -900, "Paid", -900) for i, d in enumerate(dpds)]
    f = build_features(pd.DataFrame(rows), T).loc[S]
    assert int(f["shp_dpd_p90"]) == int(np.percentile(dpds, 90, method="inverted_cdf"))
    assert int(f["shp_dpd_max"]) == max(dpds)
    assert int(f["shp_dpd_mean"]) == sum(dpds) // len(dpds)


def test_default_labels_read_defaults_in_the_horizon_only() -> None:
    labels = default_labels(sample_settlements(), [S, S2], T - 10 * DAY, horizon_days=90)
    assert labels.to_dict() == {S: 1, S2: 0}
    assert default_labels(sample_settlements(), [S], T, horizon_days=90).to_dict() == {S: 0}


def test_empty_settlements_give_an_empty_frame() -> None:
    feats = build_features(sample_settlements().iloc[:0], T)
    assert len(feats) == 0 and tuple(feats.columns) == FEATURE_NAMES


def test_missing_column_is_rejected() -> None:
    with pytest.raises(InvalidData, match="missing columns: paid_date"):
        build_features(sample_settlements().drop(columns=["paid_date"]), T)


def test_float_amounts_are_rejected() -> None:
    s = sample_settlements()
    s["amount"] = s["amount"].astype(float)
    with pytest.raises(InvalidData, match="'amount' must hold integers"):
        build_features(s, T)


def test_nan_values_are_rejected() -> None:
    s = sample_settlements()
    s["paid_date"] = s["paid_date"].astype(float)
    s.loc[0, "paid_date"] = np.nan
    with pytest.raises(InvalidData, match="'paid_date' has 1 missing values"):
        build_features(s, T)


def test_unknown_status_is_rejected() -> None:
    s = sample_settlements()
    s.loc[2, "status"] = "Lost"
    with pytest.raises(InvalidData, match="unknown settlement status 'Lost'"):
        build_features(s, T)


def test_negative_amount_is_rejected() -> None:
    s = sample_settlements()
    s.loc[2, "amount"] = -5
    with pytest.raises(InvalidData, match="'amount' must not be negative"):
        validate_settlements(s)


def test_due_before_invoice_is_rejected() -> None:
    s = sample_settlements()
    s.loc[0, "due_date"] = s.loc[0, "invoice_date"] - 1
    with pytest.raises(InvalidData, match="due before it was invoiced"):
        build_features(s, T)


def test_numeric_subject_ids_are_rejected() -> None:
    s = sample_settlements()
    s["carrier"] = 7
    with pytest.raises(InvalidData, match="'carrier' must hold strings"):
        build_features(s, T)


@pytest.mark.parametrize("as_of", [-1, 1.5, "2024-01-01", True, None])
def test_bad_as_of_is_rejected(as_of: object) -> None:
    with pytest.raises(InvalidData, match="as_of must be a non-negative integer"):
        build_features(sample_settlements(), as_of)  # type: ignore[arg-type]


def test_not_a_dataframe_is_rejected() -> None:
    with pytest.raises(InvalidData, match="must be a pandas DataFrame"):
        build_features([{"a": 1}], T)  # type: ignore[arg-type]


def test_unknown_role_is_rejected() -> None:
    with pytest.raises(InvalidData, match="role must be one of"):
        build_features(sample_settlements(), T, roles=("lender",))


def test_role_feature_names_are_stable() -> None:
    assert len(ROLE_FEATURES) == 19 and FEATURE_NAMES[0] == "shp_n_30" and FEATURE_NAMES[-1] == "car_trend_bps"


def test_declared_but_unconfirmed_payment_counts_as_unpaid() -> None:
    """The payer's own declaration (status PaymentDeclared) never makes it look paid, whatever date a frame gives."""
    final = sample_settlements()
    declared = final.copy()
    declared.loc[declared["settlement_id"] == f"0x{3:064x}", ["paid_date", "status"]] = [
        T - 29 * DAY,
        "PaymentDeclared",
    ]
    before, after = build_features(final, T).loc[S], build_features(declared, T).loc[S]
    for name in ("shp_ontime_bps", "shp_dpd_mean", "shp_dpd_max", "shp_overdue_n"):
        assert after[name] == before[name], name
    paid = declared.copy()
    paid.loc[paid["settlement_id"] == f"0x{3:064x}", "status"] = "Paid"
    assert build_features(paid, T).loc[S]["shp_overdue_n"] == before["shp_overdue_n"] - 1
