"""Consortium validators: the committee admits, suspends and reinstates a validator organisation with its
node's Clique signer address; every refusal has its own custom error."""

from __future__ import annotations

from brownie import accounts as brownie_accounts
from brownie.test import given
from eth_utils import to_checksum_address
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from creditshare.bindings.consortium import ProposalKind
from creditshare.core.roles import ROLE_IDS
from tests.conftest import ZERO32, ZERO_ADDRESS, org
from tests.contracts.helpers import reverts

SIGNER = "0x" + "5a" * 20
SIGNER2 = "0x" + "5b" * 20


def propose(consortium, who, kind, account=ZERO_ADDRESS, org_id=ZERO32, roles=(), value=0):
    tx = consortium.propose(kind, account, org_id, [ROLE_IDS[r] for r in roles], ZERO32, value, {"from": who})
    return tx.return_value


def passed(consortium, committee, kind, account, org_id=ZERO32, roles=(), value=0):
    """Proposes with committee[0] and approves with committee[1]: the proposal executes (2 of 3)."""
    pid = propose(consortium, committee[0], kind, account, org_id, roles, value)
    return consortium.approve(pid, {"from": committee[1]})


def as_row(v) -> tuple[str, str, bool]:
    return (to_checksum_address(v[0]), to_checksum_address(v[1]), bool(v[2]))


def test_admit_validator_for_a_member_registers_its_signer(consortium, committee, people):
    platform = people["PLATFORM"]
    tx = passed(consortium, committee, ProposalKind.ADMIT_VALIDATOR, platform, value=int(SIGNER, 16))
    assert tx.events["ValidatorAdmitted"]["account"] == platform
    assert tx.events["ValidatorAdmitted"]["signer"] == to_checksum_address(SIGNER)
    assert consortium.validatorCount() == 1
    assert as_row(consortium.validator(platform)) == (platform.address, to_checksum_address(SIGNER), True)
    assert consortium.validatorBySigner(SIGNER) == platform
    assert [as_row(v) for v in consortium.validators(0, 10)] == [(platform.address, to_checksum_address(SIGNER), True)]


def test_admit_validator_admits_a_new_organisation_in_the_same_proposal(consortium, committee, people):
    newcomer = people["OUTSIDER"]
    tx = passed(
        consortium, committee, ProposalKind.ADMIT_VALIDATOR, newcomer, org("NODE"), ["PLATFORM"], int(SIGNER, 16)
    )
    assert "MemberAdmitted" in tx.events and "ValidatorAdmitted" in tx.events
    assert consortium.isActiveWithRole(newcomer, ROLE_IDS["PLATFORM"])
    assert consortium.memberByOrg(org("NODE")) == newcomer
    assert consortium.validator(newcomer)[2] is True


def test_suspend_and_reinstate_validator_flip_its_active_flag(consortium, committee, people):
    platform = people["PLATFORM"]
    passed(consortium, committee, ProposalKind.ADMIT_VALIDATOR, platform, value=int(SIGNER, 16))
    tx = passed(consortium, committee, ProposalKind.SUSPEND_VALIDATOR, platform)
    assert tx.events["ValidatorSuspended"]["signer"] == to_checksum_address(SIGNER)
    assert consortium.validator(platform)[2] is False
    assert consortium.isActive(platform)  # the member stays active: only its node stops sealing
    tx = passed(consortium, committee, ProposalKind.REINSTATE_VALIDATOR, platform)
    assert tx.events["ValidatorReinstated"]["account"] == platform
    assert consortium.validator(platform)[2] is True


def test_a_suspended_member_makes_its_validator_inactive(consortium, committee, people):
    platform = people["PLATFORM"]
    passed(consortium, committee, ProposalKind.ADMIT_VALIDATOR, platform, value=int(SIGNER, 16))
    passed(consortium, committee, ProposalKind.SUSPEND, platform)
    assert consortium.validator(platform)[2] is False
    assert consortium.validators(0, 1)[0][2] is False


def test_validators_pages_in_order_of_admission(consortium, committee, people):
    names = ["PLATFORM", "SHIPPER", "LENDER"]
    for i, name in enumerate(names):
        passed(consortium, committee, ProposalKind.ADMIT_VALIDATOR, people[name], value=0x1000 + i)
    assert [v[0] for v in consortium.validators(0, 2)] == [people["PLATFORM"], people["SHIPPER"]]
    assert [v[0] for v in consortium.validators(2, 2)] == [people["LENDER"]]
    assert consortium.validators(3, 5) == []
    assert consortium.validators(2**256 - 1, 2**256 - 1) == []  # no overflow at the type's maximum
    assert len(consortium.validators(1, 2**256 - 1)) == 2


def test_validator_proposals_from_a_non_committee_member_are_refused(consortium, people):
    for kind, value in (
        (ProposalKind.ADMIT_VALIDATOR, int(SIGNER, 16)),
        (ProposalKind.SUSPEND_VALIDATOR, 0),
        (ProposalKind.REINSTATE_VALIDATOR, 0),
    ):
        with reverts("ConsortiumNotCommittee"):
            propose(consortium, people["PLATFORM"], kind, people["PLATFORM"], value=value)


def test_admit_validator_refuses_a_zero_or_too_wide_signer(consortium, committee, people):
    for value in (0, 2**160, 2**256 - 1):
        with reverts("ConsortiumBadSigner"):
            propose(consortium, committee[0], ProposalKind.ADMIT_VALIDATOR, people["PLATFORM"], value=value)


def test_admit_validator_refuses_a_signer_already_used(consortium, committee, people):
    passed(consortium, committee, ProposalKind.ADMIT_VALIDATOR, people["PLATFORM"], value=int(SIGNER, 16))
    with reverts("ConsortiumSignerAlreadyUsed"):
        propose(consortium, committee[0], ProposalKind.ADMIT_VALIDATOR, people["SHIPPER"], value=int(SIGNER, 16))
    # a suspended validator's signer is not free either
    passed(consortium, committee, ProposalKind.SUSPEND_VALIDATOR, people["PLATFORM"])
    with reverts("ConsortiumSignerAlreadyUsed"):
        propose(consortium, committee[0], ProposalKind.ADMIT_VALIDATOR, people["SHIPPER"], value=int(SIGNER, 16))


def test_admit_validator_refuses_a_member_that_is_a_validator_already(consortium, committee, people):
    passed(consortium, committee, ProposalKind.ADMIT_VALIDATOR, people["PLATFORM"], value=int(SIGNER, 16))
    with reverts("ConsortiumAlreadyValidator"):
        propose(consortium, committee[0], ProposalKind.ADMIT_VALIDATOR, people["PLATFORM"], value=int(SIGNER2, 16))


def test_admit_validator_refuses_org_or_roles_for_an_existing_member(consortium, committee, people):
    with reverts("ConsortiumAlreadyMember"):
        propose(
            consortium, committee[0], ProposalKind.ADMIT_VALIDATOR, people["PLATFORM"], org("X"), value=int(SIGNER, 16)
        )


def test_admit_validator_refuses_a_suspended_member(consortium, committee, people):
    passed(consortium, committee, ProposalKind.SUSPEND, people["PLATFORM"])
    with reverts("ConsortiumMemberNotActive"):
        propose(consortium, committee[0], ProposalKind.ADMIT_VALIDATOR, people["PLATFORM"], value=int(SIGNER, 16))


def test_admit_validator_of_a_new_organisation_needs_org_and_roles(consortium, committee, people):
    with reverts("ConsortiumNotMember"):
        propose(consortium, committee[0], ProposalKind.ADMIT_VALIDATOR, people["OUTSIDER"], value=int(SIGNER, 16))
    with reverts("ConsortiumNoRoles"):
        propose(
            consortium, committee[0], ProposalKind.ADMIT_VALIDATOR, people["OUTSIDER"], org("N"), value=int(SIGNER, 16)
        )
    with reverts("ConsortiumZeroOrgId"):
        propose(consortium, committee[0], ProposalKind.ADMIT_VALIDATOR, people["OUTSIDER"], ZERO32, ["PLATFORM"], 1)
    with reverts("ConsortiumZeroAddress"):
        propose(consortium, committee[0], ProposalKind.ADMIT_VALIDATOR, ZERO_ADDRESS, org("N"), ["PLATFORM"], 1)


def test_suspend_or_reinstate_refuses_a_non_validator_and_a_wrong_state(consortium, committee, people):
    for kind in (ProposalKind.SUSPEND_VALIDATOR, ProposalKind.REINSTATE_VALIDATOR):
        with reverts("ConsortiumNotValidator"):
            propose(consortium, committee[0], kind, people["SHIPPER"])
    passed(consortium, committee, ProposalKind.ADMIT_VALIDATOR, people["PLATFORM"], value=int(SIGNER, 16))
    with reverts("ConsortiumValidatorNotSuspended"):
        propose(consortium, committee[0], ProposalKind.REINSTATE_VALIDATOR, people["PLATFORM"])
    passed(consortium, committee, ProposalKind.SUSPEND_VALIDATOR, people["PLATFORM"])
    with reverts("ConsortiumValidatorAlreadySuspended"):
        propose(consortium, committee[0], ProposalKind.SUSPEND_VALIDATOR, people["PLATFORM"])


def test_admit_validator_is_rechecked_at_execution(consortium, committee, people):
    """Two open proposals for one signer: the second to execute is refused (the registry changed)."""
    first = propose(consortium, committee[0], ProposalKind.ADMIT_VALIDATOR, people["PLATFORM"], value=int(SIGNER, 16))
    second = propose(consortium, committee[0], ProposalKind.ADMIT_VALIDATOR, people["SHIPPER"], value=int(SIGNER, 16))
    consortium.approve(first, {"from": committee[1]})
    with reverts("ConsortiumSignerAlreadyUsed"):
        consortium.approve(second, {"from": committee[1]})


def test_at_most_max_validators(consortium, committee):
    limit = consortium.MAX_VALIDATORS()
    assert limit == 32
    fresh = [brownie_accounts.add() for _ in range(limit + 1)]
    for i, who in enumerate(fresh[:limit]):
        passed(consortium, committee, ProposalKind.ADMIT_VALIDATOR, who, org(f"V{i}"), ["PLATFORM"], 0x2000 + i)
    assert consortium.validatorCount() == limit
    assert len(consortium.validators(0, 2**256 - 1)) == limit
    with reverts("ConsortiumTooManyValidators"):
        propose(consortium, committee[0], ProposalKind.ADMIT_VALIDATOR, fresh[-1], org("VX"), ["PLATFORM"], 0x3000)


@given(
    offset=st.one_of(st.integers(0, 6), st.integers(0, 2**256 - 1)),
    limit=st.one_of(st.integers(0, 6), st.integers(0, 2**256 - 1)),
)
@settings(max_examples=40, suppress_health_check=list(HealthCheck))
def test_validators_is_the_slice_offset_to_offset_plus_limit(consortium, committee, people, offset, limit):
    """validators(offset, limit) == the admission list [offset:offset+limit], at any uint256 offset and limit."""
    names = ["PLATFORM", "SHIPPER", "LENDER"]
    if consortium.validatorCount() == 0:  # hypothesis examples share the test's isolated state
        for i, name in enumerate(names):
            passed(consortium, committee, ProposalKind.ADMIT_VALIDATOR, people[name], value=0x1000 + i)
    everyone = [people[n].address for n in names]
    assert [v[0] for v in consortium.validators(offset, limit)] == everyone[offset : offset + limit]
