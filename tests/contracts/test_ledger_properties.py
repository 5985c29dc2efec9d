"""Property-based tests of batch submission (hypothesis, via brownie's `given`,
which reverts the chain between examples)."""

from __future__ import annotations

from brownie.test import given
from hypothesis import settings
from hypothesis import strategies as st

from creditshare.bindings.settlement_ledger import Settlement, Status
from creditshare.core.ids import SettlementId, SubjectId
from tests.conftest import org
from tests.contracts.helpers import DAY, refs, reverts, settlement_id

record_fields = st.tuples(
    st.integers(min_value=1, max_value=2**96 - 1),  # amount
    st.integers(min_value=1, max_value=2**36),  # invoice date
    st.integers(min_value=0, max_value=400),  # payment term in days
    st.binary(min_size=32, max_size=32).filter(lambda b: any(b)),  # evidence digest
)


def build(index: int, fields) -> tuple:
    amount, invoice, term, evidence = fields
    sid = settlement_id(org("PLATFORM"), (index + 1).to_bytes(32, "big"))
    return (sid, org("SHIPPER"), org("PLATFORM"), org(f"D{index}"), amount, invoice, invoice + term * DAY, evidence)


@given(batch=st.lists(record_fields, min_size=1, max_size=40))
@settings(max_examples=20)
def test_valid_batch_stores_exactly_its_records(ledger, people, batch):
    records = [build(i, f) for i, f in enumerate(batch)]
    ledger.submit(records, refs(records), {"from": people["PLATFORM"]})
    states = ledger.statesOf([r[0] for r in records])
    for r, (digest, status, by_shipper, since, paid) in zip(records, states):
        py = Settlement(SettlementId(r[0]), SubjectId(r[1]), SubjectId(r[2]), SubjectId(r[3]), r[4], r[5], r[6], r[7])
        assert bytes(digest) == py.digest
        assert (status, by_shipper, since, paid) == (Status.INVOICED, False, 0, 0)


@given(batch=st.lists(record_fields, min_size=2, max_size=20), bad_at=st.integers(min_value=0, max_value=19))
@settings(max_examples=15)
def test_one_bad_record_reverts_the_whole_batch(ledger, people, batch, bad_at):
    records = [build(i, f) for i, f in enumerate(batch)]
    bad_at %= len(records)
    broken = list(records[bad_at])
    broken[4] = 0  # zero amount
    records[bad_at] = tuple(broken)
    with reverts("SettlementLedgerBadAmount"):
        ledger.submit(records, refs(records), {"from": people["PLATFORM"]})
    assert all(s[1] == Status.NONE for s in ledger.statesOf([r[0] for r in records]))
