"""SettlementLedger: every lifecycle transition, every invalid one, the double-financing guard."""

from __future__ import annotations

import brownie
import pytest
from brownie import chain
from eth_utils import keccak

from creditshare.core.ids import SettlementId, SubjectId
from creditshare.bindings.consortium import ProposalKind
from creditshare.bindings.settlement_ledger import PREDECESSORS, Settlement, Status
from creditshare.core.roles import ROLE_IDS
from tests.conftest import ZERO32, org
from tests.contracts.helpers import DAY, record, reverts

REASON = keccak(text="short delivery")


def status(ledger, r) -> int:
    return ledger.stateOf(r[0])[1]


def drive(ledger, people, committee, r, target: Status) -> None:
    """Submits `r` (as the platform) and moves it to `target`."""
    platform, shipper = people["PLATFORM"], people["SHIPPER"]
    ledger.submit([r], {"from": platform})
    if target == Status.INVOICED:
        return
    if target == Status.DISPUTED:
        ledger.dispute([r], REASON, {"from": shipper})
        return
    ledger.confirm([r], {"from": shipper})
    if target == Status.FINANCED:
        ledger.pledge(r, people["LENDER"], {"from": platform})
    elif target == Status.PAID:
        ledger.pay([r], [r[5] + DAY], {"from": shipper})
    elif target in (Status.OVERDUE, Status.DEFAULTED):
        ledger.markOverdue([r], {"from": platform})
        if target == Status.DEFAULTED:
            ledger.resolve([r], True, {"from": committee[0]})
    elif target == Status.RESOLVED:
        ledger.dispute([r], REASON, {"from": shipper})
        ledger.resolve([r], False, {"from": committee[0]})


def test_submit_stores_digest_and_emits_full_record(ledger, people):
    r = record(1)
    tx = ledger.submit([r], {"from": people["PLATFORM"]})
    ev = tx.events["SettlementSubmitted"]
    assert ev["id"] == "0x" + r[0].hex() and ev["amount"] == r[4] and ev["evidence"] == "0x" + r[7].hex()
    digest, st, by_shipper, paid = ledger.stateOf(r[0])
    py = Settlement(SettlementId(r[0]), SubjectId(r[1]), SubjectId(r[2]), SubjectId(r[3]), *r[4:7], r[7])
    assert bytes(digest) == py.digest == bytes(ledger.digestOf(r))
    assert (st, by_shipper, paid) == (Status.INVOICED, False, 0)


def test_shipper_submits_and_platform_confirms(ledger, people):
    r = record(2)
    ledger.submit([r], {"from": people["SHIPPER"]})
    assert ledger.stateOf(r[0])[2] is True
    with reverts("SettlementLedgerNotParty"):
        ledger.confirm([r], {"from": people["SHIPPER"]})  # never the submitter
    tx = ledger.confirm([r], {"from": people["PLATFORM"]})
    assert tx.events["SettlementConfirmed"]["by"] == people["PLATFORM"]
    assert status(ledger, r) == Status.CONFIRMED


def test_full_lifecycle_confirm_pledge_pay(ledger, people):
    r = record(3)
    drive(ledger, people, None, r, Status.FINANCED)
    assert ledger.lenderOf(r[0]) == people["LENDER"]
    assert ledger.financedByEvidence(r[7]) == "0x" + r[0].hex()
    tx = ledger.pay([r], [r[5] + 3 * DAY], {"from": people["SHIPPER"]})
    assert tx.events["SettlementPaid"]["paidDate"] == r[5] + 3 * DAY
    assert status(ledger, r) == Status.PAID and ledger.stateOf(r[0])[3] == r[5] + 3 * DAY


@pytest.mark.parametrize("start", [Status.CONFIRMED, Status.FINANCED])
def test_overdue_then_paid_late(ledger, people, committee, start):
    r = record(4)
    drive(ledger, people, committee, r, start)
    tx = ledger.markOverdue([r], {"from": people["PLATFORM"]})
    assert "SettlementOverdue" in tx.events and status(ledger, r) == Status.OVERDUE
    ledger.pay([r], [r[6] + 10 * DAY], {"from": people["SHIPPER"]})
    assert status(ledger, r) == Status.PAID


@pytest.mark.parametrize("start", [Status.INVOICED, Status.CONFIRMED, Status.FINANCED, Status.OVERDUE])
@pytest.mark.parametrize("outcome", [Status.RESOLVED, Status.DEFAULTED])
def test_dispute_then_committee_resolves(ledger, people, committee, start, outcome):
    r = record(5)
    drive(ledger, people, committee, r, start)
    ledger.dispute([r], REASON, {"from": people["PLATFORM"]})
    assert status(ledger, r) == Status.DISPUTED
    tx = ledger.resolve([r], outcome == Status.DEFAULTED, {"from": committee[1]})
    assert tx.events["SettlementResolved"]["outcome"] == outcome
    assert status(ledger, r) == outcome


def test_overdue_can_be_defaulted_without_dispute(ledger, people, committee):
    r = record(6)
    drive(ledger, people, committee, r, Status.DEFAULTED)
    assert status(ledger, r) == Status.DEFAULTED


# every (state, action) pair the lifecycle does not allow
REFUSED = {
    Status.INVOICED: ("pledge", "pay", "markOverdue", "resolve", "default"),
    Status.CONFIRMED: ("confirm", "resolve", "default"),
    Status.FINANCED: ("confirm", "pledge", "resolve", "default"),
    Status.PAID: ("confirm", "pledge", "pay", "markOverdue", "dispute", "resolve", "default"),
    Status.OVERDUE: ("confirm", "pledge", "markOverdue", "resolve"),
    Status.DISPUTED: ("confirm", "pledge", "pay", "markOverdue", "dispute"),
    Status.RESOLVED: ("confirm", "pay", "dispute", "resolve", "default"),
    Status.DEFAULTED: ("confirm", "pay", "dispute", "resolve", "default", "markOverdue"),
}
INVALID = [(start, action) for start, actions in REFUSED.items() for action in actions]
# the status each action moves a settlement to
TARGET = {"confirm": Status.CONFIRMED, "pledge": Status.FINANCED, "pay": Status.PAID, "markOverdue": Status.OVERDUE,
          "dispute": Status.DISPUTED, "resolve": Status.RESOLVED, "default": Status.DEFAULTED}


def act(ledger, people, committee, r, action: str):
    if action == "confirm":
        return ledger.confirm([r], {"from": people["SHIPPER"]})
    if action == "pledge":
        return ledger.pledge(r, people["LENDER"], {"from": people["PLATFORM"]})
    if action == "pay":
        return ledger.pay([r], [r[5] + DAY], {"from": people["SHIPPER"]})
    if action == "markOverdue":
        return ledger.markOverdue([r], {"from": people["PLATFORM"]})
    if action == "dispute":
        return ledger.dispute([r], REASON, {"from": people["SHIPPER"]})
    if action == "resolve":
        return ledger.resolve([r], False, {"from": committee[0]})
    return ledger.resolve([r], True, {"from": committee[0]})


@pytest.mark.parametrize("start,action", INVALID)
def test_invalid_transition_is_refused(ledger, people, committee, start, action):
    r = record(7)
    drive(ledger, people, committee, r, start)
    # a settlement pledged once stays financed: the guard answers first
    pledged = action == "pledge" and start != Status.INVOICED and ledger.lenderOf(r[0]) != brownie.ZERO_ADDRESS
    expected = "SettlementLedgerAlreadyFinanced" if pledged else "SettlementLedgerBadTransition"
    with reverts(expected):
        act(ledger, people, committee, r, action)
    assert status(ledger, r) == start


def test_every_refused_pair_is_one_the_lifecycle_table_forbids():
    for start, action in INVALID:
        assert start not in PREDECESSORS.get(TARGET[action], frozenset()), (start, action)


def test_second_pledge_is_refused_even_after_overdue(ledger, people, committee):
    r = record(8)
    drive(ledger, people, committee, r, Status.FINANCED)
    with reverts("SettlementLedgerAlreadyFinanced"):
        ledger.pledge(r, people["LENDER"], {"from": people["PLATFORM"]})
    ledger.markOverdue([r], {"from": people["PLATFORM"]})
    with reverts("SettlementLedgerAlreadyFinanced"):
        ledger.pledge(r, people["LENDER"], {"from": people["PLATFORM"]})


def test_same_evidence_under_another_id_cannot_be_financed_twice(ledger, people, committee):
    evidence = keccak(text="waybill 42")
    first, second = record(9, evidence=evidence), record(10, evidence=evidence)
    drive(ledger, people, committee, first, Status.FINANCED)
    drive(ledger, people, committee, second, Status.CONFIRMED)
    with reverts("SettlementLedgerEvidenceAlreadyFinanced"):
        ledger.pledge(second, people["LENDER"], {"from": people["PLATFORM"]})
    assert status(ledger, second) == Status.CONFIRMED


@pytest.mark.parametrize("who", ["PLATFORM", "SHIPPER", "ORACLE", "OUTSIDER"])
def test_pledge_to_a_non_lender_is_refused(ledger, people, committee, who):
    r = record(11)
    drive(ledger, people, committee, r, Status.CONFIRMED)
    with reverts("SettlementLedgerNotLender"):
        ledger.pledge(r, people[who], {"from": people["PLATFORM"]})


def test_tampered_record_is_refused(ledger, people, committee):
    r = record(12)
    ledger.submit([r], {"from": people["PLATFORM"]})
    forged = r[:4] + (r[4] * 10,) + r[5:]
    with reverts("SettlementLedgerRecordMismatch"):
        ledger.confirm([forged], {"from": people["SHIPPER"]})


def test_unknown_settlement_is_refused(ledger, people):
    with reverts("SettlementLedgerUnknownSettlement"):
        ledger.confirm([record(13)], {"from": people["SHIPPER"]})


def test_overdue_before_due_date_is_refused(ledger, people):
    now = chain.time()
    r = record(14, invoice=now, due_days=30)
    ledger.submit([r], {"from": people["PLATFORM"]})
    ledger.confirm([r], {"from": people["SHIPPER"]})
    with reverts("SettlementLedgerNotYetDue"):
        ledger.markOverdue([r], {"from": people["PLATFORM"]})


@pytest.mark.parametrize("paid", ["before-invoice", "future"])
def test_bad_paid_date_is_refused(ledger, people, committee, paid):
    r = record(15)
    drive(ledger, people, committee, r, Status.CONFIRMED)
    date = r[5] - 1 if paid == "before-invoice" else chain.time() + 10 * DAY
    with reverts("SettlementLedgerBadPaidDate"):
        ledger.pay([r], [date], {"from": people["SHIPPER"]})


def test_pay_needs_one_date_per_record(ledger, people, committee):
    r = record(16)
    drive(ledger, people, committee, r, Status.CONFIRMED)
    with reverts("SettlementLedgerLengthMismatch"):
        ledger.pay([r], [], {"from": people["SHIPPER"]})


@pytest.mark.parametrize("fn", ["submit", "confirm", "pay", "markOverdue", "dispute", "resolve"])
def test_empty_batch_is_refused(ledger, people, committee, fn):
    sender = {"from": committee[0] if fn == "resolve" else people["PLATFORM"]}
    args = {"submit": ([],), "confirm": ([],), "pay": ([], []), "markOverdue": ([],), "dispute": ([], REASON),
            "resolve": ([], False)}[fn]
    with reverts("SettlementLedgerEmptyBatch"):
        getattr(ledger, fn)(*args, sender)


@pytest.mark.parametrize("field,value,error", [
    ("id", ZERO32, "SettlementLedgerZeroId"),
    ("amount", 0, "SettlementLedgerBadAmount"),
    ("amount", 2**96, "SettlementLedgerBadAmount"),
    ("invoice", 0, "SettlementLedgerBadDates"),
    ("due", -1, "SettlementLedgerBadDates"),
    ("evidence", ZERO32, "SettlementLedgerMissingEvidence"),
    ("carrier", ZERO32, "SettlementLedgerMissingSubject"),
])
def test_invalid_record_is_refused(ledger, people, field, value, error):
    r = list(record(17))
    if field == "id":
        r[0] = value
    elif field == "amount":
        r[4] = value
    elif field == "invoice":
        r[5] = value
    elif field == "due":
        r[6] = r[5] - DAY
    elif field == "evidence":
        r[7] = value
    else:
        r[3] = value
    with reverts(error):
        ledger.submit([tuple(r)], {"from": people["PLATFORM"]})


def test_duplicate_id_reverts_the_whole_batch(ledger, people):
    a, b = record(18), record(19)
    ledger.submit([a], {"from": people["PLATFORM"]})
    with reverts("SettlementLedgerAlreadyExists"):
        ledger.submit([b, a], {"from": people["PLATFORM"]})
    assert status(ledger, b) == Status.NONE
    with reverts("SettlementLedgerAlreadyExists"):
        ledger.submit([b, b], {"from": people["PLATFORM"]})


def test_platform_cannot_submit_for_another_platform(ledger, consortium, committee, people, accounts):
    other = accounts.add()
    tx = consortium.propose(ProposalKind.ADMIT, other, org("OTHERPLAT"), [ROLE_IDS["PLATFORM"]], ZERO32, 0,
                            {"from": committee[0]})
    consortium.approve(tx.return_value, {"from": committee[1]})
    with reverts("SettlementLedgerNotParty"):
        ledger.submit([record(20)], {"from": other, "gas_price": 0})


def test_suspended_platform_is_refused(ledger, consortium, committee, people):
    r = record(21)
    ledger.submit([r], {"from": people["PLATFORM"]})
    tx = consortium.propose(ProposalKind.SUSPEND, people["PLATFORM"], ZERO32, [], ZERO32, 0, {"from": committee[0]})
    consortium.approve(tx.return_value, {"from": committee[1]})
    with reverts("SettlementLedgerNotActiveMember"):
        ledger.submit([record(22)], {"from": people["PLATFORM"]})
    with reverts("SettlementLedgerNotActiveMember"):
        ledger.dispute([r], REASON, {"from": people["PLATFORM"]})


def test_batch_of_400_costs_under_40k_gas_per_settlement(ledger, people):
    records = [record(1000 + i) for i in range(400)]
    tx = ledger.submit(records, {"from": people["PLATFORM"]})
    assert tx.gas_used / 400 < 40_000
