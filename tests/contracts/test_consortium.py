"""Consortium: bootstrap, m-of-n governance, expiry, membership and role checks."""

from __future__ import annotations

import brownie
import pytest
from brownie import chain
from eth_utils import keccak

from creditshare.bindings.consortium import ProposalKind
from creditshare.core.roles import ROLE_IDS
from tests.conftest import WEEK, ZERO32, ZERO_ADDRESS, org
from tests.contracts.helpers import reverts

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
    key = keccak(text="creditlist.viewFee")
    pid = propose(consortium, committee[0], ProposalKind.SET_PARAMETER, key=key, value=500)
    tx = consortium.approve(pid, {"from": committee[1]})
    assert tx.events["ParameterChanged"]["newValue"] == 500
    assert consortium.parameter(key) == 500
    with reverts("ConsortiumBadParameter"):
        propose(consortium, committee[0], ProposalKind.SET_PARAMETER, key=ZERO32, value=1)
    with reverts("ConsortiumBadParameter"):
        propose(consortium, committee[0], ProposalKind.SET_PARAMETER, key=consortium.PROPOSAL_TTL(), value=0)


@pytest.mark.parametrize("bad", ["zero-address", "zero-org", "existing-member", "existing-org", "no-roles",
                                 "unknown-role"])
def test_admit_rejects_bad_arguments(consortium, committee, people, bad):
    args = {"account": people["OUTSIDER"], "org_id": org("NEW"), "roles": [ROLE_IDS["LENDER"]]}
    error = {"zero-address": "ConsortiumZeroAddress", "zero-org": "ConsortiumZeroOrgId",
             "existing-member": "ConsortiumAlreadyMember", "existing-org": "ConsortiumOrgAlreadyRegistered",
             "no-roles": "ConsortiumNoRoles", "unknown-role": "ConsortiumUnknownRole"}[bad]
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
        consortium.propose(ProposalKind.ADMIT, args["account"], args["org_id"], args["roles"], ZERO32, 0,
                           {"from": committee[0]})


def test_member_changes_on_unknown_account_are_refused(consortium, committee, people):
    for kind in (ProposalKind.SET_ROLES, ProposalKind.SUSPEND, ProposalKind.REINSTATE):
        with reverts("ConsortiumNotMember"):
            consortium.propose(kind, people["OUTSIDER"], ZERO32, [ROLE_IDS["LENDER"]], ZERO32, 0,
                               {"from": committee[0]})


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
