"""Every state-changing function of the ledger against every role: only the
allowed callers succeed, everyone else gets the specific custom error."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from tests.contracts.helpers import record, refs, reverts

CALLERS = ["COMMITTEE", "PLATFORM", "SHIPPER", "LENDER", "ORACLE", "MAINTAINER", "CARRIER", "OUTSIDER"]

# function -> (callers allowed, setup steps before the call)
ALLOWED = {
    "submit": {"PLATFORM", "SHIPPER"},
    "confirm": {"SHIPPER"},  # the platform submitted, so only the shipper confirms
    "pledge": {"PLATFORM"},
    "pay": {"SHIPPER"},
    "confirmPayment": {"PLATFORM"},  # the payee (not financed): never the payer
    "markOverdue": {"PLATFORM"},
    "dispute": {"PLATFORM", "SHIPPER"},
    "resolve": {"COMMITTEE"},
}


def expected_error(fn: str, caller: str) -> str:
    if fn == "resolve":
        return "SettlementLedgerWrongRole"
    if caller == "OUTSIDER":
        return "SettlementLedgerNotActiveMember"
    if fn == "confirmPayment":
        return "SettlementLedgerNotPayee"
    if fn == "submit":
        return "SettlementLedgerWrongRole"
    return "SettlementLedgerNotParty"


def prepare(ledger, people, fn: str):
    r = record(500)
    if fn == "submit":
        return r
    ledger.submit([r], refs([r]), {"from": people["PLATFORM"]})
    if fn in ("pledge", "pay", "markOverdue", "confirmPayment"):
        ledger.confirm([r], {"from": people["SHIPPER"]})
    if fn == "confirmPayment":
        ledger.pay([r], [0], {"from": people["SHIPPER"]})
    if fn == "resolve":
        ledger.dispute([r], keccak(text="x"), {"from": people["SHIPPER"]})
    return r


def call(ledger, people, fn: str, r, sender):
    tx = {"from": sender}
    if fn == "submit":
        return ledger.submit([r], refs([r]), tx)
    if fn == "confirm":
        return ledger.confirm([r], tx)
    if fn == "pledge":
        return ledger.pledge(r, people["LENDER"], tx)
    if fn == "pay":
        return ledger.pay([r], [0], tx)
    if fn == "confirmPayment":
        return ledger.confirmPayment([r], tx)
    if fn == "markOverdue":
        return ledger.markOverdue([r], tx)
    if fn == "dispute":
        return ledger.dispute([r], keccak(text="x"), tx)
    return ledger.resolve([r], False, tx)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("fn", list(ALLOWED))
def test_ledger_access(ledger, people, committee, fn, caller):
    r = prepare(ledger, people, fn)
    sender = committee[0] if caller == "COMMITTEE" else people[caller]
    if caller in ALLOWED[fn]:
        assert call(ledger, people, fn, r, sender).status == 1
    else:
        with reverts(expected_error(fn, caller)):
            call(ledger, people, fn, r, sender)
