"""SettlementLedger's lifecycle table on chain (`predecessorsOf`, a bitmap: bit i = Status(i)) against its
Python mirror PREDECESSORS, and a property test: from any status reached by a valid path, every
transition the table forbids is refused (pledge: SettlementLedgerBadTransition; a batched call: the record is
skipped with SettlementSkipped) and changes nothing."""

from __future__ import annotations

from collections.abc import Iterable

import brownie
import pytest
from brownie.test import given
from hypothesis import settings
from hypothesis import strategies as st

from creditshare.bindings.settlement_ledger import PREDECESSORS, Status
from tests.contracts.helpers import record, refs, reverts

REASON = b"\x07" * 32
TARGETS = list(PREDECESSORS)  # the statuses a transition can reach (None and Invoiced are not among them)


def bitmap(statuses: Iterable[Status]) -> int:
    return sum(1 << int(s) for s in statuses)


def successors(status: Status) -> list[Status]:
    return [to for to, before in PREDECESSORS.items() if status in before]


def move(ledger, people, committee, r, to: Status):
    """The one call that asks the ledger to move `r` to `to`."""
    if to == Status.CONFIRMED:
        return ledger.confirm([r], {"from": people["SHIPPER"]})
    if to == Status.FINANCED:
        return ledger.pledge(r, people["LENDER"], {"from": people["PLATFORM"]})
    if to == Status.PAYMENT_DECLARED:
        return ledger.pay([r], [0], {"from": people["SHIPPER"]})
    if to == Status.PAID:
        payee = people["LENDER"] if ledger.lenderOf(r[0]) == people["LENDER"] else people["PLATFORM"]
        return ledger.confirmPayment([r], {"from": payee})
    if to == Status.OVERDUE:
        return ledger.markOverdue([r], {"from": people["PLATFORM"]})
    if to == Status.DISPUTED:
        return ledger.dispute([r], REASON, {"from": people["SHIPPER"]})
    assert to in (Status.RESOLVED, Status.DEFAULTED), to
    return ledger.resolve([r], to == Status.DEFAULTED, {"from": committee[0]})


@pytest.mark.parametrize("to", list(Status), ids=[s.name for s in Status])
def test_predecessors_of_each_status_equal_the_python_table(ledger, to):
    assert ledger.predecessorsOf(to) == bitmap(PREDECESSORS.get(to, ()))  # absent: no predecessor, 0


def test_the_table_names_every_status_the_enum_has_and_no_other(ledger):
    assert set(PREDECESSORS) | {Status.NONE, Status.INVOICED} == set(Status)
    with brownie.reverts():  # one past the enum: the ABI decoder refuses it
        ledger.predecessorsOf(len(Status))


@given(walk=st.lists(st.integers(min_value=0, max_value=8), max_size=4), pick=st.integers(min_value=0, max_value=8))
@settings(max_examples=25)
def test_a_transition_the_table_forbids_is_refused(ledger, people, committee, walk, pick):
    r = record(900)
    ledger.submit([r], refs([r]), {"from": people["PLATFORM"]})
    status = Status.INVOICED
    for choice in walk:  # a valid path through the table
        options = successors(status)
        if not options:
            break
        status = options[choice % len(options)]
        move(ledger, people, committee, r, status)
    assert ledger.stateOf(r[0])[1] == status
    forbidden = [to for to in TARGETS if status not in PREDECESSORS[to]]
    to = forbidden[pick % len(forbidden)]
    if to == Status.FINANCED:  # the one single-record call: it reverts
        if ledger.lenderOf(r[0]) != brownie.ZERO_ADDRESS:
            refused = reverts("SettlementLedgerAlreadyFinanced")  # pledged once, that guard answers first
        else:  # SettlementLedgerBadTransition(id, from, to)
            refused = brownie.reverts(revert_pattern=rf"SettlementLedgerBadTransition: .*, {int(status)}, {int(to)}")
        with refused:
            move(ledger, people, committee, r, to)
    else:  # batched calls skip the record and say so (a counterparty cannot revert the batch)
        skipped = move(ledger, people, committee, r, to).events["SettlementSkipped"]
        assert (skipped["current"], skipped["wanted"]) == (status, to)
    assert ledger.stateOf(r[0])[1] == status
