"""Features of every party (scoring.features.party_features): payouts for platforms and carriers, trips and
green freight, fixed expected values, point in time; a sentence for every feature; labelled synthetic
populations per role. The shipper features of build_features are untouched (tests/scoring/test_features.py)."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from scoring.errors import InvalidData
from scoring.features import (
    DAY,
    FEATURE_DESCRIPTIONS,
    FEATURE_NAMES,
    PARTY_FEATURE_NAMES,
    PARTY_FEATURES,
    build_features,
    describe,
    format_value,
    party_features,
)
from scoring.synthetic import (
    carrier_labels,
    generate_market,
    generate_payouts,
    generate_trips,
    role_population,
    trips_frame,
)

T = 1_700_006_400
SH, P1, P2, C1, C2 = ("0x" + f"{i:02x}" * 32 for i in range(1, 6))


def settlement(i: int, carrier: str, platform: str, inv: int, status: str = "Paid", sd: int = 0) -> dict:
    return {
        "settlement_id": f"0x{i:064x}",
        "shipper": SH,
        "platform": platform,
        "carrier": carrier,
        "amount": 100_000 * i,
        "invoice_date": T + inv * DAY,
        "due_date": T + (inv + 30) * DAY,
        "paid_date": T + (inv + 20) * DAY if status == "Paid" else 0,
        "status": status,
        "status_date": T + sd * DAY,
    }


def payout(i: int, carrier: str, platform: str, delivered: int, paid: int | None, status: str, sd: int) -> dict:
    return {
        "payout_id": f"0x{i:064x}",
        "platform": platform,
        "carrier": carrier,
        "amount": 50_000,
        "delivery_date": T + delivered * DAY,
        "due_date": T + (delivered + 7) * DAY,
        "paid_date": 0 if paid is None else T + paid * DAY,
        "status": status,
        "status_date": T + sd * DAY,
    }


@pytest.fixture()
def frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    s = pd.DataFrame(
        [
            settlement(1, C1, P1, -100),
            settlement(2, C1, P1, -50, "Disputed", -40),
            settlement(3, C2, P2, -30),
            settlement(4, C1, P1, -20),
            settlement(5, C1, P2, 10),  # after the as-of date: never counted
        ]
    )
    p = pd.DataFrame(
        [
            payout(1, C1, P1, -100, -95, "Paid", -95),  # on time
            payout(2, C1, P1, -50, -30, "Paid", -30),  # 13 days late
            payout(3, C2, P2, -30, None, "Overdue", -22),  # overdue, 23 days past due
            payout(4, C1, P1, -20, None, "Disputed", -15),
            payout(5, C1, P1, -3, None, "Confirmed", -3),  # not yet due
            payout(6, C1, P2, 5, None, "Confirmed", 5),  # after the as-of date
        ]
    )
    trips = pd.DataFrame(
        {
            "settlement_id": s["settlement_id"],
            "shipper": s["shipper"],
            "platform": s["platform"],
            "carrier": s["carrier"],
            "verdict": ["verified", "implausible", "verified", "no log", "verified"],
            "energy_type": ["electric", "diesel", "hydrogen", "", "electric"],
            "invoice_date": s["invoice_date"],
        }
    )
    return s, p, trips


def test_platform_features_have_fixed_values(frames):
    s, p, trips = frames
    f = party_features(s, T, payouts=p, trips=trips, role="platform")
    p1, p2 = f.loc[P1], f.loc[P2]
    assert list(f.columns) == list(PARTY_FEATURES["platform"])
    assert (p1["plt_payout_n_365"], p1["plt_payout_amt_365"]) == (4, 200_000)
    assert p1["plt_payout_ontime_bps"] == 3_333  # 1 of the 3 due payouts paid by its due date
    assert p1["plt_payout_dpd_mean"] == (0 + 13 + 13) // 3  # payout 4 is 13 days past due and unpaid
    assert (p1["plt_payout_overdue_n"], p1["plt_payout_dispute_bps"]) == (1, 2_500)
    assert p1["plt_shipper_top_bps"] == 10_000 and p1["plt_verified_bps"] == 3_333
    assert p1["plt_newenergy_bps"] == 5_000  # of the two logged trips, one electric
    assert (p2["plt_payout_ontime_bps"], p2["plt_payout_overdue_n"], p2["plt_newenergy_bps"]) == (0, 1, 10_000)


def test_carrier_features_have_fixed_values(frames):
    s, p, trips = frames
    f = party_features(s, T, payouts=p, trips=trips, role="carrier")
    c1 = f.loc[C1]
    assert list(f.columns) == list(PARTY_FEATURES["carrier"])
    # three deliveries as of T, one disputed and with an implausible trip: two were fine
    assert c1["car_delivery_ok_bps"] == 6_666 and c1["car_verified_bps"] == 3_333 and c1["car_trips_365"] == 3
    assert (c1["car_payout_n_365"], c1["car_payout_ontime_bps"], c1["car_payout_overdue_n"]) == (4, 3_333, 1)
    assert c1["car_newenergy_bps"] == 5_000


def test_nothing_after_the_as_of_date_changes_the_features(frames):
    s, p, trips = frames
    before = party_features(s, T, payouts=p, trips=trips, role="carrier")
    later = p.copy()
    later.loc[later["payout_id"] == f"0x{6:064x}", ["status", "paid_date", "status_date"]] = ["Paid", T + DAY, T + DAY]
    pd.testing.assert_frame_equal(before, party_features(s, T, payouts=later, trips=trips, role="carrier"))


def test_a_missing_source_leaves_its_features_missing(frames):
    s, _p, _trips = frames
    f = party_features(s, T, role="platform", subjects=[P1, "0xnobody"])
    assert f.loc[P1, "plt_shipper_top_bps"] == 10_000 and f.loc[P1].drop("plt_shipper_top_bps").isna().all()
    assert f.loc["0xnobody"].isna().all()


def test_bad_frames_are_refused(frames):
    s, p, trips = frames
    with pytest.raises(InvalidData, match="payouts are missing columns: status_date"):
        party_features(s, T, payouts=p.drop(columns="status_date"), role="platform")
    with pytest.raises(InvalidData, match="unknown trip verdict 'maybe'"):
        party_features(s, T, trips=trips.assign(verdict="maybe"), role="carrier")
    with pytest.raises(InvalidData, match="role must be one of"):
        party_features(s, T, role="lender")


def test_every_feature_has_a_sentence_with_its_value():
    assert set(FEATURE_DESCRIPTIONS) == set(FEATURE_NAMES) | set(PARTY_FEATURE_NAMES)
    assert describe("shp_ontime_bps", 4_200, "low") == "on-time payment share of due invoices as shipper is low: 42 %"
    assert describe("plt_payout_dpd_mean", 12) == "mean days carrier payouts were late: 12 days"
    assert format_value("car_payout_amt_365", 123_456) == "1,234.56 yuan"
    assert format_value("car_trips_365", pd.NA) == "no data"
    assert FEATURE_DESCRIPTIONS["car_newenergy_bps"].format(value="30 %").endswith("trucks: 30 %")
    with pytest.raises(InvalidData, match="unknown feature"):
        describe("xyz_n_30", 1)


def test_shipper_features_of_build_features_are_unchanged_by_the_party_features(frames):
    s, p, trips = frames
    base = build_features(s, T)
    party_features(s, T, payouts=p, trips=trips, role="carrier")
    pd.testing.assert_frame_equal(base, build_features(s, T))
    assert tuple(base.columns) == FEATURE_NAMES


@pytest.fixture(scope="module")
def small_market():
    market = generate_market(n_subjects=1500, n_platforms=300, seed=9)
    payouts = generate_payouts(market, seed=9)
    trips = trips_frame(generate_trips(market.settlements.head(4000), seed=9, points=8), market.settlements)
    return market, payouts, trips


@pytest.mark.parametrize("role", ["shipper", "platform", "carrier"])
def test_each_role_has_a_labelled_population_with_informative_features(small_market, role):
    market, payouts, trips = small_market
    X, y = role_population(market, role, payouts=payouts, trips=trips)
    assert X.index.equals(y.index) and 0 < y.mean() < 0.3 and y.sum() >= 5
    # the risk rises with days past due and disputes, and falls with the share of payouts paid on time
    feature, sign = {
        "shipper": ("shp_dpd_p90", 1),
        "platform": ("plt_payout_ontime_bps", -1),
        "carrier": ("car_dispute_bps", 1),
    }[role]
    known = X[feature].notna()
    assert roc_auc_score(y[known], sign * X.loc[known, feature].astype(float)) > 0.6


def test_carrier_labels_need_repeated_disputes(small_market):
    market, _payouts, _trips = small_market
    strict = carrier_labels(market.settlements, market.as_of, least=3)
    loose = carrier_labels(market.settlements, market.as_of, least=1, share_bps=0)
    assert strict.sum() <= carrier_labels(market.settlements, market.as_of).sum() <= loose.sum()


@pytest.mark.parametrize("role", ["carrier", "platform"])
def test_the_factory_trains_a_card_per_role_that_ranks_its_holdout(role):
    from scoring.factory import train_scorecard

    market = generate_market(n_subjects=6000, n_platforms=1500, seed=21)
    payouts = generate_payouts(market, seed=21, annual_default_rate=0.4)
    X, y = role_population(market, role, payouts=payouts)
    result = train_scorecard(X, y, name=f"freight-{role}", version=1)
    assert result.metrics.auc > 0.65
    prefix = {"carrier": "car_", "platform": "plt_"}[role]
    assert result.card.feature_names and all(f.startswith(prefix) for f in result.card.feature_names)
    assert all(f in FEATURE_DESCRIPTIONS for f in result.card.feature_names)
