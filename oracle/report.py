"""Score reports: the batch an oracle signs and `ScoreOracle.submit` accepts.

A report is EIP-712 typed data

    ScoreReport(uint64 epoch,bytes32 modelHash,uint64 asOf,uint64 expiry,bytes32 entriesRoot)

in the domain (name ``"CreditShare ScoreOracle"``, version ``"1"``, chain id, the
ScoreOracle's address), so a signature counts on one chain, for one contract, one
epoch, until one expiry. ``entriesRoot`` is ``keccak256(abi.encode(entries))`` over
the ``(bytes32 subject, uint16 score, uint8 tier, bytes32 reasonsHash)[]`` array in
submission order: a plain hash commitment, since the submitter passes every entry.

Everything here is integers and bytes, so k oracle nodes that build the same report
produce bit-identical digests. The contract checks signatures sorted by signer
address, ascending; `order_signatures` puts them in that order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_keys import keys
from eth_keys.exceptions import BadSignature
from eth_utils import keccak, to_checksum_address
from faster_eth_abi import encode as abi_encode

from creditshare.core.errors import CreditShareError, InvalidInput

DOMAIN_NAME = "CreditShare ScoreOracle"
DOMAIN_VERSION = "1"
REPORT_TYPE = "ScoreReport(uint64 epoch,bytes32 modelHash,uint64 asOf,uint64 expiry,bytes32 entriesRoot)"
ENTRY_ABI = "(bytes32,uint16,uint8,bytes32)[]"
THRESHOLD_KEY = keccak(text="oracle.threshold")
"""The Consortium parameter key of the signature threshold k."""

_UINT8, _UINT16, _UINT64 = 2**8 - 1, 2**16 - 1, 2**64 - 1
# secp256k1 group order: the contract (OpenZeppelin ECDSA) rejects s above half of it
_HALF_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141 // 2

_TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "ScoreReport": [
        {"name": "epoch", "type": "uint64"},
        {"name": "modelHash", "type": "bytes32"},
        {"name": "asOf", "type": "uint64"},
        {"name": "expiry", "type": "uint64"},
        {"name": "entriesRoot", "type": "bytes32"},
    ],
}


class InvalidReport(InvalidInput):
    """A report or entry field is out of range; nothing was signed."""


class InvalidSignature(CreditShareError, ValueError):
    """A signature is malformed, or two signatures come from the same signer."""


def _uint(value: int, limit: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise InvalidReport(f"{what} must be an integer in [0, {limit}]; got {value!r}.")


def _bytes32(value: bytes, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != 32:
        raise InvalidReport(f"{what} must be 32 bytes; got {value!r}.")


@dataclass(frozen=True)
class Entry:
    """One subject's score in a report.

    `subject` is the 32-byte subject id, `score` a uint16, `tier` a uint8 and
    `reasons_hash` the 32-byte hash of the subject's reason codes (see `reasons_hash`).
    """

    subject: bytes
    score: int
    tier: int
    reasons_hash: bytes

    def __post_init__(self) -> None:
        _bytes32(self.subject, "subject")
        _uint(self.score, _UINT16, "score")
        _uint(self.tier, _UINT8, "tier")
        _bytes32(self.reasons_hash, "reasons_hash")

    def as_tuple(self) -> tuple[bytes, int, int, bytes]:
        """The ABI tuple `(subject, score, tier, reasonsHash)`."""
        return (self.subject, self.score, self.tier, self.reasons_hash)


@dataclass(frozen=True)
class ScoreReport:
    """The signed header of a batch: uint64 `epoch`, `as_of` and `expiry` (unix
    seconds), the 32-byte champion `model_hash` and the `entries_root` commitment."""

    epoch: int
    model_hash: bytes
    as_of: int
    expiry: int
    entries_root: bytes

    def __post_init__(self) -> None:
        _uint(self.epoch, _UINT64, "epoch")
        _bytes32(self.model_hash, "model_hash")
        _uint(self.as_of, _UINT64, "as_of")
        _uint(self.expiry, _UINT64, "expiry")
        _bytes32(self.entries_root, "entries_root")

    @classmethod
    def build(cls, *, epoch: int, model_hash: bytes, as_of: int, expiry: int, entries: Sequence[Entry]) -> ScoreReport:
        """The report committing to `entries` (in this order)."""
        return cls(epoch=epoch, model_hash=model_hash, as_of=as_of, expiry=expiry, entries_root=entries_root(entries))

    def as_tuple(self) -> tuple[int, bytes, int, int, bytes]:
        """The ABI tuple `(epoch, modelHash, asOf, expiry, entriesRoot)`."""
        return (self.epoch, self.model_hash, self.as_of, self.expiry, self.entries_root)


def reasons_hash(reasons: Sequence[str]) -> bytes:
    """keccak256 of `abi.encode(string[] reasons)`: reason codes in the model's order."""
    if isinstance(reasons, str) or not all(isinstance(r, str) for r in reasons):
        raise InvalidReport(f"reasons must be a sequence of strings; got {reasons!r}.")
    return keccak(abi_encode(["string[]"], [list(reasons)]))


def entries_root(entries: Sequence[Entry]) -> bytes:
    """The commitment `keccak256(abi.encode(entries))` that `ScoreOracle` checks."""
    if not entries:
        raise InvalidReport("a report needs at least one entry; got none.")
    return keccak(abi_encode([ENTRY_ABI], [[e.as_tuple() for e in entries]]))


def _domain(chain_id: int, contract: str) -> dict[str, Any]:
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or chain_id <= 0:
        raise InvalidReport(f"chain_id must be a positive integer; got {chain_id!r}.")
    try:
        address = to_checksum_address(contract)
    except (TypeError, ValueError) as err:
        raise InvalidReport(f"contract must be a 20-byte address; got {contract!r}.") from err
    return {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": chain_id, "verifyingContract": address}


def typed_data(report: ScoreReport, chain_id: int, contract: str) -> dict[str, Any]:
    """The full EIP-712 message (types, primaryType, domain, message) for `report`."""
    return {
        "types": _TYPES,
        "primaryType": "ScoreReport",
        "domain": _domain(chain_id, contract),
        "message": {
            "epoch": report.epoch,
            "modelHash": report.model_hash,
            "asOf": report.as_of,
            "expiry": report.expiry,
            "entriesRoot": report.entries_root,
        },
    }


def _signable(report: ScoreReport, chain_id: int, contract: str) -> SignableMessage:
    return encode_typed_data(full_message=typed_data(report, chain_id, contract))


def report_digest(report: ScoreReport, chain_id: int, contract: str) -> bytes:
    """The 32-byte EIP-712 digest, equal to `ScoreOracle.reportDigest(report)`."""
    m = _signable(report, chain_id, contract)
    return keccak(b"\x19" + m.version + m.header + m.body)


def sign_report(report: ScoreReport, account: LocalAccount, chain_id: int, contract: str) -> bytes:
    """`account`'s 65-byte signature (r, s, v with v in {27, 28}) over the report digest."""
    signed = Account.sign_message(_signable(report, chain_id, contract), account.key)
    return bytes(signed.signature)


def recover_signer(digest: bytes, signature: bytes) -> str:
    """The checksummed address that made `signature` over `digest`, with the
    contract's rules: 65 bytes, v in {27, 28}, s in the lower half of the curve order."""
    if not isinstance(digest, bytes) or len(digest) != 32:
        raise InvalidSignature(f"digest must be 32 bytes; got {digest!r}.")
    if not isinstance(signature, bytes) or len(signature) != 65:
        size = len(signature) if isinstance(signature, bytes) else signature
        raise InvalidSignature(f"a signature must be 65 bytes; got {size!r}.")
    r, s, v = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big"), signature[64]
    if v not in (27, 28) or s > _HALF_N or r == 0 or s == 0:
        raise InvalidSignature(f"signature is not a canonical (low-s, v 27/28) ECDSA signature: 0x{signature.hex()}.")
    try:
        public_key = keys.Signature(vrs=(v - 27, r, s)).recover_public_key_from_msg_hash(digest)
    except BadSignature as err:
        raise InvalidSignature(f"signature does not recover: 0x{signature.hex()}.") from err
    return to_checksum_address(public_key.to_canonical_address())


def order_signatures(digest: bytes, signatures: Iterable[bytes]) -> list[bytes]:
    """`signatures` sorted by signer address, ascending, as `ScoreOracle.submit` wants
    them; raises `InvalidSignature` for a malformed signature or a repeated signer."""
    by_signer: dict[int, bytes] = {}
    for signature in signatures:
        signer = recover_signer(digest, signature)
        key = int(signer, 16)
        if key in by_signer:
            raise InvalidSignature(f"signer {signer} signed twice.")
        by_signer[key] = signature
    return [by_signer[key] for key in sorted(by_signer)]
