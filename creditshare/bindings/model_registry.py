"""The ModelRegistry contract through the chain client: register, promote, retire, read."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from creditshare.core.chain import ChainClient, encode_call
from creditshare.core.errors import ChainError, InvalidInput
from creditshare.core.ids import parse_bytes32, to_hex


class ModelStatus(IntEnum):
    NONE = 0
    REGISTERED = 1
    CHAMPION = 2
    RETIRED = 3
    WITHDRAWN = 4


class Action(IntEnum):
    PROMOTE = 0
    RETIRE = 1
    WITHDRAW = 2


class SubjectRole(IntEnum):
    """IModelRegistry.SubjectRole: the kind of subject a model scores (one champion per role)."""

    SHIPPER = 0
    CARRIER = 1
    PLATFORM = 2

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> SubjectRole:
        """A role by name (shipper, carrier, platform); anything else is one InvalidInput."""
        try:
            return cls[str(text).strip().upper()]
        except KeyError:
            raise InvalidInput(f"role must be one of {', '.join(ROLE_NAMES)}; got {text!r}.") from None


#: role names in the contract's order
ROLE_NAMES: tuple[str, ...] = ("shipper", "carrier", "platform")


APPROVE = {Action.PROMOTE: "approvePromotion", Action.RETIRE: "approveRetirement", Action.WITHDRAW: "approveWithdrawal"}


@dataclass(frozen=True)
class RegisteredModel:
    model_hash: bytes
    version: int
    auc_bps: int
    ks_bps: int
    status: ModelStatus
    registered_at: int
    promoted_at: int
    registrant: str
    card_digest: bytes
    role: SubjectRole = SubjectRole.SHIPPER

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role.label,
            "model_hash": to_hex(self.model_hash),
            "version": self.version,
            "auc_bps": self.auc_bps,
            "ks_bps": self.ks_bps,
            "status": self.status.name.lower(),
            "registered_at": self.registered_at,
            "promoted_at": self.promoted_at,
            "registrant": self.registrant,
            "card_digest": to_hex(self.card_digest),
        }


class ModelRegistry:
    def __init__(self, client: ChainClient) -> None:
        self.client = client
        self.contract = client.contract("ModelRegistry")

    def model(self, model_hash: bytes) -> RegisteredModel | None:
        (models,) = self.client.call(self.contract, "models")
        if model_hash not in [bytes(m) for m in models]:
            return None
        (m,) = self.client.call(self.contract, "model", model_hash)
        version, auc, ks, status, registered, promoted, registrant, digest, _round, role = m
        return RegisteredModel(
            model_hash,
            version,
            auc,
            ks,
            ModelStatus(status),
            registered,
            promoted,
            to_checksum_address(registrant),
            bytes(digest),
            SubjectRole(role),
        )

    def models(self) -> list[RegisteredModel]:
        (hashes,) = self.client.call(self.contract, "models")
        return [m for h in hashes if (m := self.model(bytes(h))) is not None]

    def champion(self) -> bytes | None:
        """The shipper champion (the one champion of before roles)."""
        (champion,) = self.client.call(self.contract, "champion")
        return None if not any(champion) else bytes(champion)

    def champion_of(self, role: SubjectRole, *, block: int | None = None) -> bytes | None:
        """The champion of `role` (as of `block`), None if it has none."""
        (champion,) = self.client.call(self.contract, "championOf", int(role), block=block)
        return None if not any(champion) else bytes(champion)

    def champions(self, *, block: int | None = None) -> dict[SubjectRole, bytes]:
        """Each role's champion (as of `block`); roles without one are left out."""
        return {r: c for r in SubjectRole if (c := self.champion_of(r, block=block)) is not None}

    def champion_set(self, *, block: int | None = None) -> bytes | None:
        """The champion set hash a report scoring several roles names (None when no role has a champion)."""
        (found,) = self.client.call(self.contract, "championSet", block=block)
        return None if not any(found) else bytes(found)

    def champion_set_members(self, champion_set: bytes, *, block: int | None = None) -> dict[SubjectRole, bytes]:
        """The champions a champion set hash stands for, by role (roles without one left out); {} for a hash
        that never was a champion set."""
        try:
            (members,) = self.client.call(self.contract, "championSetMembers", champion_set, block=block)
        except ChainError:
            return {}
        return {SubjectRole(i): bytes(m) for i, m in enumerate(members) if any(m)}

    def model_of_entry(self, report_model: bytes, role: SubjectRole) -> bytes | None:
        """The model that scored an entry of a subject of `role` in a report naming `report_model`: the report's
        model itself when it is a registered card of that role, else that role's member of the champion set."""
        found = self.model(report_model)
        if found is not None:
            return report_model if found.role == role else None
        return self.champion_set_members(report_model).get(role)

    def approvals(self, model_hash: bytes, action: Action) -> int:
        return int(self.client.call(self.contract, "approvals", model_hash, int(action))[0])

    def register(
        self,
        account: LocalAccount,
        model_hash: bytes,
        version: int,
        auc_bps: int,
        ks_bps: int,
        card_digest: bytes,
        role: SubjectRole = SubjectRole.SHIPPER,
    ) -> str:
        """Registers the card; a registration of the same hash with the same version, metrics and digest is kept
        (idempotent), one that differs (a squatter's, or a stale card) is refused with who holds it."""
        existing = self.model(model_hash)
        if existing is not None and existing.status != ModelStatus.WITHDRAWN:
            if (existing.version, existing.auc_bps, existing.ks_bps, existing.card_digest, existing.role) != (
                version,
                auc_bps,
                ks_bps,
                card_digest,
                role,
            ):
                raise InvalidInput(
                    f"model {to_hex(model_hash)} is already registered by {existing.registrant} with other "
                    f"figures (version {existing.version}, AUC {existing.auc_bps} bps, KS {existing.ks_bps} bps, "
                    f"digest {to_hex(existing.card_digest)}, role {existing.role.label}) than this card: ask the "
                    f"committee to withdraw that "
                    f"registration (`creditshare model withdraw`), then register again."
                )
            return "already registered"
        if role == SubjectRole.SHIPPER:
            call = encode_call(self.contract, "register", model_hash, version, auc_bps, ks_bps, card_digest)
        else:
            call = encode_call(
                self.contract, "registerForRole", model_hash, version, auc_bps, ks_bps, card_digest, int(role)
            )
        self.client.transact(call, account, "registering the model")
        return "registered"

    def approve(self, account: LocalAccount, model_hash: bytes, action: Action) -> None:
        name = APPROVE[action]
        self.client.transact(encode_call(self.contract, name, model_hash), account, f"{name}")

    def approve_promotion_as(self, account: LocalAccount, model_hash: bytes, role: SubjectRole) -> None:
        """Approves promoting `model_hash` as the champion of `role` (the contract refuses a model registered
        for another role: ModelRegistryWrongRole)."""
        call = encode_call(self.contract, "approvePromotionAs", model_hash, int(role))
        self.client.transact(call, account, "approvePromotionAs")


def model_hash_arg(text: str) -> bytes:
    """A model hash given directly (0x…) or read from a model card file."""
    if text.startswith("0x"):
        return parse_bytes32(text, "model hash")
    from pathlib import Path

    from scoring.model_card import ModelCard

    path = Path(text)
    if not path.exists():
        raise InvalidInput(f"{text} is neither a model hash (0x…) nor a model card file.")
    return parse_bytes32(ModelCard.load(path).model_hash, "model hash")
