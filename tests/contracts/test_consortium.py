"""Consortium: bootstrap, m-of-n governance, expiry, membership and role checks."""

from __future__ import annotations

import brownie
import pytest
from brownie import chain
from brownie.test import given
from eth_utils import keccak
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from creditshare.bindings.consortium import PARAMETER_BOUNDS, ProposalKind, check_parameter
from creditshare.core.errors import InvalidInput
from creditshare.core.roles import ROLE_IDS
from tests.conftest import WEEK, ZERO32, ZERO_ADDRESS, org
from tests.contracts.helpers import reverts

DAY = 86_400
NEWCOMER = 9  # brownie account index of the outsider in `people`


def propose(consortium, who, kind, account=ZERO_ADDRESS, org_id=ZERO32, roles=(), key=ZERO32, value=0):
    tx = consortium.propose(kind, account, org_id, [ROLE_IDS[r] for r in roles], key, value, {"from": who})
    return tx.return_value


def test_bootstrap_admits_committee_with_threshold(consortium, committee):
    assert consortium.threshold() == 2
    assert consortium.activeCommitteeCount() == 3
    for member in committee:
        assert consortium.isActiveWithRole(member, ROLE_IDS["COMMITTEE"])


@pytest.mark.parametrize("threshold", [0, 4])
def test_bootstrap_rejects_bad_threshold(Consortium, committee, threshold):
    with reverts("ConsortiumBadThreshold"):
        Consortium.deploy(committee, [org("A"), org("B"), org("C")], threshold, WEEK, {"from": committee[0]})


def test_bootstrap_rejects_mismatched_lists(Consortium, committee):
    with reverts("ConsortiumBadBootstrap"):
        Consortium.deploy(committee, [org("A")], 1, WEEK, {"from": committee[0]})


def test_bootstrap_rejects_duplicate_org(Consortium, committee):
    with reverts("ConsortiumOrgAlreadyRegistered"):
        Consortium.deploy(committee, [org("A"), org("A"), org("C")], 1, WEEK, {"from": committee[0]})


def test_admit_needs_two_of_three(consortium, committee, people):
    newcomer = people["OUTSIDER"]
    pid = propose(consortium, committee[0], ProposalKind.ADMIT, newcomer, org("NEW"), ["LENDER"])
    assert not consortium.isActive(newcomer)
    tx = consortium.approve(pid, {"from": committee[2]})
    assert "MemberAdmitted" in tx.events and "ProposalExecuted" in tx.events
    assert consortium.isActiveWithRole(newcomer, ROLE_IDS["LENDER"])
    assert consortium.memberByOrg(org("NEW")) == newcomer
    assert consortium.member(newcomer)[0] == "0x" + org("NEW").hex()


def test_approving_twice_is_refused(consortium, committee, people):
    pid = propose(consortium, committee[0], ProposalKind.ADMIT, people["OUTSIDER"], org("NEW"), ["LENDER"])
    with reverts("ConsortiumAlreadyApproved"):
        consortium.approve(pid, {"from": committee[0]})


def test_executed_proposal_cannot_be_approved_again(consortium, committee, people):
    pid = propose(consortium, committee[0], ProposalKind.ADMIT, people["OUTSIDER"], org("NEW"), ["LENDER"])
    consortium.approve(pid, {"from": committee[1]})
    with reverts("ConsortiumProposalAlreadyExecuted"):
        consortium.approve(pid, {"from": committee[2]})


def test_proposal_expires(consortium, committee, people):
    pid = propose(consortium, committee[0], ProposalKind.ADMIT, people["OUTSIDER"], org("NEW"), ["LENDER"])
    chain.sleep(WEEK + 1)
    chain.mine()
    with reverts("ConsortiumProposalExpired"):
        consortium.approve(pid, {"from": committee[1]})
    assert not consortium.isActive(people["OUTSIDER"])


def test_unknown_proposal_is_refused(consortium, committee):
    with reverts("ConsortiumUnknownProposal"):
        consortium.approve(999, {"from": committee[1]})
    with reverts("ConsortiumUnknownProposal"):
        consortium.proposal(999)


@pytest.mark.parametrize("role", ["PLATFORM", "SHIPPER", "LENDER", "ORACLE", "MAINTAINER", "CARRIER", "OUTSIDER"])
def test_non_committee_cannot_propose_or_approve(consortium, committee, people, role):
    pid = propose(consortium, committee[0], ProposalKind.SET_THRESHOLD, value=3)
    with reverts("ConsortiumNotCommittee"):
        propose(consortium, people[role], ProposalKind.SET_THRESHOLD, value=1)
    with reverts("ConsortiumNotCommittee"):
        consortium.approve(pid, {"from": people[role]})


def test_suspended_committee_member_cannot_approve_and_its_approval_stops_counting(consortium, committee, people):
    pid_admit = propose(consortium, committee[2], ProposalKind.ADMIT, people["OUTSIDER"], org("NEW"), ["LENDER"])
    pid = propose(consortium, committee[0], ProposalKind.SUSPEND, committee[2])
    consortium.approve(pid, {"from": committee[1]})
    assert not consortium.isActive(committee[2])
    with reverts("ConsortiumNotCommittee"):
        consortium.approve(pid_admit, {"from": committee[2]})
    # committee[2]'s earlier approval no longer counts: one more active approval is not enough
    tx = consortium.approve(pid_admit, {"from": committee[0]})
    assert "ProposalExecuted" not in tx.events
    consortium.approve(pid_admit, {"from": committee[1]})
    assert consortium.isActive(people["OUTSIDER"])


def test_suspend_and_reinstate(consortium, committee, people):
    platform = people["PLATFORM"]
    pid = propose(consortium, committee[0], ProposalKind.SUSPEND, platform)
    tx = consortium.approve(pid, {"from": committee[1]})
    assert "MemberSuspended" in tx.events
    assert not consortium.isActive(platform)
    assert consortium.hasRole(ROLE_IDS["PLATFORM"], platform)  # roles are kept while suspended
    assert not consortium.isActiveWithRole(platform, ROLE_IDS["PLATFORM"])
    with reverts("ConsortiumAlreadySuspended"):
        propose(consortium, committee[0], ProposalKind.SUSPEND, platform)
    pid = propose(consortium, committee[0], ProposalKind.REINSTATE, platform)
    consortium.approve(pid, {"from": committee[1]})
    assert consortium.isActiveWithRole(platform, ROLE_IDS["PLATFORM"])
    with reverts("ConsortiumNotSuspended"):
        propose(consortium, committee[0], ProposalKind.REINSTATE, platform)


def test_set_roles_replaces_roles(consortium, committee, people):
    lender = people["LENDER"]
    pid = propose(consortium, committee[0], ProposalKind.SET_ROLES, lender, roles=["LENDER", "MAINTAINER"])
    consortium.approve(pid, {"from": committee[1]})
    assert consortium.hasRole(ROLE_IDS["MAINTAINER"], lender) and consortium.hasRole(ROLE_IDS["LENDER"], lender)
    pid = propose(consortium, committee[0], ProposalKind.SET_ROLES, lender, roles=["ORACLE"])
    consortium.approve(pid, {"from": committee[1]})
    assert [bytes(r) for r in consortium.rolesOf(lender)] == [ROLE_IDS["ORACLE"]]


def test_set_threshold_within_committee_size(consortium, committee):
    pid = propose(consortium, committee[0], ProposalKind.SET_THRESHOLD, value=3)
    tx = consortium.approve(pid, {"from": committee[1]})
    assert tx.events["ThresholdChanged"]["newThreshold"] == 3
    assert consortium.threshold() == 3
    with reverts("ConsortiumBadThreshold"):
        propose(consortium, committee[0], ProposalKind.SET_THRESHOLD, value=4)
    with reverts("ConsortiumBadThreshold"):
        propose(consortium, committee[0], ProposalKind.SET_THRESHOLD, value=0)


def test_suspension_that_breaks_quorum_is_refused(consortium, committee):
    pid = propose(consortium, committee[0], ProposalKind.SET_THRESHOLD, value=3)
    consortium.approve(pid, {"from": committee[1]})
    pid = propose(consortium, committee[0], ProposalKind.SUSPEND, committee[2])
    consortium.approve(pid, {"from": committee[1]})
    with reverts("ConsortiumBadThreshold"):
        consortium.approve(pid, {"from": committee[2]})
    assert consortium.isActive(committee[2])


def test_set_parameter(consortium, committee):
    key = keccak(text="creditList.viewFee")
    pid = propose(consortium, committee[0], ProposalKind.SET_PARAMETER, key=key, value=500)
    tx = consortium.approve(pid, {"from": committee[1]})
    assert tx.events["ParameterChanged"]["newValue"] == 500
    assert consortium.parameter(key) == 500
    with reverts("ConsortiumUnknownParameter"):
        propose(consortium, committee[0], ProposalKind.SET_PARAMETER, key=ZERO32, value=1)
    with reverts("ConsortiumParameterOutOfBounds"):
        propose(consortium, committee[0], ProposalKind.SET_PARAMETER, key=consortium.PROPOSAL_TTL(), value=0)


# --- governed parameter bounds (issue #12, finding 8) -------------------------------------------------------------


def set_param(consortium, committee, name: str, value: int):
    pid = propose(consortium, committee[0], ProposalKind.SET_PARAMETER, key=keccak(text=name), value=value)
    return consortium.approve(pid, {"from": committee[1]})


def add_oracle(consortium, committee, account, name: str) -> None:
    pid = propose(consortium, committee[0], ProposalKind.ADMIT, account, org(name), ["ORACLE"])
    consortium.approve(pid, {"from": committee[1]})


@pytest.mark.parametrize("ttl", [2**256 - 1, 2**64 - 1, 90 * DAY + 1])
def test_proposal_ttl_that_would_brick_governance_is_refused(consortium, committee, people, ttl):
    """The exploit: a lifetime of 2^256-1 overflowed `block.timestamp + ttl` (every approve then reverted) and
    2^64-1 wrapped the uint64 deadline into the past (every later proposal born expired)."""
    key = consortium.PROPOSAL_TTL()
    with reverts("ConsortiumParameterOutOfBounds"):
        propose(consortium, committee[0], ProposalKind.SET_PARAMETER, key=key, value=ttl)
    assert consortium.parameter(key) == WEEK
    pid = propose(consortium, committee[0], ProposalKind.ADMIT, people["OUTSIDER"], org("NEW"), ["LENDER"])
    consortium.approve(pid, {"from": committee[1]})
    assert consortium.isActive(people["OUTSIDER"])


def test_proposal_ttl_at_its_bounds_keeps_later_proposals_open(consortium, committee, people):
    set_param(consortium, committee, "consortium.proposalTtl", 90 * DAY)
    pid = propose(consortium, committee[0], ProposalKind.ADMIT, people["OUTSIDER"], org("NEW"), ["LENDER"])
    assert consortium.proposal(pid)["deadline"] == chain[-1].timestamp + 90 * DAY
    set_param(consortium, committee, "consortium.proposalTtl", 3600)
    with reverts("ConsortiumParameterOutOfBounds"):
        propose(consortium, committee[0], ProposalKind.SET_PARAMETER, key=consortium.PROPOSAL_TTL(), value=3599)


@pytest.mark.parametrize("ttl", [0, 3599, 90 * DAY + 1, 2**256 - 1])
def test_bootstrap_rejects_proposal_ttl_out_of_bounds(Consortium, committee, ttl):
    with reverts("ConsortiumParameterOutOfBounds"):
        Consortium.deploy(committee, [org("A"), org("B"), org("C")], 2, ttl, {"from": committee[0]})


def test_misspelt_parameter_is_refused(consortium, committee):
    for name in ("creditlist.viewFee", "oracle.Threshold", "consortium.proposalTTL", "dataBus.unknown"):
        with reverts("ConsortiumUnknownParameter"):
            propose(consortium, committee[0], ProposalKind.SET_PARAMETER, key=keccak(text=name), value=1)
        with reverts("ConsortiumUnknownParameter"):
            consortium.parameterBounds(keccak(text=name))


@pytest.mark.parametrize("name", [n for n, (_, high) in PARAMETER_BOUNDS.items() if high is not None])
def test_each_fixed_bound_is_inclusive_and_one_past_it_is_refused(consortium, committee, name):
    low, high = PARAMETER_BOUNDS[name]
    for value in (low, high):
        tx = set_param(consortium, committee, name, value)
        assert tx.events["ParameterChanged"]["newValue"] == value
    for value in ([low - 1] if low > 0 else []) + [high + 1, 2**256 - 1]:
        with reverts("ConsortiumParameterOutOfBounds"):
            propose(consortium, committee[0], ProposalKind.SET_PARAMETER, key=keccak(text=name), value=value)


def test_reciprocity_discount_above_100_percent_is_refused(consortium, committee):
    with reverts("ConsortiumParameterOutOfBounds"):
        set_param(consortium, committee, "creditList.reciprocityDiscountBps", 10_001)
    set_param(consortium, committee, "creditList.reciprocityDiscountBps", 10_000)


def test_oracle_threshold_is_between_two_and_the_active_oracles(consortium, committee, people):
    # the module's consortium has one oracle: no k is possible yet
    with reverts("ConsortiumParameterOutOfBounds"):
        set_param(consortium, committee, "oracle.threshold", 1)
    with reverts("ConsortiumParameterOutOfBounds"):
        set_param(consortium, committee, "oracle.threshold", 2)
    add_oracle(consortium, committee, people["OUTSIDER"], "ORACLE2")
    assert tuple(map(int, consortium.parameterBounds(keccak(text="oracle.threshold")))) == (2, 2)
    for k in (0, 1, 3, 2**256 - 1):
        with reverts("ConsortiumParameterOutOfBounds"):
            set_param(consortium, committee, "oracle.threshold", k)
    set_param(consortium, committee, "oracle.threshold", 2)
    assert consortium.parameter(keccak(text="oracle.threshold")) == 2


def test_oracle_threshold_is_checked_again_at_execution(consortium, committee, people):
    add_oracle(consortium, committee, people["OUTSIDER"], "ORACLE2")
    pid = propose(consortium, committee[0], ProposalKind.SET_PARAMETER, key=keccak(text="oracle.threshold"), value=2)
    suspend = propose(consortium, committee[0], ProposalKind.SUSPEND, people["ORACLE"])
    consortium.approve(suspend, {"from": committee[1]})
    with reverts("ConsortiumParameterOutOfBounds"):
        consortium.approve(pid, {"from": committee[1]})
    assert consortium.parameter(keccak(text="oracle.threshold")) == 0


def test_python_bounds_table_equals_the_contract_table(consortium, committee, people):
    add_oracle(consortium, committee, people["OUTSIDER"], "ORACLE2")
    keys = [bytes(k) for k in consortium.parameterKeys()]
    assert sorted(keys) == sorted(keccak(text=name) for name in PARAMETER_BOUNDS)
    active_oracles = len(consortium.activeMembersWithRole(ROLE_IDS["ORACLE"]))
    for name, (low, high) in PARAMETER_BOUNDS.items():
        bounds = tuple(map(int, consortium.parameterBounds(keccak(text=name))))
        assert bounds == (low, active_oracles if high is None else high), name


@given(
    index=st.integers(0, len(PARAMETER_BOUNDS) - 1),
    value=st.one_of(st.integers(0, 2**256 - 1), st.integers(0, 20_000), st.integers(0, 100 * DAY)),
)
@settings(max_examples=60, suppress_health_check=list(HealthCheck))
def test_a_proposal_is_accepted_exactly_when_python_accepts_the_value(consortium, committee, index, value):
    name = list(PARAMETER_BOUNDS)[index]
    try:
        check_parameter(name, value, active_oracles=1)
        accepted = True
    except InvalidInput:
        accepted = False
    if accepted:
        propose(consortium, committee[0], ProposalKind.SET_PARAMETER, key=keccak(text=name), value=value)
    else:
        with reverts("ConsortiumParameterOutOfBounds"):
            propose(consortium, committee[0], ProposalKind.SET_PARAMETER, key=keccak(text=name), value=value)


@pytest.mark.parametrize(
    "bad", ["zero-address", "zero-org", "existing-member", "existing-org", "no-roles", "unknown-role"]
)
def test_admit_rejects_bad_arguments(consortium, committee, people, bad):
    args = {"account": people["OUTSIDER"], "org_id": org("NEW"), "roles": [ROLE_IDS["LENDER"]]}
    error = {
        "zero-address": "ConsortiumZeroAddress",
        "zero-org": "ConsortiumZeroOrgId",
        "existing-member": "ConsortiumAlreadyMember",
        "existing-org": "ConsortiumOrgAlreadyRegistered",
        "no-roles": "ConsortiumNoRoles",
        "unknown-role": "ConsortiumUnknownRole",
    }[bad]
    if bad == "zero-address":
        args["account"] = ZERO_ADDRESS
    elif bad == "zero-org":
        args["org_id"] = ZERO32
    elif bad == "existing-member":
        args["account"] = people["LENDER"]
    elif bad == "existing-org":
        args["org_id"] = org("LENDER")
    elif bad == "no-roles":
        args["roles"] = []
    else:
        args["roles"] = [keccak(text="ADMIN")]
    with reverts(error):
        consortium.propose(
            ProposalKind.ADMIT, args["account"], args["org_id"], args["roles"], ZERO32, 0, {"from": committee[0]}
        )


def test_member_changes_on_unknown_account_are_refused(consortium, committee, people):
    for kind in (ProposalKind.SET_ROLES, ProposalKind.SUSPEND, ProposalKind.REINSTATE):
        with reverts("ConsortiumNotMember"):
            consortium.propose(
                kind, people["OUTSIDER"], ZERO32, [ROLE_IDS["LENDER"]], ZERO32, 0, {"from": committee[0]}
            )


@pytest.mark.parametrize("who", ["PLATFORM", "OUTSIDER"])
def test_roles_cannot_be_granted_or_renounced_directly(consortium, committee, people, who):
    for caller in (committee[0], people[who]):
        with brownie.reverts():
            consortium.grantRole(ROLE_IDS["LENDER"], people[who], {"from": caller})
        with brownie.reverts():
            consortium.revokeRole(ROLE_IDS["COMMITTEE"], committee[1], {"from": caller})
    with reverts("ConsortiumRolesAreGoverned"):
        consortium.renounceRole(ROLE_IDS["COMMITTEE"], committee[0], {"from": committee[0]})


def test_active_members_with_role_skips_suspended(consortium, committee, people):
    assert list(consortium.activeMembersWithRole(ROLE_IDS["ORACLE"])) == [people["ORACLE"]]
    pid = propose(consortium, committee[0], ProposalKind.SUSPEND, people["ORACLE"])
    consortium.approve(pid, {"from": committee[1]})
    assert list(consortium.activeMembersWithRole(ROLE_IDS["ORACLE"])) == []
    assert len(consortium.members()) == 9


def test_admission_of_a_second_address_for_the_same_org_is_refused_at_execution(consortium, committee, people):
    first = propose(consortium, committee[0], ProposalKind.ADMIT, people["OUTSIDER"], org("NEW"), ["LENDER"])
    second = propose(consortium, committee[0], ProposalKind.ADMIT, brownie.accounts.add(), org("NEW"), ["LENDER"])
    consortium.approve(first, {"from": committee[1]})
    with reverts("ConsortiumOrgAlreadyRegistered"):
        consortium.approve(second, {"from": committee[1]})
