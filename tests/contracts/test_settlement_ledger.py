"""SettlementLedger: every lifecycle transition, every invalid one, payment finality, the double-financing
guards (id, evidence, fingerprint), distinct parties, derived ids and batches a counterparty cannot block."""

from __future__ import annotations

import brownie
import pytest
from brownie import chain
from eth_utils import keccak

from creditshare.bindings.consortium import ProposalKind
from creditshare.bindings.settlement_ledger import PREDECESSORS, Settlement, Status
from creditshare.core.ids import SettlementId, SubjectId, settlement_id, subject_id
from creditshare.core.roles import ROLE_IDS
from tests.conftest import ZERO32, admit, org
from tests.contracts.helpers import DAY, record, refs, reverts

REASON = keccak(text="short delivery")


def status(ledger, r) -> int:
    return ledger.stateOf(r[0])[1]


def submit(ledger, records, sender):
    return ledger.submit(records, refs(records), {"from": sender})


def drive(ledger, people, committee, r, target: Status) -> None:
    """Submits `r` (as the platform) and moves it to `target`."""
    platform, shipper = people["PLATFORM"], people["SHIPPER"]
    submit(ledger, [r], platform)
    if target == Status.INVOICED:
        return
    if target == Status.DISPUTED:
        ledger.dispute([r], REASON, {"from": shipper})
        return
    ledger.confirm([r], {"from": shipper})
    if target == Status.FINANCED:
        ledger.pledge(r, people["LENDER"], {"from": platform})
    elif target in (Status.PAYMENT_DECLARED, Status.PAID):
        ledger.pay([r], [0], {"from": shipper})
        if target == Status.PAID:
            ledger.confirmPayment([r], {"from": platform})
    elif target in (Status.OVERDUE, Status.DEFAULTED):
        ledger.markOverdue([r], {"from": platform})
        if target == Status.DEFAULTED:
            ledger.resolve([r], True, {"from": committee[0]})
    elif target == Status.RESOLVED:
        ledger.dispute([r], REASON, {"from": shipper})
        ledger.resolve([r], False, {"from": committee[0]})


def test_submit_stores_digest_and_emits_full_record(ledger, people):
    r = record(1)
    tx = submit(ledger, [r], people["PLATFORM"])
    ev = tx.events["SettlementSubmitted"]
    assert ev["id"] == "0x" + r[0].hex() and ev["amount"] == r[4] and ev["evidence"] == "0x" + r[7].hex()
    digest, st, by_shipper, since, paid = ledger.stateOf(r[0])
    py = Settlement(SettlementId(r[0]), SubjectId(r[1]), SubjectId(r[2]), SubjectId(r[3]), *r[4:7], r[7])
    assert bytes(digest) == py.digest == bytes(ledger.digestOf(r)) and len(py.digest) == 20
    assert (st, by_shipper, since, paid) == (Status.INVOICED, False, 0, 0)


def test_shipper_submits_and_platform_confirms(ledger, people):
    r = record(2)
    submit(ledger, [r], people["SHIPPER"])
    assert ledger.stateOf(r[0])[2] is True
    with reverts("SettlementLedgerNotParty"):
        ledger.confirm([r], {"from": people["SHIPPER"]})  # never the submitter
    tx = ledger.confirm([r], {"from": people["PLATFORM"]})
    assert tx.events["SettlementConfirmed"]["by"] == people["PLATFORM"]
    assert status(ledger, r) == Status.CONFIRMED and ledger.stateOf(r[0])[3] == tx.timestamp


def test_full_lifecycle_confirm_pledge_pay(ledger, people):
    r = record(3)
    drive(ledger, people, None, r, Status.FINANCED)
    assert ledger.lenderOf(r[0]) == people["LENDER"]
    assert ledger.financedByEvidence(r[7]) == "0x" + r[0].hex()
    assert ledger.financedByFingerprint(ledger.fingerprintOf(r)) == "0x" + r[0].hex()
    declared = ledger.pay([r], [0], {"from": people["SHIPPER"]})
    assert declared.events["SettlementPaymentDeclared"]["paidDate"] == declared.timestamp
    assert status(ledger, r) == Status.PAYMENT_DECLARED
    tx = ledger.confirmPayment([r], {"from": people["LENDER"]})  # financed: the lender is the payee
    assert tx.events["SettlementPaid"]["paidDate"] == declared.timestamp
    assert status(ledger, r) == Status.PAID and ledger.stateOf(r[0])[4] == declared.timestamp
    assert int(ledger.financedByFingerprint(ledger.fingerprintOf(r)).hex(), 16) == 0  # no longer live


@pytest.mark.parametrize("start", [Status.CONFIRMED, Status.FINANCED])
def test_overdue_then_paid_late(ledger, people, committee, start):
    r = record(4)
    drive(ledger, people, committee, r, start)
    tx = ledger.markOverdue([r], {"from": people["PLATFORM"]})
    assert "SettlementOverdue" in tx.events and status(ledger, r) == Status.OVERDUE
    ledger.pay([r], [0], {"from": people["SHIPPER"]})
    payee = people["LENDER"] if start == Status.FINANCED else people["PLATFORM"]
    ledger.confirmPayment([r], {"from": payee})
    assert status(ledger, r) == Status.PAID


@pytest.mark.parametrize(
    "start", [Status.INVOICED, Status.CONFIRMED, Status.FINANCED, Status.OVERDUE, Status.PAYMENT_DECLARED]
)
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
    Status.INVOICED: ("pledge", "pay", "confirmPayment", "markOverdue", "resolve", "default"),
    Status.CONFIRMED: ("confirm", "confirmPayment", "resolve", "default"),
    Status.FINANCED: ("confirm", "pledge", "confirmPayment", "resolve", "default"),
    Status.PAYMENT_DECLARED: ("confirm", "pledge", "pay", "markOverdue", "resolve", "default"),
    Status.PAID: ("confirm", "pledge", "pay", "confirmPayment", "markOverdue", "dispute", "resolve", "default"),
    Status.OVERDUE: ("confirm", "pledge", "confirmPayment", "markOverdue", "resolve"),
    Status.DISPUTED: ("confirm", "pledge", "pay", "confirmPayment", "markOverdue", "dispute"),
    Status.RESOLVED: ("confirm", "pay", "confirmPayment", "dispute", "resolve", "default"),
    Status.DEFAULTED: ("confirm", "pay", "confirmPayment", "dispute", "resolve", "default", "markOverdue"),
}
INVALID = [(start, action) for start, actions in REFUSED.items() for action in actions]
# the status each action moves a settlement to
TARGET = {
    "confirm": Status.CONFIRMED,
    "pledge": Status.FINANCED,
    "pay": Status.PAYMENT_DECLARED,
    "confirmPayment": Status.PAID,
    "markOverdue": Status.OVERDUE,
    "dispute": Status.DISPUTED,
    "resolve": Status.RESOLVED,
    "default": Status.DEFAULTED,
}


def act(ledger, people, committee, r, action: str):
    if action == "confirm":
        return ledger.confirm([r], {"from": people["SHIPPER"]})
    if action == "pledge":
        return ledger.pledge(r, people["LENDER"], {"from": people["PLATFORM"]})
    if action == "pay":
        return ledger.pay([r], [0], {"from": people["SHIPPER"]})
    if action == "confirmPayment":
        payee = people["LENDER"] if ledger.lenderOf(r[0]) == people["LENDER"] else people["PLATFORM"]
        return ledger.confirmPayment([r], {"from": payee})
    if action == "markOverdue":
        return ledger.markOverdue([r], {"from": people["PLATFORM"]})
    if action == "dispute":
        return ledger.dispute([r], REASON, {"from": people["SHIPPER"]})
    if action == "resolve":
        return ledger.resolve([r], False, {"from": committee[0]})
    return ledger.resolve([r], True, {"from": committee[0]})


@pytest.mark.parametrize("start,action", INVALID)
def test_invalid_transition_is_refused(ledger, people, committee, start, action):
    """A pledge reverts; a batched call skips the record (SettlementSkipped) and changes nothing."""
    r = record(7)
    drive(ledger, people, committee, r, start)
    if action == "pledge":
        # a settlement pledged once stays financed: the guard answers first
        pledged = ledger.lenderOf(r[0]) != brownie.ZERO_ADDRESS
        with reverts("SettlementLedgerAlreadyFinanced" if pledged else "SettlementLedgerBadTransition"):
            act(ledger, people, committee, r, action)
    else:
        tx = act(ledger, people, committee, r, action)
        skipped = tx.events["SettlementSkipped"]
        assert (skipped["id"], skipped["current"], skipped["wanted"]) == ("0x" + r[0].hex(), start, TARGET[action])
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
    submit(ledger, [r], people["PLATFORM"])
    forged = r[:4] + (r[4] * 10,) + r[5:]
    with reverts("SettlementLedgerRecordMismatch"):
        ledger.confirm([forged], {"from": people["SHIPPER"]})


def test_unknown_settlement_is_refused(ledger, people):
    with reverts("SettlementLedgerUnknownSettlement"):
        ledger.confirm([record(13)], {"from": people["SHIPPER"]})


def test_overdue_before_due_date_is_refused(ledger, people):
    now = chain.time()
    r = record(14, invoice=now, due_days=30)
    submit(ledger, [r], people["PLATFORM"])
    ledger.confirm([r], {"from": people["SHIPPER"]})
    with reverts("SettlementLedgerNotYetDue"):
        ledger.markOverdue([r], {"from": people["PLATFORM"]})


@pytest.mark.parametrize("paid", ["before-invoice", "before-confirmation", "future"])
def test_bad_paid_date_is_refused(ledger, people, committee, paid):
    """The payer cannot backdate: the paid date lies between the confirmation of the invoice and now."""
    r = record(15)
    drive(ledger, people, committee, r, Status.CONFIRMED)
    confirmed = ledger.stateOf(r[0])[3]
    chain.sleep(3 * DAY)
    date = {"before-invoice": r[5] - 1, "before-confirmation": confirmed - 1, "future": chain.time() + 10 * DAY}[paid]
    with reverts("SettlementLedgerBadPaidDate"):
        ledger.pay([r], [date], {"from": people["SHIPPER"]})
    tx = ledger.pay([r], [confirmed + DAY], {"from": people["SHIPPER"]})  # within the bounds: accepted
    assert tx.events["SettlementPaymentDeclared"]["paidDate"] == confirmed + DAY


def test_pay_needs_one_date_per_record(ledger, people, committee):
    r = record(16)
    drive(ledger, people, committee, r, Status.CONFIRMED)
    with reverts("SettlementLedgerLengthMismatch"):
        ledger.pay([r], [], {"from": people["SHIPPER"]})


@pytest.mark.parametrize(
    "fn", ["submit", "confirm", "pay", "confirmPayment", "finalizePayment", "markOverdue", "dispute", "resolve"]
)
def test_empty_batch_is_refused(ledger, people, committee, fn):
    sender = {"from": committee[0] if fn == "resolve" else people["PLATFORM"]}
    args = {
        "submit": ([], []),
        "confirm": ([],),
        "pay": ([], []),
        "confirmPayment": ([],),
        "finalizePayment": ([],),
        "markOverdue": ([],),
        "dispute": ([], REASON),
        "resolve": ([], False),
    }[fn]
    with reverts("SettlementLedgerEmptyBatch"):
        getattr(ledger, fn)(*args, sender)


@pytest.mark.parametrize(
    "field,value,error",
    [
        ("id", ZERO32, "SettlementLedgerZeroId"),
        ("amount", 0, "SettlementLedgerBadAmount"),
        ("amount", 2**96, "SettlementLedgerBadAmount"),
        ("invoice", 0, "SettlementLedgerBadDates"),
        ("due", -1, "SettlementLedgerBadDates"),
        ("evidence", ZERO32, "SettlementLedgerMissingEvidence"),
        ("carrier", ZERO32, "SettlementLedgerMissingSubject"),
        ("carrier", org("SHIPPER"), "SettlementLedgerSameParty"),
        ("carrier", org("PLATFORM"), "SettlementLedgerSameParty"),
        ("shipper", org("PLATFORM"), "SettlementLedgerSameParty"),
    ],
)
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
    elif field == "shipper":
        r[1] = value
    else:
        r[3] = value
    with reverts(error):
        ledger.submit([tuple(r)], [(17).to_bytes(32, "big")], {"from": people["PLATFORM"]})


def test_duplicate_id_is_skipped_not_fatal(ledger, people):
    a, b = record(18), record(19)
    submit(ledger, [a], people["PLATFORM"])
    tx = submit(ledger, [b, a], people["PLATFORM"])
    assert [e["id"] for e in tx.events["SettlementSkipped"]] == ["0x" + a[0].hex()]
    assert status(ledger, b) == Status.INVOICED
    c = record(20)
    tx = submit(ledger, [c, c], people["PLATFORM"])
    assert len(tx.events["SettlementSubmitted"]) == 1 and len(tx.events["SettlementSkipped"]) == 1


def test_platform_cannot_submit_for_another_platform(ledger, consortium, committee, people, accounts):
    other = accounts.add()
    tx = consortium.propose(
        ProposalKind.ADMIT, other, org("OTHERPLAT"), [ROLE_IDS["PLATFORM"]], ZERO32, 0, {"from": committee[0]}
    )
    consortium.approve(tx.return_value, {"from": committee[1]})
    with reverts("SettlementLedgerNotParty"):
        ledger.submit([record(20)], refs([record(20)]), {"from": other, "gas_price": 0})


def test_suspended_platform_is_refused(ledger, consortium, committee, people):
    r = record(21)
    submit(ledger, [r], people["PLATFORM"])
    tx = consortium.propose(ProposalKind.SUSPEND, people["PLATFORM"], ZERO32, [], ZERO32, 0, {"from": committee[0]})
    consortium.approve(tx.return_value, {"from": committee[1]})
    with reverts("SettlementLedgerNotActiveMember"):
        submit(ledger, [record(22)], people["PLATFORM"])
    with reverts("SettlementLedgerNotActiveMember"):
        ledger.dispute([r], REASON, {"from": people["PLATFORM"]})


def test_batch_of_400_costs_at_most_33k_gas_per_settlement(ledger, people):
    records = [record(1000 + i) for i in range(400)]
    tx = submit(ledger, records, people["PLATFORM"])
    assert tx.gas_used / 400 <= 33_000


# -- finding 1: the payer never makes its own payment final -------------------------------------------------


def test_shipper_cannot_make_its_own_payment_final(ledger, people, committee):
    r = record(30)
    drive(ledger, people, committee, r, Status.PAYMENT_DECLARED)
    with reverts("SettlementLedgerNotPayee"):
        ledger.confirmPayment([r], {"from": people["SHIPPER"]})
    with reverts("SettlementLedgerDisputeWindowOpen"):
        ledger.finalizePayment([r], {"from": people["SHIPPER"]})
    assert status(ledger, r) == Status.PAYMENT_DECLARED


@pytest.mark.parametrize("who", ["SHIPPER", "PLATFORM", "ORACLE", "CARRIER"])
def test_only_the_lender_confirms_payment_of_a_financed_settlement(ledger, people, committee, who):
    r = record(31)
    drive(ledger, people, committee, r, Status.FINANCED)
    ledger.pay([r], [0], {"from": people["SHIPPER"]})
    with reverts("SettlementLedgerNotPayee"):
        ledger.confirmPayment([r], {"from": people[who]})
    ledger.confirmPayment([r], {"from": people["LENDER"]})
    assert status(ledger, r) == Status.PAID


def test_payee_disputes_a_declared_payment_and_it_never_becomes_final(ledger, people, committee):
    r = record(32)
    drive(ledger, people, committee, r, Status.PAYMENT_DECLARED)
    ledger.dispute([r], REASON, {"from": people["PLATFORM"]})
    chain.sleep(ledger.disputeWindow() + 1)
    tx = ledger.finalizePayment([r], {"from": people["OUTSIDER"]})
    assert tx.events["SettlementSkipped"]["current"] == Status.DISPUTED
    assert status(ledger, r) == Status.DISPUTED


def test_lender_may_dispute_a_declared_payment_of_its_receivable(ledger, people, committee):
    r = record(33)
    drive(ledger, people, committee, r, Status.FINANCED)
    ledger.pay([r], [0], {"from": people["SHIPPER"]})
    ledger.dispute([r], REASON, {"from": people["LENDER"]})
    assert status(ledger, r) == Status.DISPUTED


def test_undisputed_payment_is_final_after_the_dispute_window(ledger, people, committee):
    r = record(34)
    drive(ledger, people, committee, r, Status.PAYMENT_DECLARED)
    declared = ledger.stateOf(r[0])[3]
    assert ledger.disputeWindow() == 7 * DAY  # unset: the default
    chain.sleep(7 * DAY - 60)
    chain.mine()
    with reverts("SettlementLedgerDisputeWindowOpen"):
        ledger.finalizePayment([r], {"from": people["OUTSIDER"]})
    chain.sleep(120)
    tx = ledger.finalizePayment([r], {"from": people["OUTSIDER"]})  # anyone may, once the window has passed
    assert tx.events["SettlementPaid"]["paidDate"] == declared
    assert status(ledger, r) == Status.PAID


@pytest.mark.parametrize("value", [DAY, 10 * DAY, 90 * DAY])
def test_dispute_window_is_governed(ledger, consortium, committee, value):
    tx = consortium.propose(
        ProposalKind.SET_PARAMETER,
        brownie.ZERO_ADDRESS,
        ZERO32,
        [],
        ledger.DISPUTE_WINDOW(),
        value,
        {"from": committee[0]},
    )
    consortium.approve(tx.return_value, {"from": committee[1]})
    assert ledger.disputeWindow() == value


@pytest.mark.parametrize("value", [60, DAY - 1, 90 * DAY + 1, 10**12])
def test_dispute_window_out_of_bounds_is_refused_by_governance(ledger, consortium, committee, value):
    with reverts("ConsortiumParameterOutOfBounds"):
        consortium.propose(
            ProposalKind.SET_PARAMETER,
            brownie.ZERO_ADDRESS,
            ZERO32,
            [],
            ledger.DISPUTE_WINDOW(),
            value,
            {"from": committee[0]},
        )


def test_final_payment_keeps_the_declared_date_not_the_confirmation_date(ledger, people, committee):
    r = record(35)
    drive(ledger, people, committee, r, Status.PAYMENT_DECLARED)
    paid = ledger.stateOf(r[0])[4]
    chain.sleep(5 * DAY)
    ledger.confirmPayment([r], {"from": people["PLATFORM"]})
    assert ledger.stateOf(r[0])[4] == paid


@pytest.mark.parametrize("start", [Status.CONFIRMED, Status.FINANCED])
def test_payer_cannot_date_an_overdue_payment_before_the_overdue_marking(ledger, people, committee, start):
    """The exploit: the platform marks the invoice Overdue (unpaid after its due date); the shipper then
    declares it paid on a date before the due date (between the confirmation and the marking), which read as
    on time. The marking is now the earliest paid date."""
    r = record(36)
    drive(ledger, people, committee, r, start)
    confirmed = ledger.stateOf(r[0])[3]
    chain.sleep(max(r[6] - chain.time(), 0) + 2 * DAY)  # past the due date, two days after the confirmation
    tx = ledger.markOverdue([r], {"from": people["PLATFORM"]})
    marked = tx.timestamp
    assert ledger.stateOf(r[0])[3] == marked
    chain.sleep(DAY)
    for date in (confirmed, confirmed + DAY, marked - 1):
        with reverts("SettlementLedgerBadPaidDate"):
            ledger.pay([r], [date], {"from": people["SHIPPER"]})
    assert status(ledger, r) == Status.OVERDUE
    tx = ledger.pay([r], [marked], {"from": people["SHIPPER"]})  # at or after the marking: accepted
    assert tx.events["SettlementPaymentDeclared"]["paidDate"] == marked and marked > r[6]


def test_a_payment_final_by_the_window_alone_is_dated_at_its_declaration(ledger, people, committee):
    """The payer's declared date stands only if the payee confirms it: unconfirmed, the window makes the payment
    final at the declaration's block time, not at a date the payer chose."""
    r = record(37)
    drive(ledger, people, committee, r, Status.CONFIRMED)
    confirmed = ledger.stateOf(r[0])[3]
    chain.sleep(20 * DAY)
    declared = ledger.pay([r], [confirmed + 1], {"from": people["SHIPPER"]})
    assert declared.events["SettlementPaymentDeclared"]["paidDate"] == confirmed + 1
    chain.sleep(ledger.disputeWindow() + 1)
    tx = ledger.finalizePayment([r], {"from": people["OUTSIDER"]})
    assert tx.events["SettlementPaid"]["paidDate"] == declared.timestamp
    assert status(ledger, r) == Status.PAID and ledger.stateOf(r[0])[4] == declared.timestamp


def test_a_payee_confirmation_keeps_the_declared_date(ledger, people, committee):
    r = record(38)
    drive(ledger, people, committee, r, Status.CONFIRMED)
    confirmed = ledger.stateOf(r[0])[3]
    chain.sleep(20 * DAY)
    ledger.pay([r], [confirmed + 1], {"from": people["SHIPPER"]})
    tx = ledger.confirmPayment([r], {"from": people["PLATFORM"]})
    assert tx.events["SettlementPaid"]["paidDate"] == confirmed + 1


# -- batches a counterparty cannot block -------------------------------------------------------------------


def test_shipper_front_running_the_committee_default_batch_is_skipped(ledger, people, committee):
    a, b = record(40), record(41)
    for r in (a, b):
        drive(ledger, people, committee, r, Status.OVERDUE)
    ledger.pay([a], [0], {"from": people["SHIPPER"]})  # lands first
    tx = ledger.resolve([a, b], True, {"from": committee[0]})
    assert tx.events["SettlementSkipped"]["id"] == "0x" + a[0].hex()
    assert (status(ledger, a), status(ledger, b)) == (Status.PAYMENT_DECLARED, Status.DEFAULTED)


def test_shipper_dispute_front_running_mark_overdue_is_skipped(ledger, people, committee):
    a, b = record(42), record(43)
    for r in (a, b):
        drive(ledger, people, committee, r, Status.CONFIRMED)
    ledger.dispute([a], REASON, {"from": people["SHIPPER"]})
    tx = ledger.markOverdue([a, b], {"from": people["PLATFORM"]})
    assert len(tx.events["SettlementSkipped"]) == 1
    assert (status(ledger, a), status(ledger, b)) == (Status.DISPUTED, Status.OVERDUE)


def test_payment_declared_before_a_confirm_payment_batch_of_other_records_is_not_blocking(ledger, people, committee):
    a, b = record(44), record(45)
    drive(ledger, people, committee, a, Status.PAYMENT_DECLARED)
    drive(ledger, people, committee, b, Status.PAYMENT_DECLARED)
    ledger.dispute([b], REASON, {"from": people["SHIPPER"]})
    tx = ledger.confirmPayment([a, b], {"from": people["PLATFORM"]})
    assert "SettlementPaid" in tx.events and "SettlementSkipped" in tx.events
    assert (status(ledger, a), status(ledger, b)) == (Status.PAID, Status.DISPUTED)


# -- finding 2: one member on both sides ---------------------------------------------------------------------


def test_member_holding_shipper_and_platform_cannot_confirm_its_own_receivable(ledger, consortium, committee, accounts):
    both = accounts.add()
    admit(consortium, committee, both, "BOTHSIDES", ["SHIPPER", "PLATFORM"])
    r = record(50, shipper="BOTHSIDES", platform="BOTHSIDES")
    with reverts("SettlementLedgerSameParty"):
        ledger.submit([r], refs([r]), {"from": both, "gas_price": 0})
    assert status(ledger, r) == Status.NONE


@pytest.mark.parametrize("side", ["shipper", "platform"])
def test_member_holding_both_roles_cannot_confirm_what_it_submitted_on_either_side(
    ledger, consortium, committee, accounts, people, side
):
    """The exploit of finding 2: a member holding SHIPPER and PLATFORM submits as one side and confirms as the
    other, then pledges an invented receivable. The confirmer must be the other side's organisation."""
    both = accounts.add()
    admit(consortium, committee, both, "BOTHSIDES2", ["SHIPPER", "PLATFORM"])
    r = record(61, shipper="BOTHSIDES2") if side == "shipper" else record(62, platform="BOTHSIDES2")
    ledger.submit([r], refs([r]), {"from": both, "gas_price": 0})
    with reverts("SettlementLedgerNotParty"):
        ledger.confirm([r], {"from": both, "gas_price": 0})
    # not its receivable as a shipper; as the platform, an unconfirmed receivable cannot be pledged
    with reverts("SettlementLedgerNotParty" if side == "shipper" else "SettlementLedgerBadTransition"):
        ledger.pledge(r, people["LENDER"], {"from": both, "gas_price": 0})
    assert status(ledger, r) == Status.INVOICED


# -- findings 3 and 9: derived ids, the fingerprint guard ----------------------------------------------------


def test_id_is_derived_on_chain_like_the_python_rule(ledger):
    platform = subject_id("uscc:PLATFORM")
    expected = settlement_id(platform, "ORDER-2026-0001")
    reference = keccak(b"creditshare:settlement:ORDER-2026-0001")
    assert bytes(ledger.idOf(platform, reference)) == expected


def test_chosen_id_is_refused(ledger, people):
    r = record(51)
    squatted = ((99).to_bytes(32, "big"),) + r[1:]  # not keccak256(platform, reference)
    with reverts("SettlementLedgerRecordMismatch"):
        ledger.submit([squatted], [(51).to_bytes(32, "big")], {"from": people["PLATFORM"]})


def test_id_squatted_by_a_party_cannot_revert_the_platform_batch(ledger, people):
    """The shipper claims the platform's next reference first; the platform's batch still lands the rest."""
    mine, squatted = record(52), record(53)
    forged = squatted[:4] + (squatted[4] * 3,) + squatted[5:]
    submit(ledger, [forged], people["SHIPPER"])
    tx = submit(ledger, [mine, squatted], people["PLATFORM"])
    assert tx.events["SettlementSkipped"]["id"] == "0x" + squatted[0].hex()
    assert status(ledger, mine) == Status.INVOICED


def test_fingerprint_matches_the_python_rule(ledger):
    r = record(54)
    py = Settlement(SettlementId(r[0]), SubjectId(r[1]), SubjectId(r[2]), SubjectId(r[3]), *r[4:7], r[7])
    assert bytes(ledger.fingerprintOf(r)) == py.fingerprint


@pytest.mark.parametrize("shift", [0, 3600, 86399 - 1_767_225_600 % DAY])
def test_same_receivable_under_a_new_reference_and_document_cannot_be_pledged_twice(ledger, people, committee, shift):
    first = record(55)
    clone = record(56, invoice=first[5] + shift)  # new reference, re-encoded evidence, same order
    clone = clone[:6] + (first[6] + shift,) + clone[7:]
    drive(ledger, people, committee, first, Status.FINANCED)
    drive(ledger, people, committee, clone, Status.CONFIRMED)
    with reverts("SettlementLedgerFingerprintAlreadyFinanced"):
        ledger.pledge(clone, people["LENDER"], {"from": people["PLATFORM"]})
    assert status(ledger, clone) == Status.CONFIRMED


def test_fingerprint_is_free_again_once_the_pledged_settlement_is_paid(ledger, people, committee):
    first, later = record(57), record(58)
    drive(ledger, people, committee, first, Status.FINANCED)
    drive(ledger, people, committee, later, Status.CONFIRMED)
    ledger.pay([first], [0], {"from": people["SHIPPER"]})
    with reverts("SettlementLedgerFingerprintAlreadyFinanced"):  # declared is not final
        ledger.pledge(later, people["LENDER"], {"from": people["PLATFORM"]})
    ledger.confirmPayment([first], {"from": people["LENDER"]})
    ledger.pledge(later, people["LENDER"], {"from": people["PLATFORM"]})
    assert status(ledger, later) == Status.FINANCED


def test_defaulted_pledge_keeps_its_fingerprint(ledger, people, committee):
    first, clone = record(59), record(60)
    drive(ledger, people, committee, first, Status.FINANCED)
    ledger.markOverdue([first], {"from": people["PLATFORM"]})
    ledger.resolve([first], True, {"from": committee[0]})
    drive(ledger, people, committee, clone, Status.CONFIRMED)
    with reverts("SettlementLedgerFingerprintAlreadyFinanced"):
        ledger.pledge(clone, people["LENDER"], {"from": people["PLATFORM"]})
