"""Trip evidence checks (scoring/trips.py) against the synthetic market's known fraud: genuine trips pass,
fabricated and reused tracks are caught, the numpy checks agree with the per-point loop, bad logs are refused."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

from scoring.errors import InvalidData
from scoring.synthetic import generate_market, generate_trips, trips_frame
from scoring.trips import DAY, TripLog, check_many, check_trip, check_trip_loop, parse_trip_log, track_fingerprint

SHANGHAI, HANGZHOU = (31.23, 121.47), (30.27, 120.16)
INVOICE = 1_735_689_600


@pytest.fixture(scope="module")
def market_trips():
    market = generate_market(n_subjects=150, seed=5)
    settlements = market.settlements.head(2500)
    return settlements, generate_trips(settlements, seed=2)


def line(n: int = 30, *, hours: float = 3.0, a=SHANGHAI, b=HANGZHOU, odometer: float | None = None) -> TripLog:
    lat, lon = np.linspace(a[0], b[0], n), np.linspace(a[1], b[1], n)
    t = INVOICE - DAY - np.linspace(hours * 3600, 0, n).astype(np.int64)
    path = 165.0 if odometer is None else odometer
    return TripLog("V1", "electric", 1000.0, 1000.0 + path, t, lat, lon)


def test_genuine_trips_pass_and_known_fraud_is_caught(market_trips):
    settlements, trips = market_trips
    checks = check_many([(t.settlement_id, t.log, t.origin, t.destination, t.invoice_date) for t in trips])
    outcome = Counter((t.kind, checks[t.settlement_id].verdict) for t in trips)
    genuine = sum(v for (k, _), v in outcome.items() if k == "genuine")
    assert outcome[("genuine", "verified")] == genuine > 2000
    assert outcome[("missing", "no log")] == sum(v for (k, _), v in outcome.items() if k == "missing") > 100
    for kind in ("fabricated", "reused"):
        total = sum(v for (k, _), v in outcome.items() if k == kind)
        assert total > 50 and outcome[(kind, "implausible")] == total


def test_a_reused_track_names_the_settlement_that_presented_it_first(market_trips):
    _settlements, trips = market_trips
    checks = check_many([(t.settlement_id, t.log, t.origin, t.destination, t.invoice_date) for t in trips])
    reused = next(t for t in trips if t.kind == "reused")
    assert any(r.startswith("the same track as settlement 0x") for r in checks[reused.settlement_id].reasons)
    # against fingerprints recorded earlier (on chain), the first presentation is the one known
    first = next(t for t in trips if t.kind == "genuine")
    known = {track_fingerprint(first.log): "0xEARLIER"}
    again = check_many([(first.settlement_id, first.log, first.origin, first.destination, first.invoice_date)], known)
    assert again[first.settlement_id].reasons == ("the same track as settlement 0xEARLIER",)


def test_numpy_checks_agree_with_the_per_point_loop(market_trips):
    _settlements, trips = market_trips
    for t in [t for t in trips if t.log is not None][:200]:
        fast = check_trip(t.log, t.origin, t.destination, t.invoice_date)
        slow = check_trip_loop(t.log, t.origin, t.destination, t.invoice_date)
        assert (fast.verdict, fast.reasons) == (slow.verdict, slow.reasons)
        assert fast.path_km == pytest.approx(slow.path_km, rel=1e-9)


def test_each_check_names_its_reason():
    ok = check_trip(line(), SHANGHAI, HANGZHOU, INVOICE)
    assert ok.verdict == "verified" and ok.path_km == pytest.approx(160, abs=10)
    cases = {
        "km/h": check_trip(line(hours=0.5), SHANGHAI, HANGZHOU, INVOICE),
        "from the declared destination": check_trip(line(), SHANGHAI, (32.06, 118.80), INVOICE),
        "odometer shows": check_trip(line(odometer=40), SHANGHAI, HANGZHOU, INVOICE),
        "delivered after the invoice date": check_trip(line(), SHANGHAI, HANGZHOU, INVOICE - 3 * DAY),
        "days before the invoice date": check_trip(line(), SHANGHAI, HANGZHOU, INVOICE + 90 * DAY),
    }
    for reason, check in cases.items():
        assert check.verdict == "implausible" and any(reason in r for r in check.reasons), (reason, check.reasons)


def test_a_retimed_copy_keeps_its_fingerprint_and_another_trip_does_not():
    a = line()
    copy = TripLog("V9", "diesel", 0.0, 165.0, a.t + 30 * DAY, a.lat, a.lon)
    assert track_fingerprint(copy) == track_fingerprint(a)
    jittered = TripLog("V1", "electric", 0.0, 165.0, a.t, a.lat + 0.001, a.lon)
    assert track_fingerprint(jittered) != track_fingerprint(a)


def test_trip_log_round_trip_and_bad_logs_are_refused():
    log = line()
    back = parse_trip_log(log.dumps())
    assert back.energy_type == "electric" and np.array_equal(back.t, log.t)
    good = json.loads(log.dumps())
    bad = {
        "not JSON": b"{",
        "energy_type": json.dumps({**good, "energy_type": "coal"}),
        "vehicle_id": json.dumps({**good, "vehicle_id": ""}),
        "odometer_start_km": json.dumps({**good, "odometer_start_km": -1}),
        "points must be a list": json.dumps({**good, "points": [[1, 2, 3]]}),
        "latitudes": json.dumps({**good, "points": [[INVOICE, 91, 0], [INVOICE + 1, 0, 0]]}),
        "whole unix seconds": json.dumps({**good, "points": [[1.5, 0, 0], [2, 0, 0]]}),
        "[unix_seconds, latitude, longitude]": json.dumps({**good, "points": [[INVOICE, 0], [INVOICE, 1]]}),
    }
    for message, data in bad.items():
        with pytest.raises(InvalidData, match=message.replace("[", r"\[").replace("]", r"\]")):
            parse_trip_log(data)


def test_trips_frame_carries_verdicts_and_energy_per_settlement(market_trips):
    settlements, trips = market_trips
    frame = trips_frame(trips, settlements)
    assert len(frame) == len(trips) and set(frame["verdict"]) == {"verified", "implausible", "no log"}
    assert set(frame.loc[frame["verdict"] != "no log", "energy_type"]) <= {"diesel", "lng", "electric", "hydrogen"}
    share = frame["energy_type"].isin(["electric", "hydrogen"]).mean()
    assert 0.05 < share < 0.4
