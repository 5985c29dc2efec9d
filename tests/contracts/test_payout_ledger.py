"""PayoutLedger: every function, its access rule (a wrong role is refused with its custom error), every
lifecycle transition and refusal, bounded records, no backdating of a paid date, batches a counterparty
cannot block, and the lifecycle table mirrored in the binding."""

from __future__ import annotations

import pytest
from brownie import chain
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from creditshare.bindings.payout_ledger import PREDECESSORS, Payout, Status
from creditshare.core.ids import SettlementId, SubjectId
from tests.conftest import ZERO32, org
from tests.contracts.helpers import DAY, refs, reverts, settlement_id

REASON = keccak(text="short payment")
MAX_AMOUNT = 10**12


@pytest.fixture(scope="module")
def payouts(PayoutLedger, consortium, committee):
    return PayoutLedger.deploy(consortium, {"from": committee[0]})


def payout(n: int, *, amount: int = 80_000, delivered_days_ago: int = 2, due_days: int = 7, **fields) -> tuple:
    """A payout tuple (id, platform, carrier, settlement, amount, deliveryDate, dueDate, evidence) owed by
    PLATFORM to CARRIER; its id is derived from the reference hash n."""
    reference = n.to_bytes(32, "big")
    delivered = chain.time() - delivered_days_ago * DAY
    values = {
        "platform": org("PLATFORM"),
        "carrier": org("CARRIER"),
        "settlement": ZERO32,
        "amount": amount,
        "delivery": delivered,
        "due": delivered + due_days * DAY,
        "evidence": (n + 10**6).to_bytes(32, "big"),
    }
    values.update(fields)
    sid = settlement_id(values["platform"], reference)
    return (
        sid,
        values["platform"],
        values["carrier"],
        values["settlement"],
        values["amount"],
        values["delivery"],
        values["due"],
        values["evidence"],
    )


def ref(p: tuple) -> bytes:
    return refs([p])[0]


def record(ledger, records, sender):
    return ledger.record(records, [ref(p) for p in records], {"from": sender})


def status(ledger, p) -> int:
    return ledger.stateOf(p[0])[1]


def drive(ledger, people, committee, p, target: Status) -> None:
    """Records `p` as the platform and moves it to `target`."""
    platform, carrier = people["PLATFORM"], people["CARRIER"]
    record(ledger, [p], platform)
    if target == Status.RECORDED:
        return
    if target == Status.DISPUTED:
        ledger.dispute([p], REASON, {"from": carrier})
        return
    if target in (Status.OVERDUE, Status.DEFAULTED):
        chain.sleep(max(0, int(p[6]) - chain.time() + 1))
        ledger.markOverdue([p], {"from": carrier})
        if target == Status.DEFAULTED:
            ledger.resolve([p], True, {"from": committee[0]})
        return
    if target == Status.RESOLVED:
        ledger.dispute([p], REASON, {"from": carrier})
        ledger.resolve([p], False, {"from": committee[0]})
        return
    ledger.confirm([p], {"from": carrier})
    if target in (Status.PAYMENT_DECLARED, Status.PAID):
        ledger.pay([p], [0], {"from": platform})
        if target == Status.PAID:
            ledger.confirmReceipt([p], {"from": carrier})


def test_record_stores_the_digest_and_emits_the_full_payout(payouts, people):
    p = payout(1)
    tx = record(payouts, [p], people["PLATFORM"])
    ev = tx.events["PayoutRecorded"]
    assert ev["id"] == "0x" + p[0].hex() and ev["amount"] == p[4] and ev["deliveryDate"] == p[5]
    digest, st_, since, paid = payouts.stateOf(p[0])
    py = Payout(SettlementId(p[0]), SubjectId(p[1]), SubjectId(p[2]), p[3], *p[4:7], p[7])
    assert bytes(digest) == py.digest == bytes(payouts.digestOf(p))
    assert (st_, since, paid) == (Status.RECORDED, tx.timestamp, 0)


def test_full_lifecycle_carrier_confirms_platform_pays_carrier_confirms_receipt(payouts, people):
    p = payout(2)
    record(payouts, [p], people["PLATFORM"])
    assert payouts.confirm([p], {"from": people["CARRIER"]}).events["PayoutConfirmed"]["by"] == people["CARRIER"]
    tx = payouts.pay([p], [0], {"from": people["PLATFORM"]})
    assert tx.events["PayoutPaymentDeclared"]["paidDate"] == tx.timestamp
    assert status(payouts, p) == Status.PAYMENT_DECLARED
    tx = payouts.confirmReceipt([p], {"from": people["CARRIER"]})
    assert tx.events["PayoutPaid"]["by"] == people["CARRIER"]
    assert status(payouts, p) == Status.PAID


def test_record_needs_the_platform_role(payouts, people):
    p = payout(3)
    for who in ("SHIPPER", "CARRIER", "LENDER"):
        with reverts("PayoutLedgerWrongRole"):
            record(payouts, [p], people[who])
    with reverts("PayoutLedgerNotActiveMember"):
        record(payouts, [p], people["OUTSIDER"])


def test_platform_cannot_record_for_another_platform(payouts, people):
    p = payout(4, platform=org("OTHERPLAT"))
    with reverts("PayoutLedgerNotParty"):
        record(payouts, [p], people["PLATFORM"])


@pytest.mark.parametrize(
    ("fn", "who"),
    [
        ("confirm", "PLATFORM"),
        ("confirm", "SHIPPER"),
        ("confirmReceipt", "PLATFORM"),
        ("markOverdue", "PLATFORM"),
        ("pay", "CARRIER"),
        ("pay", "SHIPPER"),
        ("dispute", "SHIPPER"),
        ("dispute", "LENDER"),
    ],
)
def test_each_side_only_does_its_own_part(payouts, people, committee, fn, who):
    p = payout(5, delivered_days_ago=30, due_days=1)
    drive(payouts, people, committee, p, Status.PAYMENT_DECLARED if fn == "confirmReceipt" else Status.RECORDED)
    args = {"pay": [[p], [0]], "dispute": [[p], REASON]}.get(fn, [[p]])
    with reverts("PayoutLedgerNotParty"):
        getattr(payouts, fn)(*args, {"from": people[who]})


@pytest.mark.parametrize("fn", ["confirm", "pay", "confirmReceipt", "finalizePayment", "markOverdue", "dispute"])
def test_an_outsider_is_refused_everywhere(payouts, people, fn):
    p = payout(6)
    record(payouts, [p], people["PLATFORM"])
    args = {"pay": [[p], [0]], "dispute": [[p], REASON]}.get(fn, [[p]])
    with reverts("PayoutLedgerNotActiveMember"):
        getattr(payouts, fn)(*args, {"from": people["OUTSIDER"]})


@pytest.mark.parametrize("who", ["PLATFORM", "CARRIER", "ORACLE"])
def test_only_the_committee_resolves(payouts, people, committee, who):
    p = payout(7)
    drive(payouts, people, committee, p, Status.DISPUTED)
    with reverts("PayoutLedgerWrongRole"):
        payouts.resolve([p], False, {"from": people[who]})
    payouts.resolve([p], False, {"from": committee[1]})
    assert status(payouts, p) == Status.RESOLVED


def test_backdated_paid_date_is_refused(payouts, people):
    p = payout(8, delivered_days_ago=20)
    tx = record(payouts, [p], people["PLATFORM"])
    chain.sleep(3 * DAY)
    # paid "on delivery", before the payout was even recorded: backdating
    with reverts("PayoutLedgerBadPaidDate"):
        payouts.pay([p], [p[5]], {"from": people["PLATFORM"]})
    with reverts("PayoutLedgerBadPaidDate"):
        payouts.pay([p], [tx.timestamp - 1], {"from": people["PLATFORM"]})
    with reverts("PayoutLedgerBadPaidDate"):
        payouts.pay([p], [chain.time() + DAY], {"from": people["PLATFORM"]})
    declared = payouts.pay([p], [tx.timestamp + DAY], {"from": people["PLATFORM"]})
    assert payouts.stateOf(p[0])[3] == tx.timestamp + DAY and payouts.stateOf(p[0])[2] == declared.timestamp


@settings(max_examples=10)
@given(offset=st.integers(min_value=-10 * DAY, max_value=10 * DAY))
def test_a_paid_date_lands_exactly_when_it_lies_between_recording_and_now(payouts, people, offset):
    p = payout(9, delivered_days_ago=15)
    recorded = record(payouts, [p], people["PLATFORM"]).timestamp
    chain.sleep(5 * DAY)
    date = recorded + offset
    if recorded <= date <= chain.time():
        payouts.pay([p], [date], {"from": people["PLATFORM"]})
        assert payouts.stateOf(p[0])[3] == date
    elif date > chain.time() + 60 or date < recorded:
        with reverts("PayoutLedgerBadPaidDate"):
            payouts.pay([p], [date], {"from": people["PLATFORM"]})
    chain.revert()  # each example from the test's own snapshot


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"amount": 0}, "PayoutLedgerBadAmount"),
        ({"amount": MAX_AMOUNT + 1}, "PayoutLedgerBadAmount"),
        ({"delivery": 946_684_799}, "PayoutLedgerBadDates"),
        ({"delivery": 4_000_000_000, "due": 4_000_000_000}, "PayoutLedgerBadDates"),  # delivered in the future
        ({"due": 4_102_444_800}, "PayoutLedgerBadDates"),
        ({"evidence": ZERO32}, "PayoutLedgerMissingEvidence"),
        ({"carrier": ZERO32}, "PayoutLedgerMissingSubject"),
        ({"carrier": org("PLATFORM")}, "PayoutLedgerSameParty"),
    ],
)
def test_invalid_record_is_refused(payouts, people, change, error):
    with reverts(error):
        record(payouts, [payout(10, **change)], people["PLATFORM"])


def test_due_before_delivery_is_refused(payouts, people):
    with reverts("PayoutLedgerBadDates"):
        record(payouts, [payout(11, due_days=-1)], people["PLATFORM"])


def test_the_largest_amount_is_accepted(payouts, people):
    record(payouts, [payout(12, amount=MAX_AMOUNT)], people["PLATFORM"])
    assert status(payouts, payout(12, amount=MAX_AMOUNT)) == Status.RECORDED


def test_id_must_be_derived_from_the_reference(payouts, people):
    p = payout(13)
    with reverts("PayoutLedgerRecordMismatch"):
        payouts.record([p], [b"\x01" * 32], {"from": people["PLATFORM"]})
    zero = (ZERO32, *p[1:])
    with reverts("PayoutLedgerZeroId"):
        payouts.record([zero], [ref(p)], {"from": people["PLATFORM"]})


def test_empty_and_mismatched_batches_are_refused(payouts, people, committee):
    with reverts("PayoutLedgerEmptyBatch"):
        payouts.record([], [], {"from": people["PLATFORM"]})
    p = payout(14)
    with reverts("PayoutLedgerLengthMismatch"):
        payouts.record([p], [], {"from": people["PLATFORM"]})
    record(payouts, [p], people["PLATFORM"])
    with reverts("PayoutLedgerLengthMismatch"):
        payouts.pay([p], [], {"from": people["PLATFORM"]})
    for fn, args in (
        ("confirm", [[]]),
        ("pay", [[], []]),
        ("confirmReceipt", [[]]),
        ("finalizePayment", [[]]),
        ("markOverdue", [[]]),
        ("dispute", [[], REASON]),
        ("resolve", [[], True]),
    ):
        with reverts("PayoutLedgerEmptyBatch"):
            getattr(payouts, fn)(*args, {"from": committee[0] if fn == "resolve" else people["CARRIER"]})


def test_tampered_and_unknown_payouts_are_refused(payouts, people):
    p = payout(15)
    record(payouts, [p], people["PLATFORM"])
    tampered = (*p[:4], p[4] + 1, *p[5:])
    with reverts("PayoutLedgerRecordMismatch"):
        payouts.confirm([tampered], {"from": people["CARRIER"]})
    with reverts("PayoutLedgerUnknownPayout"):
        payouts.confirm([payout(16)], {"from": people["CARRIER"]})


def test_overdue_before_the_due_date_is_refused_then_marked_and_defaulted(payouts, people, committee):
    p = payout(17, delivered_days_ago=1, due_days=3)
    record(payouts, [p], people["PLATFORM"])
    with reverts("PayoutLedgerNotYetDue"):
        payouts.markOverdue([p], {"from": people["CARRIER"]})
    chain.sleep(3 * DAY)
    payouts.markOverdue([p], {"from": people["CARRIER"]})
    assert status(payouts, p) == Status.OVERDUE
    payouts.resolve([p], True, {"from": committee[0]})
    assert status(payouts, p) == Status.DEFAULTED


def test_platform_cannot_make_its_own_payout_final(payouts, people, committee):
    p = payout(18)
    drive(payouts, people, committee, p, Status.PAYMENT_DECLARED)
    with reverts("PayoutLedgerNotParty"):
        payouts.confirmReceipt([p], {"from": people["PLATFORM"]})
    with reverts("PayoutLedgerDisputeWindowOpen"):
        payouts.finalizePayment([p], {"from": people["PLATFORM"]})
    chain.sleep(payouts.disputeWindow() + 1)
    payouts.finalizePayment([p], {"from": people["LENDER"]})
    assert status(payouts, p) == Status.PAID


def test_carrier_disputes_a_declared_payout_and_it_never_becomes_final(payouts, people, committee):
    p = payout(19)
    drive(payouts, people, committee, p, Status.PAYMENT_DECLARED)
    payouts.dispute([p], REASON, {"from": people["CARRIER"]})
    chain.sleep(payouts.disputeWindow() + 1)
    tx = payouts.finalizePayment([p], {"from": people["CARRIER"]})
    assert "PayoutSkipped" in tx.events and status(payouts, p) == Status.DISPUTED


def test_a_rerecorded_id_is_skipped_not_fatal(payouts, people):
    p = payout(20)
    record(payouts, [p], people["PLATFORM"])
    tx = record(payouts, [p, payout(21)], people["PLATFORM"])
    assert len(tx.events["PayoutRecorded"]) == 1 and tx.events["PayoutSkipped"]["id"] == "0x" + p[0].hex()


def test_a_counterparty_moving_one_record_first_does_not_revert_the_batch(payouts, people):
    a, b = payout(22), payout(23)
    record(payouts, [a, b], people["PLATFORM"])
    payouts.dispute([a], REASON, {"from": people["CARRIER"]})
    tx = payouts.confirm([a, b], {"from": people["CARRIER"]})
    assert tx.events["PayoutSkipped"]["id"] == "0x" + a[0].hex()
    assert status(payouts, b) == Status.CONFIRMED


@pytest.mark.parametrize("start", [Status.PAID, Status.RESOLVED, Status.DEFAULTED], ids=lambda s: s.label)
def test_closed_payouts_do_not_move_again(payouts, people, committee, start):
    p = payout(24, delivered_days_ago=10, due_days=1)
    drive(payouts, people, committee, p, start)
    tx = payouts.dispute([p], REASON, {"from": people["CARRIER"]})
    assert tx.events["PayoutSkipped"]["current"] == start and status(payouts, p) == start


def test_the_lifecycle_table_matches_the_binding(payouts):
    for to in Status:
        bitmap = payouts.predecessorsOf(int(to))
        assert frozenset(s for s in Status if bitmap >> int(s) & 1) == PREDECESSORS.get(to, frozenset())


def test_views(payouts, consortium):
    assert payouts.consortium() == consortium.address
    assert payouts.disputeWindow() == 7 * DAY
    reference = b"\x07" * 32
    assert bytes(payouts.idOf(org("PLATFORM"), reference)) == keccak(org("PLATFORM") + reference)
    assert payouts.statesOf([ZERO32])[0][1] == Status.NONE


CALLERS = ["COMMITTEE", "PLATFORM", "SHIPPER", "LENDER", "ORACLE", "MAINTAINER", "CARRIER", "OUTSIDER"]
# function -> the callers allowed; every other caller gets the error `matrix_error` names
ALLOWED = {
    "record": {"PLATFORM"},
    "confirm": {"CARRIER"},
    "pay": {"PLATFORM"},
    "confirmReceipt": {"CARRIER"},
    "finalizePayment": set(CALLERS) - {"OUTSIDER"},
    "markOverdue": {"CARRIER"},
    "dispute": {"PLATFORM", "CARRIER"},
    "resolve": {"COMMITTEE"},
}


def matrix_error(fn: str, caller: str) -> str:
    if fn == "resolve" or (fn == "record" and caller != "OUTSIDER"):
        return "PayoutLedgerWrongRole"
    if caller == "OUTSIDER":
        return "PayoutLedgerNotActiveMember"
    return "PayoutLedgerNotParty"


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("fn", list(ALLOWED))
def test_access_matrix(payouts, people, committee, fn, caller):
    """Every state-changing function against every role: the allowed callers succeed, the others get the
    function's custom error."""
    who = committee[0] if caller == "COMMITTEE" else people[caller]
    p = payout(600, delivered_days_ago=30, due_days=1)
    if fn != "record":
        start = {"confirmReceipt": Status.PAYMENT_DECLARED, "finalizePayment": Status.PAYMENT_DECLARED}
        drive(payouts, people, committee, p, start.get(fn, Status.DISPUTED if fn == "resolve" else Status.RECORDED))
        if fn == "finalizePayment":
            chain.sleep(payouts.disputeWindow() + 1)
    args = {
        "record": [[p], [ref(p)]],
        "pay": [[p], [0]],
        "dispute": [[p], REASON],
        "resolve": [[p], False],
    }.get(fn, [[p]])
    if caller in ALLOWED[fn]:
        getattr(payouts, fn)(*args, {"from": who})
    else:
        with reverts(matrix_error(fn, caller)):
            getattr(payouts, fn)(*args, {"from": who})
