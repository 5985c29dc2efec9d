"""The TripRegistry contract: per settlement, what its trip evidence showed (verified, implausible, no log),
the vehicle's energy type, the log's digest and the track's fingerprint; final when k of n oracles attest
the same claim.

Mirrors contracts/interfaces/ITripRegistry.sol: `Verdict` and `Energy` are its enums, `TripRecord` its
struct, `claim_of` its `claimOf` (computed here, no call). Labels match scoring.trips (VERDICTS,
ENERGY_TYPES): the checks are pure and live there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from creditshare.bindings.settlement_ledger import LOOKUP_CHUNK
from creditshare.core.chain import Call, ChainClient, encode_call

# an attestation stores one word and reads one per active oracle; the k-th also writes the final record (three
# words and the track): ~127k gas at most per settlement, so a batch of 100 stays under 13M gas
DEFAULT_BATCH: Final = 100
MAX_BATCH: Final = 150  # TripRegistry.maxBatch(): a closing batch (every record final) ~19M gas
ZERO32: Final = b"\x00" * 32


class Verdict(IntEnum):
    NONE = 0
    NO_LOG = 1
    VERIFIED = 2
    IMPLAUSIBLE = 3

    @property
    def label(self) -> str:
        return {0: "none", 1: "no log", 2: "verified", 3: "implausible"}[int(self)]

    @classmethod
    def of(cls, label: str) -> Verdict:
        return {"no log": cls.NO_LOG, "verified": cls.VERIFIED, "implausible": cls.IMPLAUSIBLE}[label]


class Energy(IntEnum):
    UNKNOWN = 0
    DIESEL = 1
    LNG = 2
    ELECTRIC = 3
    HYDROGEN = 4

    @property
    def label(self) -> str:
        return "" if self == Energy.UNKNOWN else self.name.lower()

    @classmethod
    def of(cls, label: str) -> Energy:
        return cls[label.upper()] if label else cls.UNKNOWN


@dataclass(frozen=True)
class TripRecord:
    verdict: Verdict
    energy: Energy
    recorded_at: int
    by: str
    log_digest: bytes
    fingerprint: bytes


def claim_of(verdict: Verdict, energy: Energy, digest: bytes, fingerprint: bytes) -> bytes:
    """TripRegistry.claimOf: keccak256(abi.encode(verdict, energy, logDigest, fingerprint))."""
    return keccak(
        abi_encode(["uint8", "uint8", "bytes32", "bytes32"], [int(verdict), int(energy), digest, fingerprint])
    )


def record_claim(record: TripRecord) -> bytes:
    """The claim a final record holds (ZERO32 if there is none)."""
    if record.verdict == Verdict.NONE:
        return ZERO32
    return claim_of(record.verdict, record.energy, record.log_digest, record.fingerprint)


class TripRegistry:
    """The TripRegistry contract: one method per function of ITripRegistry."""

    def __init__(self, client: ChainClient) -> None:
        self.client = client
        self.contract = client.contract("TripRegistry")

    def attest(
        self,
        ids: Sequence[bytes],
        verdicts: Sequence[Verdict],
        energies: Sequence[Energy],
        digests: Sequence[bytes],
        fingerprints: Sequence[bytes],
        account: LocalAccount,
        *,
        batch_size: int = DEFAULT_BATCH,
        on_batch: Callable[[int], None] | None = None,
        check_only: bool = False,
    ) -> list[Any]:
        """Attests `account`'s claims in batches, every batch checked before the first is sent (transact_many);
        a refusal is pinned on its records (indexes in `ids`). A verdict is final once k oracles attest it."""
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}; got {batch_size}.")
        batches = [list(range(i, min(i + batch_size, len(ids)))) for i in range(0, len(ids), batch_size)]

        def encode(idx: Sequence[int]) -> Call:
            return encode_call(
                self.contract,
                "attest",
                [ids[i] for i in idx],
                [int(verdicts[i]) for i in idx],
                [int(energies[i]) for i in idx],
                [digests[i] for i in idx],
                [fingerprints[i] for i in idx],
            )

        calls = [encode(idx) for idx in batches]
        split: Callable[[int], Sequence[Call]] = lambda b: [encode([i]) for i in batches[b]]  # noqa: E731
        if check_only:
            self.client.check_calls(calls, account, "attesting trip verdicts", items=batches, split=split)
            return []
        return self.client.transact_many(
            calls,
            account,
            "attesting trip verdicts",
            on_mined=(lambda i, _r: on_batch(len(batches[i]))) if on_batch else None,
            items=batches,
            split=split,
        )

    def verdicts(self, ids: Sequence[bytes], block: int | None = None) -> list[TripRecord]:
        out: list[TripRecord] = []
        for start in range(0, len(ids), LOOKUP_CHUNK):
            (raw,) = self.client.call(self.contract, "verdictsOf", list(ids[start : start + LOOKUP_CHUNK]), block=block)
            out.extend(
                TripRecord(Verdict(v), Energy(e), int(t), str(by), bytes(d), bytes(f)) for v, e, t, by, d, f in raw
            )
        return out

    def settlement_of_track(self, fingerprint: bytes) -> bytes:
        (owner,) = self.client.call(self.contract, "settlementOfTrack", fingerprint)
        return bytes(owner)

    def attestations(self, ids: Sequence[bytes], oracle: str, block: int | None = None) -> list[bytes]:
        """The claim `oracle` attests for each of `ids` (ZERO32 where none): one call per LOOKUP_CHUNK ids."""
        out: list[bytes] = []
        for start in range(0, len(ids), LOOKUP_CHUNK):
            (raw,) = self.client.call(
                self.contract, "attestationsOf", list(ids[start : start + LOOKUP_CHUNK]), oracle, block=block
            )
            out.extend(bytes(c) for c in raw)
        return out

    def attestations_for(self, settlement: bytes) -> dict[str, bytes]:
        """Each active oracle's claim for `settlement` (ZERO32 where it attested none)."""
        oracles, claims = self.client.call(self.contract, "attestationsFor", settlement)
        return {str(o): bytes(c) for o, c in zip(oracles, claims, strict=True)}

    def support(self, settlement: bytes, claim: bytes) -> int:
        """The number of active oracles attesting `claim` for `settlement` now."""
        return int(self.client.call(self.contract, "supportOf", settlement, claim)[0])

    def threshold(self) -> int:
        """k: the agreeing active oracles a final verdict needs (the governed `oracle.threshold`; 0 if unset)."""
        return int(self.client.call(self.contract, "threshold")[0])
