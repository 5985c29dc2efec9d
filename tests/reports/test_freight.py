"""The pure parts of creditshare.reports.freight: reasons as sentences (direction from the card's bins), the
model page's features, place names, green shares and the lanes chart."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditshare.reports.freight import (
    bar_svg,
    direction,
    feature_phrase,
    green_of,
    place,
    reason_sentence,
    reason_sentences,
)
from scoring.features import FEATURE_DESCRIPTIONS, format_value

# points rise with the on-time share: the best bin is the last
ONTIME = {"name": "shp_ontime_bps", "kind": "numerical", "edges": [5000, 9000], "points": [-20, 0, 15]}
# points fall with the days past due: the best bin is the first
DPD = {"name": "shp_dpd_max", "kind": "numerical", "edges": [1, 30], "points": [10, -5, -30], "special_codes": []}


def test_a_reason_reads_as_a_sentence_with_the_subjects_value_and_its_direction():
    assert reason_sentence("shp_ontime_bps", 4200, ONTIME) == (
        "on-time payment share of due invoices as shipper is low: 42 %"
    )
    assert reason_sentence("shp_dpd_max", 45, DPD) == "longest days past due as shipper is high: 45 days"
    assert reason_sentence("shp_dpd_max", 0, DPD) == "longest days past due as shipper: 0 days"  # in the best bin
    assert reason_sentence("shp_dpd_max", None, DPD) == "longest days past due as shipper: no data"  # missing


def test_a_reason_whose_value_is_not_known_is_said_without_one():
    assert reason_sentence("shp_dpd_max", known=False) == "longest days past due as shipper"
    out = reason_sentences(None, ["shp_dpd_max", "shp_ontime_bps"], {"shp_ontime_bps": 9500})
    assert out == ["longest days past due as shipper", "on-time payment share of due invoices as shipper: 95 %"]
    assert reason_sentences(None, None, {}) is None  # reasons not recovered: no sentences either


def test_a_feature_the_scoring_package_does_not_describe_keeps_its_name():
    assert feature_phrase("xp_platforms_n") == "xp_platforms_n"
    assert reason_sentence("xp_platforms_n", 3) == "xp_platforms_n: 3"


def test_every_described_feature_has_a_phrase_without_the_value_slot():
    for name, template in FEATURE_DESCRIPTIONS.items():
        assert feature_phrase(name) + ": {value}" == template


@given(st.integers(min_value=0, max_value=20_000))
def test_the_direction_points_away_from_the_best_bin(value):
    way = direction(ONTIME, value)
    assert way == (None if value >= 9000 else "low")
    assert reason_sentence("shp_ontime_bps", value, ONTIME).endswith(": " + format_value("shp_ontime_bps", value))


def test_places_are_hubs_within_25_km_else_coordinates():
    assert place((31.23, 121.47)) == "Shanghai" and place((31.30, 121.50)) == "Shanghai"
    assert place((-33.87, 151.21)) == "33.9°S 151.2°E"


def test_green_share_counts_logged_trips_only():
    rows = [
        {"verdict": "verified", "energy": "electric"},
        {"verdict": "implausible", "energy": "diesel"},
        {"verdict": "no log", "energy": ""},
        {"verdict": "verified", "energy": "hydrogen"},
    ]
    assert green_of(rows) == {
        "logged_trips": 3,
        "new_energy_trips": 2,
        "new_energy_bps": 6666,
        "by_energy": {"diesel": 1, "electric": 1, "hydrogen": 1},
    }
    assert green_of([])["new_energy_bps"] is None


@pytest.mark.parametrize("n", [0, 1, 20])
def test_the_lanes_chart_has_one_bar_pair_per_lane_up_to_twelve(n):
    lanes = [
        {"origin": f"A{i}", "destination": "B<&>", "trips": i + 1, "verified": i, "verified_bps": 5000}
        for i in range(n)
    ]
    svg = bar_svg(lanes)
    assert svg.count("<rect") == 2 * min(n, 12) and ("B&lt;&amp;&gt;" in svg) == (n > 0)
    assert "<script" not in svg and "style=" not in svg
