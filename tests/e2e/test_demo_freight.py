"""The demo's payouts and trips plan (creditshare/demo/freight.py), without a chain: what the platforms owe and
pay (some late, some left unpaid, one disputed) and the trip logs with their ground truth, judged by the same
checks `creditshare trips verify` runs (scoring.trips.check_many)."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from creditshare.demo import freight, replay
from creditshare.demo.market import PLATFORMS, build_market
from scoring.trips import check_many, parse_trip_log

TODAY = dt.date(2026, 12, 1)
AS_OF = replay.seconds(TODAY.isoformat())


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    folder = tmp_path_factory.mktemp("freight")
    market = build_market(folder, 4, 10, 7, TODAY)
    return folder, market, freight.plan(market, folder, TODAY, 7)


def test_each_platform_owes_payouts_spread_over_the_last_two_weeks(planned):
    _, market, plan = planned
    assert set(plan.payouts) == set(PLATFORMS)
    for platform, rows in plan.payouts.items():
        assert len(rows) == freight.PER_PLATFORM
        due = [replay.seconds(r["due_date"]) for r in rows]
        # some were due before today (paid today: late), some are due later (paid today: on time)
        assert any(d < AS_OF for d in due) and any(d >= AS_OF for d in due), due
        for r in rows:
            delivery = replay.seconds(r["delivery_date"])
            assert AS_OF - (freight.WINDOW_DAYS + 1) * replay.DAY <= delivery < AS_OF
            assert replay.seconds(r["due_date"]) == delivery + freight.PAYOUT_TERMS_DAYS * replay.DAY
            assert 0 < r["amount_fen"] and r["platform"] == platform
    every = {r["reference"]: r for rows in plan.payouts.values() for r in rows}
    # left unpaid only when past due (the carrier can mark it overdue); one open payout disputed, not both
    assert plan.unpaid and all(replay.seconds(every[r]["due_date"]) < AS_OF for r in plan.unpaid)
    assert len(plan.disputed) == 1 and not plan.disputed & plan.unpaid


def test_the_trip_logs_hold_one_fabricated_one_reused_one_missing_and_the_checks_catch_them(planned):
    folder, market, plan = planned
    assert sorted(plan.kinds.values()).count("genuine") == len(plan.trips) - 3
    assert {"fabricated", "reused", "missing"} <= set(plan.kinds.values())
    invoice = {r["settlement"]: r for rows in plan.payouts.values() for r in rows}
    row_of = {r["reference"]: r for r in market.all_rows}
    trips = []
    for t in plan.trips:
        log = parse_trip_log((folder / t["trip_log"]).read_bytes()) if t["trip_log"] else None
        reference = invoice[t["settlement"]]["reference"].removeprefix("PO-")
        trips.append(
            (
                t["settlement"],
                log,
                (float(t["origin_lat"]), float(t["origin_lon"])),
                (float(t["destination_lat"]), float(t["destination_lon"])),
                replay.seconds(row_of[reference]["invoice_date"]),
            )
        )
    checks = check_many(trips)
    expected = {"genuine": "verified", "fabricated": "implausible", "reused": "implausible", "missing": "no log"}
    assert {sid: checks[sid].verdict for sid in plan.kinds} == {sid: expected[k] for sid, k in plan.kinds.items()}
    reused = next(s for s, k in plan.kinds.items() if k == "reused")
    assert any("the same track as settlement" in r for r in checks[reused].reasons)


def test_the_csvs_the_demo_writes_have_the_commands_columns(planned, tmp_path):
    _, _, plan = planned
    path = freight._write(tmp_path / "p.csv", freight.PAYOUT_COLUMNS, plan.payouts[PLATFORMS[0]])
    with path.open(newline="") as handle:
        header = next(csv.reader(handle))
    assert header == list(freight.PAYOUT_COLUMNS)
    assert set(header) >= {"reference", "platform", "carrier", "amount_fen", "delivery_date", "due_date", "evidence"}
