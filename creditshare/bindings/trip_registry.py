"""The TripRegistry contract: per settlement, what its trip evidence showed (verified, implausible, no log),
the vehicle's energy type, the log's digest and the track's fingerprint.

Mirrors contracts/interfaces/ITripRegistry.sol: `Verdict` and `Energy` are its enums, `TripRecord` its
struct. Labels match scoring.trips (VERDICTS, ENERGY_TYPES): the checks are pure and live there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

from eth_account.signers.local import LocalAccount

from creditshare.bindings.settlement_ledger import LOOKUP_CHUNK
from creditshare.core.chain import Call, ChainClient, encode_call

DEFAULT_BATCH: Final = 200  # three words stored per verdict (~70k gas): a batch stays near 14M gas
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


class TripRegistry:
    """The TripRegistry contract: one method per function of ITripRegistry."""

    def __init__(self, client: ChainClient) -> None:
        self.client = client
        self.contract = client.contract("TripRegistry")

    def record(
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
        """Records verdicts in batches, every batch checked before the first is sent (transact_many); a
        refusal is pinned on its records (indexes in `ids`)."""
        batches = [list(range(i, min(i + batch_size, len(ids)))) for i in range(0, len(ids), batch_size)]

        def encode(idx: Sequence[int]) -> Call:
            return encode_call(
                self.contract,
                "record",
                [ids[i] for i in idx],
                [int(verdicts[i]) for i in idx],
                [int(energies[i]) for i in idx],
                [digests[i] for i in idx],
                [fingerprints[i] for i in idx],
            )

        calls = [encode(idx) for idx in batches]
        split: Callable[[int], Sequence[Call]] = lambda b: [encode([i]) for i in batches[b]]  # noqa: E731
        if check_only:
            self.client.check_calls(calls, account, "recording trip verdicts", items=batches, split=split)
            return []
        return self.client.transact_many(
            calls,
            account,
            "recording trip verdicts",
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
