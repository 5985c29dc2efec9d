"""Property-based tests of batch submission (hypothesis, via brownie's `given`,
which reverts the chain between examples)."""

from __future__ import annotations

from brownie.test import given
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from creditshare.bindings.settlement_ledger import EARLIEST_DATE, LATEST_DATE, MAX_AMOUNT, Settlement, Status
from creditshare.core.ids import SettlementId, SubjectId
from tests.conftest import org
from tests.contracts.helpers import DAY, record, refs, reverts, settlement_id

# generation size and speed vary with the load on the shared test chain, not with the inputs
FLAKY_CHECKS = [HealthCheck.data_too_large, HealthCheck.too_slow]

record_fields = st.tuples(
    st.integers(min_value=1, max_value=MAX_AMOUNT),  # amount
    st.integers(min_value=EARLIEST_DATE, max_value=LATEST_DATE - 400 * DAY),  # invoice date
    st.integers(min_value=0, max_value=400),  # payment term in days
    st.binary(min_size=32, max_size=32).filter(lambda b: any(b)),  # evidence digest
)


def build(index: int, fields) -> tuple:
    amount, invoice, term, evidence = fields
    sid = settlement_id(org("PLATFORM"), (index + 1).to_bytes(32, "big"))
    return (sid, org("SHIPPER"), org("PLATFORM"), org(f"D{index}"), amount, invoice, invoice + term * DAY, evidence)


@given(batch=st.lists(record_fields, min_size=1, max_size=40))
@settings(max_examples=20, suppress_health_check=FLAKY_CHECKS)
def test_valid_batch_stores_exactly_its_records(ledger, people, batch):
    records = [build(i, f) for i, f in enumerate(batch)]
    ledger.submit(records, refs(records), {"from": people["PLATFORM"]})
    states = ledger.statesOf([r[0] for r in records])
    for r, (digest, status, by_shipper, since, paid) in zip(records, states):
        py = Settlement(SettlementId(r[0]), SubjectId(r[1]), SubjectId(r[2]), SubjectId(r[3]), r[4], r[5], r[6], r[7])
        assert bytes(digest) == py.digest
        assert (status, by_shipper, since, paid) == (Status.INVOICED, False, 0, 0)


@given(batch=st.lists(record_fields, min_size=2, max_size=20), bad_at=st.integers(min_value=0, max_value=19))
@settings(max_examples=15, suppress_health_check=FLAKY_CHECKS)
def test_one_bad_record_reverts_the_whole_batch(ledger, people, batch, bad_at):
    records = [build(i, f) for i, f in enumerate(batch)]
    bad_at %= len(records)
    broken = list(records[bad_at])
    broken[4] = 0  # zero amount
    records[bad_at] = tuple(broken)
    with reverts("SettlementLedgerBadAmount"):
        ledger.submit(records, refs(records), {"from": people["PLATFORM"]})
    assert all(s[1] == Status.NONE for s in ledger.statesOf([r[0] for r in records]))


def test_value_bounds_match_the_csv_check(ledger):
    """The CSV check (creditshare.domain.settlements) refuses exactly what the contract refuses."""
    assert ledger.MAX_AMOUNT() == MAX_AMOUNT == 10**12
    assert (ledger.EARLIEST_DATE(), ledger.LATEST_DATE()) == (EARLIEST_DATE, LATEST_DATE)


def test_extreme_valid_values_are_stored(ledger, people):
    r = record(90, amount=MAX_AMOUNT, invoice=EARLIEST_DATE, due_days=0)
    late = list(record(91, amount=1, invoice=LATEST_DATE - DAY, due_days=1))
    ledger.submit([r, tuple(late)], refs([r, late]), {"from": people["PLATFORM"]})
    assert [s[1] for s in ledger.statesOf([r[0], late[0]])] == [Status.INVOICED, Status.INVOICED]


@given(
    amount=st.one_of(st.just(0), st.integers(min_value=MAX_AMOUNT + 1, max_value=2**256 - 1)),
)
@settings(max_examples=10, suppress_health_check=FLAKY_CHECKS)
def test_amount_outside_the_bound_is_refused(ledger, people, amount):
    r = record(92, amount=amount)
    with reverts("SettlementLedgerBadAmount"):
        ledger.submit([r], refs([r]), {"from": people["PLATFORM"]})
    assert ledger.statesOf([r[0]])[0][1] == Status.NONE


@given(
    invoice=st.integers(min_value=EARLIEST_DATE, max_value=LATEST_DATE),
    due=st.one_of(
        st.integers(min_value=0, max_value=2**64 - 1), st.integers(min_value=EARLIEST_DATE, max_value=LATEST_DATE)
    ),
    early=st.integers(min_value=0, max_value=EARLIEST_DATE - 1),
)
@settings(max_examples=15, suppress_health_check=FLAKY_CHECKS)
def test_dates_outside_the_window_are_refused(ledger, people, invoice, due, early):
    r = list(record(93))
    r[5], r[6] = early, invoice  # invoice date before 2000
    with reverts("SettlementLedgerBadDates"):
        ledger.submit([tuple(r)], refs([r]), {"from": people["PLATFORM"]})
    r[5], r[6] = invoice, due
    if due < invoice or due > LATEST_DATE:
        with reverts("SettlementLedgerBadDates"):
            ledger.submit([tuple(r)], refs([r]), {"from": people["PLATFORM"]})
        assert ledger.statesOf([r[0]])[0][1] == Status.NONE
    else:
        ledger.submit([tuple(r)], refs([r]), {"from": people["PLATFORM"]})
        assert ledger.statesOf([r[0]])[0][1] == Status.INVOICED
