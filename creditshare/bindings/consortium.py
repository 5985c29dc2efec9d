"""Consortium membership and committee proposals through the chain client."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import is_address, keccak, to_checksum_address
from web3.logs import DISCARD

from creditshare.core import roles
from creditshare.core.chain import ChainClient, encode_call
from creditshare.core.errors import InvalidInput
from creditshare.core.ids import to_hex

ZERO32 = bytes(32)
ZERO_ADDRESS = "0x" + "00" * 20


class ProposalKind(IntEnum):
    ADMIT = 0
    SET_ROLES = 1
    SUSPEND = 2
    REINSTATE = 3
    SET_THRESHOLD = 4
    SET_PARAMETER = 5
    ADMIT_VALIDATOR = 6
    SUSPEND_VALIDATOR = 7
    REINSTATE_VALIDATOR = 8

    @classmethod
    def parse(cls, text: str) -> ProposalKind:
        key = text.strip().upper().replace("-", "_")
        if key not in cls.__members__:
            names = ", ".join(k.lower().replace("_", "-") for k in cls.__members__)
            raise InvalidInput(f"unknown proposal kind {text!r}; choose one of {names}.")
        return cls[key]


def parameter_key(name: str) -> bytes:
    """Governed parameters are named by text (e.g. consortium.proposalTtl); the key is its keccak256."""
    if not name or len(name) > 128:
        raise InvalidInput("a parameter name must be 1-128 characters, e.g. consortium.proposalTtl.")
    return keccak(text=name)


# the most validators Consortium ever admits (MAX_VALIDATORS): a Clique signer set is small
MAX_VALIDATORS = 32
VALIDATOR_KINDS = (ProposalKind.ADMIT_VALIDATOR, ProposalKind.SUSPEND_VALIDATOR, ProposalKind.REINSTATE_VALIDATOR)


def signer_address(text: str) -> str:
    """A validator node's Clique signer address, checksummed; refuses anything else (not a keystore name:
    the signer key lives on its node)."""
    text = text.strip()
    if not is_address(text) or int(text, 16) == 0:
        raise InvalidInput(f"signer {text!r} is not a 20-byte hex address (0x followed by 40 hex digits, not zero).")
    return to_checksum_address(text)


DAY = 86_400
MAX_MONEY = 2**128 - 1
# The governed parameters and their inclusive [min, max], mirroring contracts/libraries/Parameters.sol
# (a test compares them with Consortium.parameterBounds). None as max: the number of active ORACLE
# members, read from the chain. The contract refuses any other name.
PARAMETER_BOUNDS: dict[str, tuple[int, int | None]] = {
    "consortium.proposalTtl": (3_600, 90 * DAY),
    "creditList.entryTtl": (0, 3_650 * DAY),  # 0: posting is off
    "creditList.minStake": (0, MAX_MONEY),
    "creditList.contestDeposit": (0, MAX_MONEY),
    "creditList.viewFee": (0, MAX_MONEY),
    "creditList.reciprocityWindow": (0, 3_650 * DAY),
    "creditList.reciprocityDiscountBps": (0, 10_000),
    # never set, these three take CreditList's defaults (3, 16, 30 days)
    "creditList.maxLivePerMaintainer": (1, 8),
    "creditList.maxMaintainersPerSubject": (1, 32),
    "creditList.contestTimeout": (DAY, 365 * DAY),
    "oracle.threshold": (2, None),  # k of n: at least 2, at most the active oracles
    "settlementLedger.disputeWindow": (DAY, 90 * DAY),  # never set: the ledger's 7 days
}


def check_parameter(name: str, value: int, active_oracles: int | None = None) -> None:
    """Refuses, before anything is sent, what Consortium.propose would refuse for SET_PARAMETER `name`."""
    if name not in PARAMETER_BOUNDS:
        raise InvalidInput(f"unknown governed parameter {name!r}; choose one of {', '.join(PARAMETER_BOUNDS)}.")
    low, high = PARAMETER_BOUNDS[name]
    if high is None:
        if active_oracles is None:
            raise ValueError(f"{name} is bounded by the active oracle count: pass active_oracles.")
        high = active_oracles
    if not low <= value <= high:
        what = f"{high} (the active ORACLE members)" if PARAMETER_BOUNDS[name][1] is None else str(high)
        raise InvalidInput(f"{name} must be between {low} and {what}; got {value}.")


@dataclass(frozen=True)
class Member:
    address: str
    org_id: bytes
    active: bool
    admitted_at: int
    roles: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "org_id": to_hex(self.org_id),
            "active": self.active,
            "admitted_at": self.admitted_at,
            "roles": list(self.roles),
        }


@dataclass(frozen=True)
class ValidatorSigner:
    """A validator of the registry: member `member` runs a node sealing as Clique signer `signer`. `active`
    is False when the validator or its member is suspended: its signer must then be voted out."""

    member: str
    signer: str
    active: bool

    def to_json(self) -> dict[str, Any]:
        return {"member": self.member, "signer": self.signer, "active": self.active}


class Consortium:
    """The Consortium contract: members and proposals."""

    def __init__(self, client: ChainClient) -> None:
        self.client = client
        self.contract = client.contract("Consortium")

    def is_active_with_role(self, address: str, role: str) -> bool:
        """Whether `address` is an active member holding `role` (a name of creditshare.core.roles.NAMES)."""
        return bool(
            self.client.call(self.contract, "isActiveWithRole", to_checksum_address(address), roles.role_id(role))[0]
        )

    def active_members_with_role(self, role: str) -> list[str]:
        return [str(a) for a in self.client.call(self.contract, "activeMembersWithRole", roles.role_id(role))[0]]

    def member_count(self) -> int:
        return len(self.client.call(self.contract, "members")[0])

    def member(self, address: str) -> Member | None:
        address = to_checksum_address(address)
        ((org_id, active, admitted),) = self.client.call(self.contract, "member", address)
        if admitted == 0:
            return None
        (held,) = self.client.call(self.contract, "rolesOf", address)
        return Member(address, bytes(org_id), bool(active), int(admitted), tuple(roles.name_of(bytes(r)) for r in held))

    def member_by_org(self, org_id: bytes) -> Member | None:
        address = self.client.read(lambda: self.contract.functions.memberByOrg(org_id).call(), "member")
        return None if int(address, 16) == 0 else self.member(address)

    def members(self) -> list[Member]:
        addresses = self.client.read(lambda: self.contract.functions.members().call(), "members")
        return [m for a in addresses if (m := self.member(a)) is not None]

    def validator_signers(self) -> list[ValidatorSigner]:
        """Every validator ever admitted, in order of admission, with its signer and whether it may seal now."""
        out: list[ValidatorSigner] = []
        page = 16
        while True:
            rows = self.client.call(self.contract, "validators", len(out), page)[0]
            out.extend(ValidatorSigner(to_checksum_address(m), to_checksum_address(s), bool(a)) for m, s, a in rows)
            if len(rows) < page:
                return out

    def validator(self, member: str) -> ValidatorSigner | None:
        """The validator record of `member` (None if it is not a validator)."""
        m, s, a = self.client.call(self.contract, "validator", to_checksum_address(member))[0]
        return None if int(s, 16) == 0 else ValidatorSigner(to_checksum_address(m), to_checksum_address(s), bool(a))

    def validator_by_signer(self, signer: str) -> str | None:
        """The member that registered Clique signer `signer` (None if no validator did)."""
        holder = self.client.call(self.contract, "validatorBySigner", to_checksum_address(signer))[0]
        return None if int(holder, 16) == 0 else to_checksum_address(holder)

    def check_validator_proposal(
        self, kind: ProposalKind, member: str, signer: str | None = None, org_id: bytes = ZERO32
    ) -> None:
        """Refuses, before anything is sent, what Consortium.propose would refuse for a validator proposal."""
        current = self.validator(member)
        if kind == ProposalKind.ADMIT_VALIDATOR:
            if signer is None:
                raise InvalidInput("admitting a validator needs its node's signer address (--signer).")
            if current is not None:
                raise InvalidInput(f"{member} is a validator already (signer {current.signer}).")
            holder = self.validator_by_signer(signer)
            if holder is not None:
                raise InvalidInput(
                    f"signer {signer} is registered already, to validator {holder}; a signer is never reused."
                )
            known = self.member(member)
            if known is None and org_id == ZERO32:
                raise InvalidInput(f"{member} is not a member: admitting it as a validator needs --org and --role.")
            if known is not None and org_id != ZERO32:
                raise InvalidInput(f"{member} is a member already: admit it as a validator without --org and --role.")
            if known is not None and not known.active:
                raise InvalidInput(f"{member} is a suspended member: reinstate it before admitting it as a validator.")
            if len(self.validator_signers()) >= MAX_VALIDATORS:
                raise InvalidInput(f"the consortium has {MAX_VALIDATORS} validators, its maximum.")
        elif current is None:
            raise InvalidInput(f"{member} is not a validator.")
        # suspended or not: the contract's own refusal names it (ConsortiumValidatorAlreadySuspended, ...)

    def propose_validators(
        self, account: LocalAccount, rows: list[tuple[str, str, bytes, tuple[str, ...]]], on_mined: Any = None
    ) -> list[dict[str, Any]]:
        """Opens one admit-validator proposal per (member, signer, org id, roles) row, pipelined; idempotent.

        org id ZERO32 and no roles: the member exists already; else it is admitted by the same proposal. A row
        whose member is a validator with that signer already, or has an open proposal for it, is skipped and
        reported. Everything is checked before the first proposal is sent. Returns, per row,
        {"member", "signer", "proposal" (id or None), "status"}; CallsRefused and PartialWrite items are row
        indexes.
        """
        members: set[str] = set()
        signers: set[str] = set()
        for member, signer, _org, _roles in rows:
            if member.lower() in members:
                raise InvalidInput(f"{member} is listed twice.")
            if signer.lower() in signers:
                raise InvalidInput(f"signer {signer} is listed twice.")
            members.add(member.lower())
            signers.add(signer.lower())
        now = self.client.block_timestamp()
        open_admits = {
            (p["account"].lower(), p["value"]): p["id"]
            for p in self.proposals()
            if p["kind"] == "admit-validator" and not p["executed"] and p["deadline"] > now
        }
        out: list[dict[str, Any]] = []
        calls, pending, bad = [], [], []
        for member, signer, org_id, role_names in rows:
            current = self.validator(member)
            entry = {"member": member, "signer": signer, "proposal": None, "status": "proposed"}
            if current is not None and current.signer.lower() == signer.lower():
                entry["status"] = "already a validator"
            elif (member.lower(), int(signer, 16)) in open_admits:
                entry.update(proposal=open_admits[(member.lower(), int(signer, 16))], status="open already")
            else:
                try:
                    self.check_validator_proposal(ProposalKind.ADMIT_VALIDATOR, member, signer, org_id)
                except InvalidInput as err:
                    bad.append(str(err))
                pending.append(len(out))
                calls.append(
                    encode_call(
                        self.contract,
                        "propose",
                        int(ProposalKind.ADMIT_VALIDATOR),
                        to_checksum_address(member),
                        org_id,
                        [roles.role_id(r) for r in role_names],
                        ZERO32,
                        int(signer, 16),
                    )
                )
            out.append(entry)
        if bad:
            raise InvalidInput("nothing sent: " + "; ".join(bad[:10]))
        receipts = (
            self.client.transact_many(
                calls,
                account,
                "the admit-validator proposals",
                on_mined=on_mined,
                scale_gas=True,
                items=[[i] for i in pending],
            )
            if calls
            else []
        )
        for index, receipt in zip(pending, receipts, strict=True):
            created = self.contract.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
            out[index]["proposal"] = int(created[0]["args"]["proposalId"])
        return out

    def propose(
        self,
        account: LocalAccount,
        kind: ProposalKind,
        target: str | None = None,
        org_id: bytes = ZERO32,
        role_names: tuple[str, ...] = (),
        key: bytes = ZERO32,
        value: int = 0,
    ) -> int:
        """Opens a proposal (counting the proposer's approval) and returns its id."""
        if kind in (ProposalKind.ADMIT, ProposalKind.SET_ROLES) and not role_names:
            raise InvalidInput("admitting a member or setting roles needs at least one --role.")
        if kind in (ProposalKind.ADMIT, ProposalKind.SET_ROLES, ProposalKind.SUSPEND, ProposalKind.REINSTATE):
            if not target:
                raise InvalidInput(f"a {kind.name.lower()} proposal needs the member's address.")
        if kind in VALIDATOR_KINDS and not target:
            raise InvalidInput(
                f"a {kind.name.lower().replace('_', '-')} proposal needs the member's address (--member)."
            )
        if kind == ProposalKind.ADMIT and org_id == ZERO32:
            raise InvalidInput("admitting a member needs its organisation (--org).")
        if value < 0:
            raise InvalidInput(f"value must not be negative; got {value}.")
        role_ids = [roles.role_id(r) for r in role_names]
        call = encode_call(
            self.contract,
            "propose",
            int(kind),
            to_checksum_address(target) if target else ZERO_ADDRESS,
            org_id,
            role_ids,
            key,
            value,
        )
        receipt = self.client.transact(call, account, "the proposal")
        created = self.contract.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
        return int(created[0]["args"]["proposalId"])

    def propose_admissions(
        self, account: LocalAccount, rows: list[tuple[str, bytes, tuple[str, ...]]], on_mined: Any = None
    ) -> list[dict[str, Any]]:
        """Opens one admit proposal per (address, org id, roles) row, pipelined; idempotent.

        A row whose address is a member already, of the same organisation and with every role the row names, is
        reported as such (a rerun of the same file sends nothing); a member the row contradicts (another
        organisation, a role it does not hold) refuses the whole file before anything is sent, naming the row
        (its `where` attribute if it has one, as domain.admissions.Admission rows do), what the row says and
        what the chain says. A row with an open (unexecuted, unexpired) admit proposal for the same address
        reuses it.
        Returns, per row, {"address", "proposal" (id or None), "status"}. The items of CallsRefused and
        PartialWrite are indexes in `rows`.
        """
        seen: set[str] = set()
        orgs: set[bytes] = set()
        for address, org_id, role_names in rows:
            if address.lower() in seen:
                raise InvalidInput(f"{address} is listed twice.")
            if org_id in orgs:
                raise InvalidInput(f"organisation {to_hex(org_id)} is listed twice.")
            seen.add(address.lower())
            orgs.add(org_id)
            if not role_names:
                raise InvalidInput(f"{address}: admitting a member needs at least one role.")
            if org_id == ZERO32:
                raise InvalidInput(f"{address}: admitting a member needs its organisation.")
            for r in role_names:
                roles.role_id(r)
        now = self.client.block_timestamp()
        open_admits = {
            (p["account"].lower(), p["org_id"], tuple(sorted(p["roles"]))): p["id"]
            for p in self.proposals()
            if p["kind"] == "admit" and not p["executed"] and p["deadline"] > now
        }
        out: list[dict[str, Any]] = []
        calls, pending = [], []
        taken = []
        members: list[Member | None] = []
        for index, (address, org_id, role_names) in enumerate(rows):
            holder = self.client.call(self.contract, "memberByOrg", org_id)[0]
            if int(holder, 16) != 0 and holder.lower() != address.lower():
                taken.append(f"{to_hex(org_id)} is {holder}'s organisation, not {address}'s")
            members.append(m := self.member(address))
            if m is not None and (conflict := _contradiction(m, org_id, role_names)):
                where = getattr(rows[index], "where", f"row {index + 1}")
                taken.append(f"{where}: member {m.address} is on chain {conflict}")
        if taken:
            raise InvalidInput("nothing sent: " + "; ".join(taken[:10]))
        for (address, org_id, role_names), m in zip(rows, members, strict=True):
            same = (address.lower(), to_hex(org_id), tuple(sorted(r.upper() for r in role_names)))
            if m is not None:
                out.append({"address": address, "proposal": None, "status": "already a member"})
            elif same in open_admits:
                out.append({"address": address, "proposal": open_admits[same], "status": "open already"})
            else:
                pending.append(len(out))
                out.append({"address": address, "proposal": None, "status": "proposed"})
                calls.append(
                    encode_call(
                        self.contract,
                        "propose",
                        int(ProposalKind.ADMIT),
                        to_checksum_address(address),
                        org_id,
                        [roles.role_id(r) for r in role_names],
                        ZERO32,
                        0,
                    )
                )
        # every proposal is checked before the first is sent; CallsRefused and PartialWrite name rows by index
        receipts = (
            self.client.transact_many(
                calls, account, "the admit proposals", on_mined=on_mined, scale_gas=True, items=[[i] for i in pending]
            )
            if calls
            else []
        )
        for index, receipt in zip(pending, receipts, strict=True):
            created = self.contract.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
            out[index]["proposal"] = int(created[0]["args"]["proposalId"])
        return out

    def approve_many(
        self, account: LocalAccount, proposal_ids: list[int], on_mined: Any = None
    ) -> list[dict[str, Any]]:
        """Approves many proposals, pipelined; skips those executed or already approved by this account.
        The items of CallsRefused and PartialWrite are proposal ids."""
        count = int(self.client.read(lambda: self.contract.functions.proposalCount().call(), "proposals"))
        unknown = [pid for pid in proposal_ids if not 1 <= pid <= count]
        if unknown:
            raise InvalidInput(f"there is no proposal {', '.join(map(str, unknown))} (the last one is {count}).")
        out, calls, ids = [], [], []
        now = self.client.block_timestamp()
        for pid in dict.fromkeys(proposal_ids):  # each id once, in order
            info = self.proposal(pid)
            if info["executed"]:
                out.append({"id": pid, "status": "executed already"})
            elif info["deadline"] < now:
                out.append({"id": pid, "status": "expired"})
            elif account.address.lower() in (a.lower() for a in info["approvers"]):
                out.append({"id": pid, "status": "approved already"})
            else:
                out.append({"id": pid, "status": "approved"})
                calls.append(encode_call(self.contract, "approve", pid))
                ids.append([pid])
        # every approval is checked before the first is sent; CallsRefused and PartialWrite name proposal ids
        receipts = (
            self.client.transact_many(calls, account, "the approvals", on_mined=on_mined, scale_gas=True, items=ids)
            if calls
            else []
        )
        done = iter(receipts)
        for item in out:
            if item["status"] == "approved":
                executed = self.contract.events.ProposalExecuted().process_receipt(next(done), errors=DISCARD)
                item["status"] = "executed" if executed else "approved"
        return out

    def approve(self, account: LocalAccount, proposal_id: int) -> bool:
        """Approves a proposal; returns True if this approval executed it."""
        receipt = self.client.transact(encode_call(self.contract, "approve", proposal_id), account, "the approval")
        return bool(self.contract.events.ProposalExecuted().process_receipt(receipt, errors=DISCARD))

    def proposal(self, proposal_id: int) -> dict[str, Any]:
        p = self.client.read(lambda: self.contract.functions.proposal(proposal_id).call(), "proposal")
        kind, account, org_id, role_ids, key, value, proposer, deadline, executed, approvers = p
        return {
            "id": proposal_id,
            "kind": ProposalKind(kind).name.lower().replace("_", "-"),
            "account": account,
            "org_id": to_hex(bytes(org_id)),
            "roles": [roles.name_of(bytes(r)) for r in role_ids],
            "key": to_hex(bytes(key)),
            "value": int(value),
            "proposer": proposer,
            "deadline": int(deadline),
            "executed": bool(executed),
            "approvers": list(approvers),
        }

    def proposals(self) -> list[dict[str, Any]]:
        count = int(self.client.read(lambda: self.contract.functions.proposalCount().call(), "proposals"))
        return [self.proposal(i) for i in range(1, count + 1)]

    def threshold(self) -> int:
        return int(self.client.read(lambda: self.contract.functions.threshold().call(), "threshold"))

    def parameter(self, name: str) -> int:
        return int(self.client.read(lambda: self.contract.functions.parameter(parameter_key(name)).call(), "parameter"))

    def parameter_bounds(self, name: str) -> tuple[int, int]:
        """The contract's inclusive range for `name` now (`parameterBounds`); reverts for an unknown name."""
        low, high = self.client.call(self.contract, "parameterBounds", parameter_key(name))
        return int(low), int(high)

    def check_parameter(self, name: str, value: int) -> None:
        """`check_parameter` with the active oracle count read from the chain where the bound needs it."""
        needs_oracles = name in PARAMETER_BOUNDS and PARAMETER_BOUNDS[name][1] is None
        check_parameter(name, value, len(self.active_members_with_role("ORACLE")) if needs_oracles else None)


def _contradiction(m: Member, org_id: bytes, role_names: tuple[str, ...]) -> str:
    """What an admissions row that names member `m` says against the chain ("" when the chain agrees: the same
    organisation, and the row names no role the member lacks)."""
    missing = sorted({r.upper() for r in role_names} - set(m.roles))
    if m.org_id == org_id and not missing:
        return ""
    held = ";".join(sorted(m.roles)) or "none"
    return (
        f"with organisation {to_hex(m.org_id)} and roles {held}, but the file says organisation {to_hex(org_id)} "
        f"and roles {';'.join(sorted(r.upper() for r in role_names))}"
        + (f" ({';'.join(missing)} not held)" if missing else "")
    )
