"""The demo's replay schedule (creditshare/demo/replay.py), without a chain: every step at most 16 days after
the one before, every invoice confirmed at a step no later than its payment date, so a payment keeps the date
the market gave it (the ledger refuses a paid date before the confirmation)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from creditshare.demo import replay
from creditshare.demo.market import build_market

DAY = replay.DAY
TODAY = dt.date(2026, 12, 1)


def test_steps_are_the_1st_and_16th_of_each_month_then_the_day_of_the_replay():
    steps = replay.steps(replay.seconds("2025-12-03"), replay.seconds("2026-12-01"))
    days = [replay.day_of(s) for s in steps]
    assert days[:3] == ["2025-12-16", "2026-01-01", "2026-01-16"]
    assert days[-2:] == ["2026-11-16", "2026-12-01"] and len(days) == 24
    assert steps == sorted(set(steps))


@given(
    first=st.integers(min_value=replay.seconds("2020-01-01"), max_value=replay.seconds("2030-01-01")),
    span=st.integers(min_value=1, max_value=800),
)
@settings(max_examples=200, deadline=None)
def test_steps_never_leave_a_gap_over_16_days(first, span):
    as_of = first + span * DAY
    steps = replay.steps(first, as_of)
    assert steps[-1] == as_of and all(first < s <= as_of for s in steps)
    assert all(b - a <= 16 * DAY for a, b in zip([first, *steps], steps, strict=False))


def test_every_payment_of_the_market_keeps_its_date(tmp_path):
    market = build_market(tmp_path, 8, 30, 7, TODAY)
    as_of = replay.seconds(TODAY.isoformat())
    plan = replay.actions(market)
    steps = replay.steps(min(replay.seconds(r["invoice_date"]) for r in market.all_rows), as_of)
    done: set[tuple[str, str]] = set()
    confirmed_at: dict[str, int] = {}
    declared: dict[str, int] = {}
    for cutoff in steps:
        due = replay.due_by(plan, cutoff, done)
        for phase in replay.PHASES:
            for a in due[phase]:
                if phase == "confirm":
                    confirmed_at[a.reference] = cutoff
                if phase == "pay":
                    declared[a.reference] = replay.paid_date(a.at, confirmed_at[a.reference])
                done.add((phase, a.reference))
    assert set(declared) == set(market.paid)
    # no payment was moved: each was confirmed before it was paid, so its date is the market's
    assert all(declared[r] == replay.seconds(market.paid[r]) for r in declared)
    # every action of the year was done by the last step, each once
    assert done == {(a.phase, a.reference) for a in plan}
    invoiced = [r for r in market.all_rows if market.final[r["reference"]] == "Invoiced"]
    assert all(("confirm", r["reference"]) not in done for r in invoiced)


def test_a_default_after_its_due_date_is_closed_from_overdue_one_before_it_from_a_dispute(tmp_path):
    market = build_market(tmp_path, 30, 60, 7, TODAY)
    plan = replay.actions(market)
    phases: dict[str, list[str]] = {}
    for a in plan:
        phases.setdefault(a.reference, []).append(a.phase)
    defaulted = [r for r in market.all_rows if market.final[r["reference"]] == "Defaulted"]
    assert defaulted, "the 30-shipper market has defaults"
    for r in defaulted:
        path = phases[r["reference"]]
        late = replay.seconds(r["due_date"]) < market.status_dates[r["reference"]]
        assert path == ["submit", "confirm", "overdue" if late else "dispute", "resolve-default"]
