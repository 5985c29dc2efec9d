"""Every Python mirror of a Solidity enum or constant against what brownie compiled this session.

The ABI types an enum as uint8, so the member names come from the compiled AST of our sources
(contracts/**: the `EnumDefinition` nodes); the ABI confirms that the contract the Python binding
talks to really takes or returns that enum. Role ids are the `keccak256("NAME")` constants of
contracts/libraries/Roles.sol, and the deployed Consortium must accept every one of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from enum import IntEnum
from typing import Any

import brownie
import pytest
from eth_utils import keccak

from creditshare.bindings.consortium import ProposalKind
from creditshare.bindings.credit_list import BANDS, STATUSES, Category
from creditshare.bindings.data_bus import SCOPES
from creditshare.bindings.model_registry import Action, ModelStatus, SubjectRole
from creditshare.bindings.payout_ledger import Status as PayoutStatus
from creditshare.bindings.settlement_ledger import Status
from creditshare.bindings.trip_registry import Energy, Verdict
from creditshare.core.roles import NAMES, ROLE_IDS, role_id
from tests.conftest import ZERO32, org
from tests.contracts.helpers import reverts


def names(mirror: type[IntEnum] | Sequence[str]) -> list[str]:
    """The mirror's member names in value order (an IntEnum's values must be 0, 1, 2, ...)."""
    if isinstance(mirror, type) and issubclass(mirror, IntEnum):
        assert [m.value for m in mirror] == list(range(len(mirror))), mirror
        return [m.name for m in mirror]
    return list(mirror)


def same(name: str) -> str:
    """PAYMENT_DEFAULT, payment-default and PaymentDefault are the same name."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


# Solidity enum (as `Contract.Enum`) -> (the contract whose ABI uses it, its Python mirror)
MIRRORS: dict[str, tuple[str, Any]] = {
    "ISettlementLedger.Status": ("SettlementLedger", Status),
    "IConsortium.ProposalKind": ("Consortium", ProposalKind),
    "ICreditList.Category": ("CreditList", Category),
    "ICreditList.AmountBand": ("CreditList", [band.removesuffix("-yuan") for band in BANDS]),  # labels add the unit
    "ICreditList.Status": ("CreditList", STATUSES),
    "IModelRegistry.Status": ("ModelRegistry", ModelStatus),
    "IModelRegistry.Action": ("ModelRegistry", Action),
    "IModelRegistry.SubjectRole": ("ModelRegistry", SubjectRole),
    "IPayoutLedger.Status": ("PayoutLedger", PayoutStatus),
    "ITripRegistry.Verdict": ("TripRegistry", Verdict),
    "ITripRegistry.Energy": ("TripRegistry", Energy),
}
# Python names that differ from Solidity's on purpose: (enum, Python name) -> Solidity name
RENAMED = {("IConsortium.ProposalKind", "ADMIT"): "AdmitMember"}  # `members propose admit`


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


@pytest.fixture(scope="module")
def compiled() -> dict[str, dict[str, Any]]:
    """Build data of every contract, interface and library compiled from contracts/ (not dependencies)."""
    (project,) = brownie.project.get_loaded_projects()
    return {
        name: build
        for name, build in project._build.items()
        if str(build.get("sourcePath") or "").startswith("contracts/")
    }


@pytest.fixture(scope="module")
def solidity_enums(compiled: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """`Contract.Enum` -> member names in declaration order, for every enum declared in contracts/."""
    enums: dict[str, list[str]] = {}
    for build in compiled.values():
        for node in walk(build["ast"]):
            if node.get("nodeType") == "EnumDefinition":
                enums[node["canonicalName"]] = [m["name"] for m in node["members"]]
    return enums


def abi_types(abi: list[dict[str, Any]]) -> set[str]:
    """Every internalType of an ABI, struct components included (e.g. `enum ICreditList.Category`)."""
    return {node["internalType"] for node in walk(abi) if "internalType" in node}


def test_every_solidity_enum_has_a_python_mirror(solidity_enums):
    assert set(solidity_enums) == set(MIRRORS), "an enum of contracts/ without a Python mirror (or a stale one)"


@pytest.mark.parametrize("enum", list(MIRRORS))
def test_python_mirror_equals_the_solidity_enum_member_by_member(solidity_enums, compiled, enum):
    contract, mirror = MIRRORS[enum]
    solidity = solidity_enums[enum]
    python = [RENAMED.get((enum, name), name) for name in names(mirror)]
    assert [same(n) for n in python] == [same(n) for n in solidity], f"{enum}: {solidity} vs {python}"
    assert f"enum {enum}" in abi_types(compiled[contract]["abi"]), f"{contract}'s ABI does not use {enum}"


def test_role_ids_are_the_keccak256_constants_of_roles_sol(compiled):
    constants = {}
    for node in walk(compiled["Roles"]["ast"]):
        if node.get("nodeType") == "VariableDeclaration" and node.get("constant"):
            call = node["value"]
            assert call["nodeType"] == "FunctionCall" and call["expression"]["name"] == "keccak256", node["name"]
            (literal,) = call["arguments"]
            constants[node["name"]] = literal["value"]
    member_roles = {name: text for name, text in constants.items() if name != "GOVERNOR"}  # the governance role
    assert list(member_roles) == list(NAMES)  # same roles, same order
    for name, text in member_roles.items():
        assert text == name and ROLE_IDS[name] == keccak(text=text) == role_id(name.lower())


def test_the_consortium_accepts_every_role_id_and_no_other(consortium, committee, accounts):
    newcomer = accounts.add()
    tx = consortium.propose(
        ProposalKind.ADMIT, newcomer, org("ALLROLES"), list(ROLE_IDS.values()), ZERO32, 0, {"from": committee[0]}
    )
    consortium.approve(tx.return_value, {"from": committee[1]})
    assert {bytes(r) for r in consortium.rolesOf(newcomer)} == set(ROLE_IDS.values())
    for name, role in ROLE_IDS.items():
        assert consortium.isActiveWithRole(newcomer, role), name
    with reverts("ConsortiumUnknownRole"):
        consortium.propose(
            ProposalKind.ADMIT, accounts.add(), org("GOV"), [keccak(text="GOVERNOR")], ZERO32, 0, {"from": committee[0]}
        )


def test_data_bus_scopes_are_the_contracts_constants(DataBus, consortium, committee):
    bus = DataBus.deploy(consortium, {"from": committee[0]})
    assert SCOPES == {"score": bus.SCOPE_SCORE(), "settlements": bus.SCOPE_SETTLEMENTS(), "list": bus.SCOPE_LIST()}
