# ruff: noqa: F811  (the module fixtures of test_model_registry, imported)
"""ModelRegistry's champion per role (#17): a model scores one role, fixed at registration; promoting it replaces
only its role's champion; a model of another role is refused; the champion set names all three for one report."""

from __future__ import annotations

from typing import Any

import pytest
from brownie import ModelRegistry, ScoreOracle, accounts
from eth_abi import encode
from eth_utils import keccak

from creditshare.bindings.model_registry import ModelStatus, SubjectRole
from tests.contracts.test_model_registry import CID, ZERO, consortium, members, reverts  # noqa: F401

SHIP = "0x" + keccak(b"shipper card").hex()
CAR = "0x" + keccak(b"carrier card").hex()
PLT = "0x" + keccak(b"platform card").hex()


@pytest.fixture(scope="module")
def registry(consortium: Any) -> Any:
    return ModelRegistry.deploy(consortium, {"from": accounts[0]})


@pytest.fixture(autouse=True)
def isolation(fn_isolation: Any) -> None:
    pass


def _register(registry: Any, m: dict[str, Any], h: str, role: SubjectRole) -> Any:
    if role == SubjectRole.SHIPPER:
        return registry.register(h, 1, 8000, 4000, CID, {"from": m["maintainer"]})
    return registry.registerForRole(h, 1, 8000, 4000, CID, int(role), {"from": m["maintainer"]})


def _promote_as(registry: Any, m: dict[str, Any], h: str, role: SubjectRole) -> Any:
    registry.approvePromotionAs(h, int(role), {"from": m["c1"]})
    return registry.approvePromotionAs(h, int(role), {"from": m["c2"]})


def _set(shipper: str, carrier: str, platform: str) -> str:
    tag = "CreditShare champion set"
    raw = encode(
        ["string", "bytes32", "bytes32", "bytes32"],
        [tag, *(bytes.fromhex(h[2:]) for h in (shipper, carrier, platform))],
    )
    return "0x" + keccak(raw).hex()


def test_register_for_role_stores_the_role(registry: Any, members: dict[str, Any]) -> None:
    _register(registry, members, CAR, SubjectRole.CARRIER)
    _register(registry, members, SHIP, SubjectRole.SHIPPER)
    assert registry.model(CAR)[9] == SubjectRole.CARRIER
    assert registry.model(SHIP)[9] == SubjectRole.SHIPPER


def test_register_for_role_by_lender_reverts(registry: Any, members: dict[str, Any]) -> None:
    with reverts("ModelRegistryNotRegistrar"):
        registry.registerForRole(CAR, 1, 8000, 4000, CID, int(SubjectRole.CARRIER), {"from": members["lender"]})


def test_each_role_has_its_own_champion(registry: Any, members: dict[str, Any]) -> None:
    m = members
    for h, role in ((SHIP, SubjectRole.SHIPPER), (CAR, SubjectRole.CARRIER), (PLT, SubjectRole.PLATFORM)):
        _register(registry, m, h, role)
    _promote_as(registry, m, SHIP, SubjectRole.SHIPPER)
    tx = _promote_as(registry, m, CAR, SubjectRole.CARRIER)
    assert tx.events["RoleChampionChanged"]["role"] == SubjectRole.CARRIER
    assert "ChampionChanged" not in tx.events  # the shipper champion's event only
    # promoting the carrier card left the shipper champion in place
    assert registry.champion() == SHIP and registry.championOf(int(SubjectRole.SHIPPER)) == SHIP
    assert registry.championOf(int(SubjectRole.CARRIER)) == CAR
    assert registry.championOf(int(SubjectRole.PLATFORM)) == ZERO
    assert registry.championSet() == _set(SHIP, CAR, ZERO)
    _promote_as(registry, m, PLT, SubjectRole.PLATFORM)
    full = _set(SHIP, CAR, PLT)
    assert registry.championSet() == full
    assert list(registry.championSetMembers(full)) == [SHIP, CAR, PLT]
    # the older set still opens: a report scored under it verifies later
    assert list(registry.championSetMembers(_set(SHIP, CAR, ZERO))) == [SHIP, CAR, ZERO]
    assert registry.isChampion(SHIP) and registry.isChampion(CAR) and registry.isChampion(PLT)
    assert registry.isChampion(full) and not registry.isChampion(_set(SHIP, CAR, ZERO))
    assert not registry.isChampion(ZERO)


def test_approve_promotion_keeps_the_registered_role(registry: Any, members: dict[str, Any]) -> None:
    m = members
    _register(registry, m, SHIP, SubjectRole.SHIPPER)
    _register(registry, m, CAR, SubjectRole.CARRIER)
    registry.approvePromotion(SHIP, {"from": m["c1"]})
    registry.approvePromotion(SHIP, {"from": m["c2"]})
    registry.approvePromotion(CAR, {"from": m["c1"]})
    registry.approvePromotion(CAR, {"from": m["c2"]})
    assert registry.champion() == SHIP and registry.championOf(int(SubjectRole.CARRIER)) == CAR


def test_promotion_as_another_role_reverts(registry: Any, members: dict[str, Any]) -> None:
    _register(registry, members, CAR, SubjectRole.CARRIER)
    with reverts("ModelRegistryWrongRole"):
        registry.approvePromotionAs(CAR, int(SubjectRole.PLATFORM), {"from": members["c1"]})
    with reverts("ModelRegistryWrongRole"):
        registry.approvePromotionAs(CAR, int(SubjectRole.SHIPPER), {"from": members["c1"]})
    assert registry.championOf(int(SubjectRole.PLATFORM)) == ZERO and registry.championSet() == ZERO


def test_promotion_as_by_non_committee_reverts(registry: Any, members: dict[str, Any]) -> None:
    _register(registry, members, CAR, SubjectRole.CARRIER)
    with reverts("ModelRegistryNotCommittee"):
        registry.approvePromotionAs(CAR, int(SubjectRole.CARRIER), {"from": members["maintainer"]})


def test_a_new_champion_of_a_role_demotes_only_that_roles_old_one(
    registry: Any,
    members: dict[str, Any],
) -> None:
    m = members
    car2 = "0x" + keccak(b"carrier card two").hex()
    for h, role in ((SHIP, SubjectRole.SHIPPER), (CAR, SubjectRole.CARRIER), (car2, SubjectRole.CARRIER)):
        _register(registry, m, h, role)
        _promote_as(registry, m, h, role)
    assert registry.model(CAR)[3] == ModelStatus.REGISTERED
    assert registry.model(SHIP)[3] == ModelStatus.CHAMPION
    assert registry.championOf(int(SubjectRole.CARRIER)) == car2


def test_retiring_a_role_champion_clears_only_that_role(registry: Any, members: dict[str, Any]) -> None:
    m = members
    for h, role in ((SHIP, SubjectRole.SHIPPER), (CAR, SubjectRole.CARRIER)):
        _register(registry, m, h, role)
        _promote_as(registry, m, h, role)
    registry.approveRetirement(CAR, {"from": m["c1"]})
    tx = registry.approveRetirement(CAR, {"from": m["c2"]})
    assert tx.events["RoleChampionChanged"]["champion"] == ZERO
    assert registry.championOf(int(SubjectRole.CARRIER)) == ZERO and registry.champion() == SHIP
    assert registry.championSet() == _set(SHIP, ZERO, ZERO)


def test_unknown_champion_set_reverts(registry: Any) -> None:
    with reverts("ModelRegistryUnknownChampionSet"):
        registry.championSetMembers(SHIP)


def test_score_oracle_accepts_the_champion_set_as_champion(
    registry: Any, consortium: Any, members: dict[str, Any]
) -> None:
    # ScoreOracle asks isChampion(report.modelHash): the champion set passes it, so one report scores every role
    m = members
    oracle = ScoreOracle.deploy(consortium, registry, {"from": accounts[0]})
    _register(registry, m, CAR, SubjectRole.CARRIER)
    _promote_as(registry, m, CAR, SubjectRole.CARRIER)
    assert oracle.modelRegistry() == registry.address
    assert registry.isChampion(registry.championSet())
