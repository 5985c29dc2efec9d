"""ModelRegistry on a real Anvil: registration, committee promotion and retirement, every rejection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from brownie import Consortium, ModelRegistry, accounts, chain
from brownie.exceptions import VirtualMachineError
from brownie.test import given, strategy
from eth_utils import keccak
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from creditshare.bindings.consortium import ProposalKind
from creditshare.bindings.model_registry import Action, ModelStatus
from creditshare.core.roles import ROLE_IDS

ZERO = "0x" + "00" * 32
H1 = "0x" + keccak(b"card one").hex()
H2 = "0x" + keccak(b"card two").hex()
CID = "0x" + keccak(b"card file digest").hex()


def org(name: str) -> bytes:
    return keccak(b"org:" + name.encode())


@contextmanager
def reverts(error: str) -> Iterator[None]:
    """Expect a revert with custom error ``error`` (brownie reports "Name: args")."""
    with pytest.raises(VirtualMachineError) as info:
        yield
    msg = info.value.revert_msg or ""
    assert msg.split(":")[0] == error, msg


@pytest.fixture(scope="module")
def members() -> dict[str, Any]:
    return {
        "c1": accounts[1],
        "c2": accounts[2],
        "c3": accounts[3],
        "maintainer": accounts[4],
        "lender": accounts[5],
        "outsider": accounts[6],
        "c4": accounts[7],
    }


def _admit(cons: Any, m: dict[str, Any], who: str, roles: list[bytes]) -> None:
    tx = cons.propose(ProposalKind.ADMIT, m[who], org(who), roles, ZERO, 0, {"from": m["c1"]})
    cons.approve(tx.return_value, {"from": m["c2"]})


@pytest.fixture(scope="module")
def consortium(members: dict[str, Any]) -> Any:
    m = members
    cons = Consortium.deploy(
        [m["c1"], m["c2"], m["c3"]], [org("c1"), org("c2"), org("c3")], 2, 7 * 86400, {"from": accounts[0]}
    )
    _admit(cons, m, "maintainer", [ROLE_IDS["MAINTAINER"]])
    _admit(cons, m, "lender", [ROLE_IDS["LENDER"]])
    return cons


@pytest.fixture(scope="module")
def registry(consortium: Any) -> Any:
    return ModelRegistry.deploy(consortium, {"from": accounts[0]})


@pytest.fixture(autouse=True)
def isolation(fn_isolation: Any) -> None:
    pass


def _suspend(consortium: Any, m: dict[str, Any], who: str, proposer: str, approver: str) -> None:
    tx = consortium.propose(ProposalKind.SUSPEND, m[who], ZERO, [], ZERO, 0, {"from": m[proposer]})
    consortium.approve(tx.return_value, {"from": m[approver]})
    assert not consortium.isActive(m[who])


def _register(registry: Any, m: dict[str, Any], h: str = H1, version: int = 1) -> Any:
    return registry.register(h, version, 8123, 4950, CID, {"from": m["maintainer"]})


def _promote(registry: Any, m: dict[str, Any], h: str) -> Any:
    registry.approvePromotion(h, {"from": m["c1"]})
    return registry.approvePromotion(h, {"from": m["c2"]})


# -- deployment ----------------------------------------------------------------------------


def test_deploy_with_zero_consortium_reverts() -> None:
    with reverts("ModelRegistryZeroConsortium"):
        ModelRegistry.deploy("0x" + "00" * 20, {"from": accounts[0]})


def test_deploy_records_consortium_and_no_champion(registry: Any, consortium: Any) -> None:
    assert registry.consortium() == consortium.address
    assert registry.champion() == ZERO
    assert registry.models() == []


# -- register ------------------------------------------------------------------------------


def test_register_by_maintainer_stores_model_and_emits(registry: Any, members: dict[str, Any]) -> None:
    tx = _register(registry, members)
    rec = registry.model(H1)
    assert rec["version"] == 1 and rec["aucBps"] == 8123 and rec["ksBps"] == 4950
    assert rec["status"] == ModelStatus.REGISTERED and rec["registrant"] == members["maintainer"]
    assert rec["cardDigest"] == CID and rec["promotedAt"] == 0
    assert registry.models() == [H1]
    ev = tx.events["ModelRegistered"]
    assert ev["modelHash"] == H1 and ev["registrant"] == members["maintainer"] and ev["aucBps"] == 8123


def test_register_by_committee_member_is_allowed(registry: Any, members: dict[str, Any]) -> None:
    registry.register(H2, 2, 7000, 3000, CID, {"from": members["c3"]})
    assert registry.model(H2)["registrant"] == members["c3"]


def test_register_by_lender_reverts(registry: Any, members: dict[str, Any]) -> None:
    with reverts("ModelRegistryNotRegistrar"):
        registry.register(H1, 1, 8000, 4000, CID, {"from": members["lender"]})


def test_register_by_non_member_reverts(registry: Any, members: dict[str, Any]) -> None:
    with reverts("ModelRegistryNotRegistrar"):
        registry.register(H1, 1, 8000, 4000, CID, {"from": members["outsider"]})


def test_register_by_suspended_maintainer_reverts(registry: Any, consortium: Any, members: dict[str, Any]) -> None:
    _suspend(consortium, members, "maintainer", "c1", "c2")
    with reverts("ModelRegistryNotRegistrar"):
        _register(registry, members)


def test_register_zero_hash_reverts(registry: Any, members: dict[str, Any]) -> None:
    with reverts("ModelRegistryZeroHash"):
        registry.register(ZERO, 1, 8000, 4000, CID, {"from": members["maintainer"]})


def test_register_zero_card_digest_reverts(registry: Any, members: dict[str, Any]) -> None:
    with reverts("ModelRegistryZeroCardDigest"):
        registry.register(H1, 1, 8000, 4000, ZERO, {"from": members["maintainer"]})


def test_register_zero_version_reverts(registry: Any, members: dict[str, Any]) -> None:
    with reverts("ModelRegistryZeroVersion"):
        registry.register(H1, 0, 8000, 4000, CID, {"from": members["maintainer"]})


def test_register_auc_above_one_reverts(registry: Any, members: dict[str, Any]) -> None:
    with reverts("ModelRegistryBadMetric"):
        registry.register(H1, 1, 10001, 4000, CID, {"from": members["maintainer"]})


def test_register_ks_above_one_reverts(registry: Any, members: dict[str, Any]) -> None:
    with reverts("ModelRegistryBadMetric"):
        registry.register(H1, 1, 8000, 10001, CID, {"from": members["maintainer"]})


def test_register_same_hash_twice_reverts(registry: Any, members: dict[str, Any]) -> None:
    _register(registry, members)
    with reverts("ModelRegistryAlreadyRegistered"):
        _register(registry, members, version=2)


@given(auc=strategy("uint16"), ks=strategy("uint16"))
def test_register_accepts_exactly_metrics_up_to_10000_bps(
    registry: Any, members: dict[str, Any], auc: int, ks: int
) -> None:
    h = "0x" + keccak(f"{auc}:{ks}".encode()).hex()
    if auc <= 10_000 and ks <= 10_000:
        registry.register(h, 1, auc, ks, CID, {"from": members["maintainer"]})
        assert registry.model(h)["aucBps"] == auc and registry.model(h)["ksBps"] == ks
    else:
        with reverts("ModelRegistryBadMetric"):
            registry.register(h, 1, auc, ks, CID, {"from": members["maintainer"]})


# -- promotion -----------------------------------------------------------------------------


def test_promotion_needs_threshold_distinct_committee_approvals(registry: Any, members: dict[str, Any]) -> None:
    _register(registry, members)
    tx1 = registry.approvePromotion(H1, {"from": members["c1"]})
    assert tx1.events["ActionApproved"]["approvals"] == 1
    assert registry.champion() == ZERO and not registry.isChampion(H1)
    assert registry.approvals(H1, Action.PROMOTE) == 1 and registry.hasApproved(H1, Action.PROMOTE, members["c1"])
    tx2 = registry.approvePromotion(H1, {"from": members["c2"]})
    assert tx2.events["ChampionChanged"]["previous"] == ZERO
    assert tx2.events["ChampionChanged"]["champion"] == H1
    assert registry.champion() == H1 and registry.isChampion(H1)
    rec = registry.model(H1)
    assert rec["status"] == ModelStatus.CHAMPION and rec["promotedAt"] > 0


def test_approve_promotion_twice_by_same_member_reverts(registry: Any, members: dict[str, Any]) -> None:
    _register(registry, members)
    registry.approvePromotion(H1, {"from": members["c1"]})
    with reverts("ModelRegistryAlreadyApproved"):
        registry.approvePromotion(H1, {"from": members["c1"]})


def test_approve_promotion_by_maintainer_reverts(registry: Any, members: dict[str, Any]) -> None:
    _register(registry, members)
    with reverts("ModelRegistryNotCommittee"):
        registry.approvePromotion(H1, {"from": members["maintainer"]})


def test_approve_promotion_by_non_member_reverts(registry: Any, members: dict[str, Any]) -> None:
    _register(registry, members)
    with reverts("ModelRegistryNotCommittee"):
        registry.approvePromotion(H1, {"from": members["outsider"]})


def test_approve_promotion_of_unknown_model_reverts(registry: Any, members: dict[str, Any]) -> None:
    with reverts("ModelRegistryUnknownModel"):
        registry.approvePromotion(H1, {"from": members["c1"]})


def test_approve_promotion_of_the_champion_reverts(registry: Any, members: dict[str, Any]) -> None:
    _register(registry, members)
    _promote(registry, members, H1)
    with reverts("ModelRegistryWrongStatus"):
        registry.approvePromotion(H1, {"from": members["c3"]})


def test_new_champion_sends_previous_back_to_registered(registry: Any, members: dict[str, Any]) -> None:
    _register(registry, members, H1)
    _register(registry, members, H2, version=2)
    _promote(registry, members, H1)
    tx = _promote(registry, members, H2)
    assert tx.events["ChampionChanged"]["previous"] == H1
    assert registry.champion() == H2 and not registry.isChampion(H1)
    assert registry.model(H1)["status"] == ModelStatus.REGISTERED


def test_rollback_needs_fresh_approvals(registry: Any, members: dict[str, Any]) -> None:
    _register(registry, members, H1)
    _register(registry, members, H2, version=2)
    _promote(registry, members, H1)
    _promote(registry, members, H2)
    # approvals given for H1's first promotion do not count again
    assert registry.approvals(H1, Action.PROMOTE) == 0 and not registry.hasApproved(H1, Action.PROMOTE, members["c1"])
    registry.approvePromotion(H1, {"from": members["c1"]})
    assert registry.champion() == H2
    registry.approvePromotion(H1, {"from": members["c3"]})
    assert registry.champion() == H1


def test_suspended_approver_does_not_count(registry: Any, consortium: Any, members: dict[str, Any]) -> None:
    _register(registry, members)
    registry.approvePromotion(H1, {"from": members["c1"]})
    _suspend(consortium, members, "c1", "c2", "c3")
    assert registry.approvals(H1, Action.PROMOTE) == 0
    registry.approvePromotion(H1, {"from": members["c2"]})
    assert registry.champion() == ZERO
    registry.approvePromotion(H1, {"from": members["c3"]})
    assert registry.champion() == H1


def test_suspended_committee_member_cannot_approve(registry: Any, consortium: Any, members: dict[str, Any]) -> None:
    _register(registry, members)
    _suspend(consortium, members, "c1", "c2", "c3")
    with reverts("ModelRegistryNotCommittee"):
        registry.approvePromotion(H1, {"from": members["c1"]})


# -- retirement ----------------------------------------------------------------------------


def test_retirement_of_registered_model_needs_threshold(registry: Any, members: dict[str, Any]) -> None:
    _register(registry, members)
    registry.approveRetirement(H1, {"from": members["c1"]})
    assert registry.model(H1)["status"] == ModelStatus.REGISTERED
    tx = registry.approveRetirement(H1, {"from": members["c3"]})
    assert tx.events["ModelRetired"]["wasChampion"] is False
    assert registry.model(H1)["status"] == ModelStatus.RETIRED


def test_retiring_the_champion_leaves_no_champion(registry: Any, members: dict[str, Any]) -> None:
    _register(registry, members)
    _promote(registry, members, H1)
    registry.approveRetirement(H1, {"from": members["c1"]})
    tx = registry.approveRetirement(H1, {"from": members["c2"]})
    assert tx.events["ModelRetired"]["wasChampion"] is True
    assert tx.events["ChampionChanged"]["champion"] == ZERO
    assert registry.champion() == ZERO and not registry.isChampion(H1)


def test_promoting_a_retired_model_reverts(registry: Any, members: dict[str, Any]) -> None:
    _register(registry, members)
    registry.approveRetirement(H1, {"from": members["c1"]})
    registry.approveRetirement(H1, {"from": members["c2"]})
    with reverts("ModelRegistryWrongStatus"):
        registry.approvePromotion(H1, {"from": members["c1"]})


def test_retiring_a_retired_model_reverts(registry: Any, members: dict[str, Any]) -> None:
    _register(registry, members)
    registry.approveRetirement(H1, {"from": members["c1"]})
    registry.approveRetirement(H1, {"from": members["c2"]})
    with reverts("ModelRegistryWrongStatus"):
        registry.approveRetirement(H1, {"from": members["c3"]})


def test_approve_retirement_twice_by_same_member_reverts(registry: Any, members: dict[str, Any]) -> None:
    _register(registry, members)
    registry.approveRetirement(H1, {"from": members["c1"]})
    with reverts("ModelRegistryAlreadyApproved"):
        registry.approveRetirement(H1, {"from": members["c1"]})


def test_approve_retirement_by_maintainer_reverts(registry: Any, members: dict[str, Any]) -> None:
    _register(registry, members)
    with reverts("ModelRegistryNotCommittee"):
        registry.approveRetirement(H1, {"from": members["maintainer"]})


def test_approve_retirement_of_unknown_model_reverts(registry: Any, members: dict[str, Any]) -> None:
    with reverts("ModelRegistryUnknownModel"):
        registry.approveRetirement(H1, {"from": members["c1"]})


# -- views ---------------------------------------------------------------------------------


def test_is_champion_of_zero_hash_is_false(registry: Any) -> None:
    assert registry.isChampion(ZERO) is False


def test_model_of_unknown_hash_reverts(registry: Any) -> None:
    with reverts("ModelRegistryUnknownModel"):
        registry.model(H1)


def test_approvals_of_unknown_hash_reverts(registry: Any, members: dict[str, Any]) -> None:
    with reverts("ModelRegistryUnknownModel"):
        registry.approvals(H1, Action.PROMOTE)
    with reverts("ModelRegistryUnknownModel"):
        registry.hasApproved(H1, Action.RETIRE, members["c1"])


# -- squatting: withdrawal; approvals expire ----------------------------------------------

TTL = 7 * 86400  # ModelRegistry.APPROVAL_TTL


def _withdraw(registry: Any, m: dict[str, Any], h: str) -> Any:
    registry.approveWithdrawal(h, {"from": m["c1"]})
    return registry.approveWithdrawal(h, {"from": m["c2"]})


def test_squatted_registration_is_withdrawn_and_registered_again_by_its_builder(
    registry: Any, members: dict[str, Any]
) -> None:
    # the maintainer copies the builder's hash from the mempool and registers it first with false figures
    registry.register(H1, 1, 9999, 9999, CID, {"from": members["maintainer"]})
    assert registry.model(H1)["registrant"] == members["maintainer"]
    registry.approvePromotion(H1, {"from": members["c3"]})  # one approval given before anyone noticed
    tx = _withdraw(registry, members, H1)
    ev = tx.events["RegistrationWithdrawn"]
    assert (ev["modelHash"], ev["registrant"], ev["cardDigest"]) == (H1, members["maintainer"], CID)
    assert registry.model(H1)["status"] == ModelStatus.WITHDRAWN and not registry.isChampion(H1)
    with reverts("ModelRegistryWrongStatus"):
        registry.approvePromotion(H1, {"from": members["c1"]})
    real = "0x" + keccak(b"real card file").hex()
    registry.register(H1, 1, 8123, 4950, real, {"from": members["c3"]})
    rec = registry.model(H1)
    assert (rec["registrant"], rec["aucBps"], rec["ksBps"], rec["cardDigest"], rec["status"]) == (
        members["c3"],
        8123,
        4950,
        real,
        ModelStatus.REGISTERED,
    )
    assert list(registry.models()) == [H1]
    # the approval given to the squatted registration does not carry over
    assert registry.approvals(H1, Action.PROMOTE) == 0 and not registry.hasApproved(H1, Action.PROMOTE, members["c3"])
    registry.approvePromotion(H1, {"from": members["c1"]})
    assert registry.champion() == ZERO


def test_withdrawal_by_maintainer_reverts(registry: Any, members: dict[str, Any]) -> None:
    _register(registry, members)
    with reverts("ModelRegistryNotCommittee"):
        registry.approveWithdrawal(H1, {"from": members["maintainer"]})


def test_withdrawal_of_the_champion_or_retired_model_reverts(registry: Any, members: dict[str, Any]) -> None:
    _register(registry, members)
    _register(registry, members, H2)
    _promote(registry, members, H1)
    with reverts("ModelRegistryWrongStatus"):
        registry.approveWithdrawal(H1, {"from": members["c1"]})
    registry.approveRetirement(H2, {"from": members["c1"]})
    registry.approveRetirement(H2, {"from": members["c2"]})
    with reverts("ModelRegistryWrongStatus"):
        registry.approveWithdrawal(H2, {"from": members["c1"]})


def test_withdrawal_of_unknown_model_reverts(registry: Any, members: dict[str, Any]) -> None:
    with reverts("ModelRegistryUnknownModel"):
        registry.approveWithdrawal(H1, {"from": members["c1"]})


def test_register_over_a_live_registration_reverts_and_withdrawn_hash_cannot_be_withdrawn_twice(
    registry: Any, members: dict[str, Any]
) -> None:
    _register(registry, members)
    with reverts("ModelRegistryAlreadyRegistered"):
        registry.register(H1, 1, 1, 1, CID, {"from": members["c3"]})
    _withdraw(registry, members, H1)
    with reverts("ModelRegistryWrongStatus"):
        registry.approveWithdrawal(H1, {"from": members["c3"]})


def test_approvals_expire_after_the_ttl(registry: Any, members: dict[str, Any]) -> None:
    assert registry.APPROVAL_TTL() == TTL
    _register(registry, members)
    registry.approvePromotion(H1, {"from": members["c1"]})
    chain.sleep(TTL - 60)
    chain.mine()
    assert registry.approvals(H1, Action.PROMOTE) == 1
    with reverts("ModelRegistryAlreadyApproved"):
        registry.approvePromotion(H1, {"from": members["c1"]})
    chain.sleep(61)
    chain.mine()
    assert registry.approvals(H1, Action.PROMOTE) == 0 and not registry.hasApproved(H1, Action.PROMOTE, members["c1"])
    # a stale approval does not complete a promotion months later
    tx = registry.approvePromotion(H1, {"from": members["c2"]})
    assert tx.events["ActionApproved"]["approvals"] == 1 and registry.champion() == ZERO
    # the approver renews it and is counted once
    tx = registry.approvePromotion(H1, {"from": members["c1"]})
    assert tx.events["ActionApproved"]["approvals"] == 2 and registry.champion() == H1


# -- invariants under random sequences -----------------------------------------------------

HASHES = ["0x" + keccak(f"model {i}".encode()).hex() for i in range(2)]


class RegistryModel:
    """The registry's rules in plain Python, to compare with the contract step by step."""

    def __init__(self, registry: Any, committee: list[Any], maintainer: Any) -> None:
        self.registry, self.committee, self.maintainer = registry, committee, maintainer
        self.status: dict[str, int] = {}
        self.votes: dict[tuple[str, int], set[str]] = {}
        self.champion: str | None = None

    def _reset(self, h: str) -> None:
        self.votes.pop((h, Action.PROMOTE), None)
        self.votes.pop((h, Action.RETIRE), None)

    def register(self, h: str) -> None:
        if h in self.status:
            with reverts("ModelRegistryAlreadyRegistered"):
                self.registry.register(h, 1, 8000, 4000, CID, {"from": self.maintainer})
        else:
            self.registry.register(h, 1, 8000, 4000, CID, {"from": self.maintainer})
            self.status[h] = ModelStatus.REGISTERED

    def approve(self, h: str, who: Any, action: Action) -> None:
        fn = self.registry.approvePromotion if action == Action.PROMOTE else self.registry.approveRetirement
        allowed = (
            (ModelStatus.REGISTERED,) if action == Action.PROMOTE else (ModelStatus.REGISTERED, ModelStatus.CHAMPION)
        )
        votes = self.votes.setdefault((h, action), set())
        if h not in self.status:
            with reverts("ModelRegistryUnknownModel"):
                fn(h, {"from": who})
        elif self.status[h] not in allowed:
            with reverts("ModelRegistryWrongStatus"):
                fn(h, {"from": who})
        elif who.address in votes:
            with reverts("ModelRegistryAlreadyApproved"):
                fn(h, {"from": who})
        else:
            fn(h, {"from": who})
            votes.add(who.address)
            if len(votes) >= 2:
                if action == Action.PROMOTE:
                    if self.champion is not None:
                        self.status[self.champion] = ModelStatus.REGISTERED
                        self._reset(self.champion)
                    self.status[h] = ModelStatus.CHAMPION
                    self.champion = h
                else:
                    if self.champion == h:
                        self.champion = None
                    self.status[h] = ModelStatus.RETIRED
                self._reset(h)

    def check(self) -> None:
        assert self.registry.champion() == (self.champion or ZERO)
        assert sum(1 for s in self.status.values() if s == ModelStatus.CHAMPION) <= 1
        for h, s in self.status.items():
            assert self.registry.model(h)["status"] == s
            assert self.registry.isChampion(h) == (h == self.champion)
            for action in (Action.PROMOTE, Action.RETIRE):
                assert self.registry.approvals(h, action) == len(self.votes.get((h, action), ()))


OPS = st.lists(
    st.tuples(st.sampled_from(["register", "promote", "retire"]), st.integers(0, 1), st.integers(0, 2)),
    min_size=6,
    max_size=12,
)


@settings(max_examples=20, suppress_health_check=[HealthCheck.data_too_large, HealthCheck.too_slow])
@given(ops=OPS)
def test_registry_matches_its_rules_under_random_sequences(
    registry: Any, members: dict[str, Any], ops: list[tuple[str, int, int]]
) -> None:
    model = RegistryModel(registry, [members["c1"], members["c2"], members["c3"]], members["maintainer"])
    model.register(HASHES[0])
    for name, m, who in ops:
        h = HASHES[m]
        if name == "register":
            model.register(h)
        else:
            model.approve(h, model.committee[who], Action.PROMOTE if name == "promote" else Action.RETIRE)
        model.check()
