"""PayoutLedger, review (#12 standard): the exploits found by the contract review, each replayed through the
contract and refused with its own custom error.

- A platform recorded a payout to a carrier subject nobody in the consortium holds, declared it paid and,
  with no carrier able to dispute, finalised it as Paid once the window passed: a payout record made
  without the carrier. `record` now needs the carrier to be an active CARRIER member.
- A platform paid a payout its carrier had marked Overdue and dated the payment before the marking (any date
  from the recording on was accepted), so the late payout read as on time. `markOverdue` now moves the
  earliest paid date up to the marking.
- A platform declared a late payout paid on the day it was recorded and, the carrier staying silent, the
  dispute window made that date final. A payout final by the window alone is now dated at its declaration.
- A committee member that is also the platform closed the carrier's dispute itself. `resolve` now refuses a
  committee member whose organisation is a party to the payout.
"""

from __future__ import annotations

import pytest
from brownie import chain
from brownie.test import given
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from creditshare.bindings.consortium import ProposalKind
from creditshare.bindings.payout_ledger import Status
from creditshare.core.roles import ROLE_IDS
from tests.conftest import ZERO32, org
from tests.contracts.helpers import DAY, reverts
from tests.contracts.test_payout_ledger import REASON, payout, record, status


@pytest.fixture(scope="module")
def payouts(PayoutLedger, consortium, committee):
    return PayoutLedger.deploy(consortium, {"from": committee[0]})


def govern(consortium, committee, kind, account, roles=()) -> None:
    tx = consortium.propose(kind, account, ZERO32, [ROLE_IDS[r] for r in roles], ZERO32, 0, {"from": committee[0]})
    consortium.approve(tx.return_value, {"from": committee[1]})


def test_a_payout_to_a_subject_no_member_holds_is_refused(payouts, people):
    # the exploit: record to an invented carrier, pay, wait out the window, finalise; nobody could dispute
    p = payout(101, carrier=org("NOBODY"))
    with reverts("PayoutLedgerCarrierNotMember"):
        record(payouts, [p], people["PLATFORM"])
    assert status(payouts, p) == Status.NONE


def test_a_payout_to_a_member_without_the_carrier_role_is_refused(payouts, people):
    for who in ("SHIPPER", "LENDER", "ORACLE"):
        with reverts("PayoutLedgerCarrierNotMember"):
            record(payouts, [payout(102, carrier=org(who))], people["PLATFORM"])


def test_a_payout_to_a_suspended_carrier_is_refused_and_reinstating_it_allows_it(
    payouts, consortium, committee, people
):
    govern(consortium, committee, ProposalKind.SUSPEND, people["CARRIER"])
    p = payout(103)
    with reverts("PayoutLedgerCarrierNotMember"):
        record(payouts, [p], people["PLATFORM"])
    govern(consortium, committee, ProposalKind.REINSTATE, people["CARRIER"])
    record(payouts, [p], people["PLATFORM"])
    assert status(payouts, p) == Status.RECORDED


def test_one_invented_carrier_reverts_the_whole_batch(payouts, people):
    good, bad = payout(104), payout(105, carrier=org("NOBODY"))
    with reverts("PayoutLedgerCarrierNotMember"):
        record(payouts, [good, bad], people["PLATFORM"])
    assert status(payouts, good) == Status.NONE


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=12))
def test_any_carrier_subject_outside_the_consortium_is_refused(payouts, people, name):
    carrier = org(f"X{name}")  # no member's organisation starts with X
    with reverts("PayoutLedgerCarrierNotMember"):
        record(payouts, [payout(106, carrier=carrier)], people["PLATFORM"])


def test_a_committee_member_that_is_the_platform_cannot_resolve_its_own_dispute(payouts, consortium, committee, people):
    platform, carrier = people["PLATFORM"], people["CARRIER"]
    govern(consortium, committee, ProposalKind.SET_ROLES, platform, ["PLATFORM", "COMMITTEE"])
    p = payout(107)
    record(payouts, [p], platform)
    payouts.dispute([p], REASON, {"from": carrier})
    with reverts("PayoutLedgerPartyCannotResolve"):
        payouts.resolve([p], False, {"from": platform})
    assert status(payouts, p) == Status.DISPUTED
    # a committee member that is no party judges it
    assert payouts.resolve([p], False, {"from": committee[0]}).events["PayoutResolved"]["outcome"] == Status.RESOLVED


def test_a_committee_member_that_is_the_carrier_cannot_default_the_platform_itself(
    payouts, consortium, committee, people
):
    platform, carrier = people["PLATFORM"], people["CARRIER"]
    govern(consortium, committee, ProposalKind.SET_ROLES, carrier, ["CARRIER", "COMMITTEE"])
    p = payout(108, delivered_days_ago=10, due_days=1)
    record(payouts, [p], platform)
    chain.sleep(DAY)
    payouts.markOverdue([p], {"from": carrier})
    with reverts("PayoutLedgerPartyCannotResolve"):
        payouts.resolve([p], True, {"from": carrier})
    assert status(payouts, p) == Status.OVERDUE


def test_a_payment_cannot_be_dated_before_the_carriers_overdue_marking(payouts, people):
    platform, carrier = people["PLATFORM"], people["CARRIER"]
    p = payout(109, delivered_days_ago=1, due_days=2)
    recorded = record(payouts, [p], platform).timestamp
    chain.sleep(3 * DAY)
    marked = payouts.markOverdue([p], {"from": carrier}).timestamp
    assert payouts.stateOf(p[0])[2] == marked
    chain.sleep(10 * DAY)
    # the exploit: declare it paid on the day after recording, before its due date and the marking
    for backdated in (recorded + DAY, marked - 1):
        with reverts("PayoutLedgerBadPaidDate"):
            payouts.pay([p], [backdated], {"from": platform})
    assert status(payouts, p) == Status.OVERDUE
    tx = payouts.pay([p], [marked], {"from": platform})
    assert tx.events["PayoutPaymentDeclared"]["paidDate"] == marked and status(payouts, p) == Status.PAYMENT_DECLARED


def test_an_unmarked_payout_may_still_be_dated_from_its_recording(payouts, people):
    platform = people["PLATFORM"]
    p = payout(110)
    recorded = record(payouts, [p], platform).timestamp
    chain.sleep(DAY)
    assert payouts.pay([p], [recorded], {"from": platform}).events["PayoutPaymentDeclared"]["paidDate"] == recorded


def test_a_payout_final_by_the_window_alone_is_dated_at_its_declaration(payouts, people):
    """The exploit: the platform declares a late payout paid on the day it was recorded and, with the carrier
    silent, the window made that date final. Unconfirmed, the payout now counts from its declaration."""
    platform, carrier = people["PLATFORM"], people["CARRIER"]
    p = payout(111)
    recorded = record(payouts, [p], platform).timestamp
    chain.sleep(20 * DAY)
    declared = payouts.pay([p], [recorded], {"from": platform})
    assert declared.events["PayoutPaymentDeclared"]["paidDate"] == recorded
    chain.sleep(payouts.disputeWindow() + 1)
    tx = payouts.finalizePayment([p], {"from": carrier})
    assert tx.events["PayoutPaid"]["paidDate"] == declared.timestamp
    assert status(payouts, p) == Status.PAID and payouts.stateOf(p[0])[3] == declared.timestamp


def test_a_carrier_confirmation_keeps_the_declared_date(payouts, people):
    platform, carrier = people["PLATFORM"], people["CARRIER"]
    p = payout(112)
    recorded = record(payouts, [p], platform).timestamp
    chain.sleep(20 * DAY)
    payouts.pay([p], [recorded], {"from": platform})
    tx = payouts.confirmReceipt([p], {"from": carrier})
    assert tx.events["PayoutPaid"]["paidDate"] == recorded
