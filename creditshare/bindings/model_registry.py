"""The ModelRegistry contract through the chain client: register, promote, retire, read."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from creditshare.core.chain import ChainClient, encode_call
from creditshare.core.errors import InvalidInput
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

    def to_json(self) -> dict[str, Any]:
        return {
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
        version, auc, ks, status, registered, promoted, registrant, digest, _round = m
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
        )

    def models(self) -> list[RegisteredModel]:
        (hashes,) = self.client.call(self.contract, "models")
        return [m for h in hashes if (m := self.model(bytes(h))) is not None]

    def champion(self) -> bytes | None:
        (champion,) = self.client.call(self.contract, "champion")
        return None if not any(champion) else bytes(champion)

    def approvals(self, model_hash: bytes, action: Action) -> int:
        return int(self.client.call(self.contract, "approvals", model_hash, int(action))[0])

    def register(
        self, account: LocalAccount, model_hash: bytes, version: int, auc_bps: int, ks_bps: int, card_digest: bytes
    ) -> str:
        """Registers the card; a registration of the same hash with the same version, metrics and digest is kept
        (idempotent), one that differs (a squatter's, or a stale card) is refused with who holds it."""
        existing = self.model(model_hash)
        if existing is not None and existing.status != ModelStatus.WITHDRAWN:
            if (existing.version, existing.auc_bps, existing.ks_bps, existing.card_digest) != (
                version,
                auc_bps,
                ks_bps,
                card_digest,
            ):
                raise InvalidInput(
                    f"model {to_hex(model_hash)} is already registered by {existing.registrant} with other "
                    f"figures (version {existing.version}, AUC {existing.auc_bps} bps, KS {existing.ks_bps} bps, "
                    f"digest {to_hex(existing.card_digest)}) than this card: ask the committee to withdraw that "
                    f"registration (`creditshare model withdraw`), then register again."
                )
            return "already registered"
        call = encode_call(self.contract, "register", model_hash, version, auc_bps, ks_bps, card_digest)
        self.client.transact(call, account, "registering the model")
        return "registered"

    def approve(self, account: LocalAccount, model_hash: bytes, action: Action) -> None:
        name = APPROVE[action]
        self.client.transact(encode_call(self.contract, name, model_hash), account, f"{name}")


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
