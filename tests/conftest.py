"""Shared fixtures. Brownie's pytest plugin starts a real Anvil (development
network, its port: tests/checkout_plugin.py) for the session; the chain tests (tests/contracts, tests/cli: see
their conftests) run in a snapshot that is reverted afterwards (fn_isolation)."""

from __future__ import annotations

import pytest
from brownie import accounts as brownie_accounts

from creditshare.bindings.consortium import ProposalKind
from creditshare.core.ids import subject_id
from creditshare.core.roles import ROLE_IDS

ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x" + "00" * 20
WEEK = 7 * 24 * 3600


def org(name: str) -> bytes:
    return bytes(subject_id(f"uscc:{name}"))


@pytest.fixture(scope="module")
def committee():
    return [brownie_accounts[0], brownie_accounts[1], brownie_accounts[2]]


@pytest.fixture(scope="module")
def people():
    """One account per role (plus an outsider who is no member)."""
    a = brownie_accounts
    return {
        "PLATFORM": a[3],
        "SHIPPER": a[4],
        "LENDER": a[5],
        "ORACLE": a[6],
        "MAINTAINER": a[7],
        "CARRIER": a[8],
        "OUTSIDER": a[9],
    }


def admit(consortium, committee, account, name: str, roles: list[str]) -> None:
    tx = consortium.propose(
        ProposalKind.ADMIT, account, org(name), [ROLE_IDS[r] for r in roles], ZERO32, 0, {"from": committee[0]}
    )
    consortium.approve(tx.return_value, {"from": committee[1]})


@pytest.fixture(scope="module")
def consortium(Consortium, committee, people):
    c = Consortium.deploy(committee, [org("C0"), org("C1"), org("C2")], 2, WEEK, {"from": committee[0]})
    for role in ("PLATFORM", "SHIPPER", "LENDER", "ORACLE", "MAINTAINER", "CARRIER"):
        admit(c, committee, people[role], role, [role])
    return c


@pytest.fixture(scope="module")
def ledger(SettlementLedger, consortium, committee):
    return SettlementLedger.deploy(consortium, {"from": committee[0]})
