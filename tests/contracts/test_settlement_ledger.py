"""SettlementLedger: every lifecycle transition, every invalid one, the double-financing guard."""

from __future__ import annotations

import brownie
import pytest
from brownie import chain
from eth_utils import keccak

from creditshare.core.ids import SettlementId, SubjectId
from creditshare.bindings.settlement_ledger import Settlement
from tests.conftest import ADMIT, ROLE, SUSPEND, ZERO32, org
from tests.contracts.helpers import DAY, record, reverts

INVOICED, CONFIRMED, FINANCED, PAID, OVERDUE, DISPUTED, RESOLVED, DEFAULTED = range(1, 9)
REASON = keccak(text="short delivery")


def status(ledger, r) -> int:
    return ledger.stateOf(r[0])[1]


def drive(ledger, people, committee, r, target: int) -> None:
    """Submits `r` (as the platform) and moves it to `target`."""
    platform, shipper = people["PLATFORM"], people["SHIPPER"]
    ledger.submit([r], {"from": platform})
    if target == INVOICED:
        return
    if target == DISPUTED:
        ledger.dispute([r], REASON, {"from": shipper})
        return
    ledger.confirm([r], {"from": shipper})
    if target == FINANCED:
        ledger.pledge(r, people["LENDER"], {"from": platform})
    elif target == PAID:
        ledger.pay([r], [r[5] + DAY], {"from": shipper})
    elif target in (OVERDUE, DEFAULTED):
        ledger.markOverdue([r], {"from": platform})
        if target == DEFAULTED:
            ledger.resolve([r], True, {"from": committee[0]})
    elif target == RESOLVED:
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
    assert (st, by_shipper, paid) == (INVOICED, False, 0)


def test_shipper_submits_and_platform_confirms(ledger, people):
    r = record(2)
    ledger.submit([r], {"from": people["SHIPPER"]})
    assert ledger.stateOf(r[0])[2] is True
    with reverts("SettlementLedgerNotParty"):
        ledger.confirm([r], {"from": people["SHIPPER"]})  # never the submitter
    tx = ledger.confirm([r], {"from": people["PLATFORM"]})
    assert tx.events["SettlementConfirmed"]["by"] == people["PLATFORM"]
    assert status(ledger, r) == CONFIRMED


def test_full_lifecycle_confirm_pledge_pay(ledger, people):
    r = record(3)
    drive(ledger, people, None, r, FINANCED)
    assert ledger.lenderOf(r[0]) == people["LENDER"]
    assert ledger.financedByEvidence(r[7]) == "0x" + r[0].hex()
    tx = ledger.pay([r], [r[5] + 3 * DAY], {"from": people["SHIPPER"]})
    assert tx.events["SettlementPaid"]["paidDate"] == r[5] + 3 * DAY
    assert status(ledger, r) == PAID and ledger.stateOf(r[0])[3] == r[5] + 3 * DAY


@pytest.mark.parametrize("start", [CONFIRMED, FINANCED])
def test_overdue_then_paid_late(ledger, people, committee, start):
    r = record(4)
    drive(ledger, people, committee, r, start)
    tx = ledger.markOverdue([r], {"from": people["PLATFORM"]})
    assert "SettlementOverdue" in tx.events and status(ledger, r) == OVERDUE
    ledger.pay([r], [r[6] + 10 * DAY], {"from": people["SHIPPER"]})
    assert status(ledger, r) == PAID


@pytest.mark.parametrize("start", [INVOICED, CONFIRMED, FINANCED, OVERDUE])
@pytest.mark.parametrize("outcome", [RESOLVED, DEFAULTED])
def test_dispute_then_committee_resolves(ledger, people, committee, start, outcome):
    r = record(5)
    drive(ledger, people, committee, r, start)
    ledger.dispute([r], REASON, {"from": people["PLATFORM"]})
    assert status(ledger, r) == DISPUTED
    tx = ledger.resolve([r], outcome == DEFAULTED, {"from": committee[1]})
    assert tx.events["SettlementResolved"]["outcome"] == outcome
    assert status(ledger, r) == outcome


def test_overdue_can_be_defaulted_without_dispute(ledger, people, committee):
    r = record(6)
    drive(ledger, people, committee, r, DEFAULTED)
    assert status(ledger, r) == DEFAULTED


# every (state, action) pair the lifecycle does not allow
INVALID = [
    (INVOICED, "pledge"), (INVOICED, "pay"), (INVOICED, "markOverdue"), (INVOICED, "resolve"),
    (INVOICED, "default"),
    (CONFIRMED, "confirm"), (CONFIRMED, "resolve"), (CONFIRMED, "default"),
    (FINANCED, "confirm"), (FINANCED, "pledge"), (FINANCED, "resolve"), (FINANCED, "default"),
    (PAID, "confirm"), (PAID, "pledge"), (PAID, "pay"), (PAID, "markOverdue"), (PAID, "dispute"), (PAID, "resolve"),
    (PAID, "default"),
    (OVERDUE, "confirm"), (OVERDUE, "pledge"), (OVERDUE, "markOverdue"), (OVERDUE, "resolve"),
    (DISPUTED, "confirm"), (DISPUTED, "pledge"), (DISPUTED, "pay"), (DISPUTED, "markOverdue"),
    (DISPUTED, "dispute"),
    (RESOLVED, "confirm"), (RESOLVED, "pay"), (RESOLVED, "dispute"), (RESOLVED, "resolve"), (RESOLVED, "default"),
    (DEFAULTED, "confirm"), (DEFAULTED, "pay"), (DEFAULTED, "dispute"), (DEFAULTED, "resolve"),
    (DEFAULTED, "default"), (DEFAULTED, "markOverdue"),
]


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
    expected = "SettlementLedgerAlreadyFinanced" if (action == "pledge" and start != INVOICED and ledger.lenderOf(r[0])
                                                     != brownie.ZERO_ADDRESS) else "SettlementLedgerBadTransition"
    with reverts(expected):
        act(ledger, people, committee, r, action)
    assert status(ledger, r) == start


def test_second_pledge_is_refused_even_after_overdue(ledger, people, committee):
    r = record(8)
    drive(ledger, people, committee, r, FINANCED)
    with reverts("SettlementLedgerAlreadyFinanced"):
        ledger.pledge(r, people["LENDER"], {"from": people["PLATFORM"]})
    ledger.markOverdue([r], {"from": people["PLATFORM"]})
    with reverts("SettlementLedgerAlreadyFinanced"):
        ledger.pledge(r, people["LENDER"], {"from": people["PLATFORM"]})


def test_same_evidence_under_another_id_cannot_be_financed_twice(ledger, people, committee):
    evidence = keccak(text="waybill 42")
    first, second = record(9, evidence=evidence), record(10, evidence=evidence)
    drive(ledger, people, committee, first, FINANCED)
    drive(ledger, people, committee, second, CONFIRMED)
    with reverts("SettlementLedgerEvidenceAlreadyFinanced"):
        ledger.pledge(second, people["LENDER"], {"from": people["PLATFORM"]})
    assert status(ledger, second) == CONFIRMED


@pytest.mark.parametrize("who", ["PLATFORM", "SHIPPER", "ORACLE", "OUTSIDER"])
def test_pledge_to_a_non_lender_is_refused(ledger, people, committee, who):
    r = record(11)
    drive(ledger, people, committee, r, CONFIRMED)
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
    drive(ledger, people, committee, r, CONFIRMED)
    date = r[5] - 1 if paid == "before-invoice" else chain.time() + 10 * DAY
    with reverts("SettlementLedgerBadPaidDate"):
        ledger.pay([r], [date], {"from": people["SHIPPER"]})


def test_pay_needs_one_date_per_record(ledger, people, committee):
    r = record(16)
    drive(ledger, people, committee, r, CONFIRMED)
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
    assert status(ledger, b) == 0
    with reverts("SettlementLedgerAlreadyExists"):
        ledger.submit([b, b], {"from": people["PLATFORM"]})


def test_platform_cannot_submit_for_another_platform(ledger, consortium, committee, people, accounts):
    other = accounts.add()
    tx = consortium.propose(ADMIT, other, org("OTHERPLAT"), [ROLE["PLATFORM"]], ZERO32, 0, {"from": committee[0]})
    consortium.approve(tx.return_value, {"from": committee[1]})
    with reverts("SettlementLedgerNotParty"):
        ledger.submit([record(20)], {"from": other, "gas_price": 0})


def test_suspended_platform_is_refused(ledger, consortium, committee, people):
    r = record(21)
    ledger.submit([r], {"from": people["PLATFORM"]})
    tx = consortium.propose(SUSPEND, people["PLATFORM"], ZERO32, [], ZERO32, 0, {"from": committee[0]})
    consortium.approve(tx.return_value, {"from": committee[1]})
    with reverts("SettlementLedgerNotActiveMember"):
        ledger.submit([record(22)], {"from": people["PLATFORM"]})
    with reverts("SettlementLedgerNotActiveMember"):
        ledger.dispute([r], REASON, {"from": people["PLATFORM"]})


def test_batch_of_400_costs_under_40k_gas_per_settlement(ledger, people):
    records = [record(1000 + i) for i in range(400)]
    tx = ledger.submit(records, {"from": people["PLATFORM"]})
    assert tx.gas_used / 400 < 40_000
