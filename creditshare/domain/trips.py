"""Trip evidence of settlements: the trips CSV, reading and hashing each trip log, the plausibility checks
(scoring.trips, pure) against the settlement on the ledger and against tracks recorded before, and this
oracle's claims attested in TripRegistry (a verdict is final when k of n oracles attest the same claim).

CSV columns (header required, order free):

================  ==============================================================
settlement        the settlement id (0x...) on the SettlementLedger
trip_log          the trip log (JSON, see scoring/trips.py), a path inside the
                  CSV's folder (or `evidence_root`); empty: the settlement has
                  no log
origin_lat/_lon   the declared origin, decimal degrees
destination_lat   the declared destination, decimal degrees
destination_lon
================  ==============================================================

Each log is stored like a waybill (creditshare.domain.evidence.store_file) under its sha2-256 digest, the
digest that goes on chain with the verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from creditshare.bindings.settlement_ledger import SettlementLedger
from creditshare.bindings.trip_registry import (
    ZERO32,
    Energy,
    TripRecord,
    TripRegistry,
    Verdict,
    claim_of,
    record_claim,
)
from creditshare.core.errors import InvalidInput
from creditshare.core.files import confined_path, read_csv_rows
from creditshare.core.ids import file_digest, parse_bytes32, to_hex
from creditshare.domain import evidence as ev
from scoring.errors import InvalidData
from scoring.trips import TripCheck, TripLog, check_many, parse_trip_log, track_fingerprint

CSV_COLUMNS: Final = (
    "settlement",
    "trip_log",
    "origin_lat",
    "origin_lon",
    "destination_lat",
    "destination_lon",
)
MAX_LOG_BYTES: Final = 16 * 1024 * 1024


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class InvalidTripFile(InvalidInput):
    """A trips CSV has bad rows; nothing was recorded."""

    def __init__(self, path: Path, errors: list[RowError]) -> None:
        self.path = path
        self.errors = sorted(errors, key=lambda e: e.line)
        super().__init__(f"{path}: {len(self.errors)} bad row(s); nothing was recorded")


@dataclass
class TripRow:
    line: int
    settlement: bytes
    origin: tuple[float, float]
    destination: tuple[float, float]
    log: TripLog | None = None
    log_path: Path | None = None
    log_digest: bytes = b"\x00" * 32


@dataclass
class TripResult:
    row: TripRow
    check: TripCheck
    already: bool = False
    """This oracle attests this very claim for the settlement already: nothing to send."""
    final: bool = False
    """The settlement's final verdict is this claim (k oracles agree)."""
    final_differs: bool = False
    """The settlement has a final verdict, another claim than this one."""

    @property
    def verdict(self) -> Verdict:
        return Verdict.of(self.check.verdict)

    @property
    def fingerprint(self) -> bytes:
        return bytes.fromhex(self.check.fingerprint) if self.check.fingerprint else b"\x00" * 32

    @property
    def energy(self) -> Energy:
        return Energy.of(self.check.energy_type)

    @property
    def claim(self) -> bytes:
        """The claim's identity on chain (TripRegistry.claimOf)."""
        return claim_of(self.verdict, self.energy, self.row.log_digest, self.fingerprint)

    @property
    def status(self) -> str:
        if self.final:
            return "final"
        return "final differs" if self.final_differs else "waiting"


@dataclass
class VerifyPlan:
    oracle: str
    results: list[TripResult] = field(default_factory=list)

    @property
    def to_attest(self) -> list[TripResult]:
        """The rows whose claim this oracle has not attested yet (a rerun sends nothing for the others)."""
        return [r for r in self.results if not r.already]


def _coordinate(text: str, column: str, limit: float) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(f"{column} must be decimal degrees; got {text!r}") from None
    if not math.isfinite(value) or abs(value) > limit:
        raise InvalidInput(f"{column} must lie in [-{limit:g}, {limit:g}]; got {text}")
    return value


def parse_csv(path: Path, *, evidence_root: Path | None = None) -> list[TripRow]:
    """Reads a trips CSV as a whole: every bad row (settlement id, coordinates, a log that cannot be read or
    is not a trip log) is listed with its line; raises InvalidTripFile if any."""
    bad: list[tuple[int, str]] = []
    table = read_csv_rows(path, required=CSV_COLUMNS, bad_rows=bad)
    errors = [RowError(line, reason) for line, reason in bad]
    root = evidence_root if evidence_root is not None else path.parent
    rows: list[TripRow] = []
    seen: dict[bytes, int] = {}
    for line, raw in table:
        try:
            row = TripRow(
                line,
                parse_bytes32(raw["settlement"], "settlement id"),
                (_coordinate(raw["origin_lat"], "origin_lat", 90), _coordinate(raw["origin_lon"], "origin_lon", 180)),
                (
                    _coordinate(raw["destination_lat"], "destination_lat", 90),
                    _coordinate(raw["destination_lon"], "destination_lon", 180),
                ),
            )
            if raw["trip_log"]:
                log_path = confined_path(root, raw["trip_log"], "trip_log")
                try:
                    if log_path.stat().st_size > MAX_LOG_BYTES:
                        raise InvalidInput(f"trip log {raw['trip_log']} is larger than 16 MiB")
                    data = log_path.read_bytes()
                except OSError as err:
                    raise InvalidInput(f"cannot read trip log {raw['trip_log']}: {err.strerror or err}") from err
                try:
                    row.log = parse_trip_log(data)
                except InvalidData as err:
                    raise InvalidInput(f"{raw['trip_log']}: {err}") from err
                except RecursionError as err:  # json's own limit: a log nested thousands deep
                    raise InvalidInput(f"{raw['trip_log']}: not a trip log (JSON nested too deeply)") from err
                row.log_path, row.log_digest = log_path, file_digest(log_path)
        except InvalidInput as err:
            errors.append(RowError(line, str(err)))
            continue
        if row.settlement in seen:
            errors.append(
                RowError(line, f"settlement {to_hex(row.settlement)} again (first on line {seen[row.settlement]})")
            )
            continue
        seen[row.settlement] = line
        rows.append(row)
    if errors:
        raise InvalidTripFile(path, errors)
    if not rows:
        raise InvalidTripFile(path, [RowError(1, "the file has a header but no trips")])
    return rows


def plan_verify(
    ledger: SettlementLedger, registry: TripRegistry, path: Path, rows: list[TripRow], oracle: str
) -> VerifyPlan:
    """Checks every trip against its settlement on the ledger (it must exist: its invoice date bounds the
    delivery) and against the tracks of final verdicts (a reused track is implausible); marks the rows whose
    claim `oracle` attests already (one attestationsOf call for the file) and where the final verdict stands.
    Raises InvalidTripFile for settlements not on the ledger."""
    records = ledger.records([r.settlement for r in rows])
    errors = [
        RowError(r.line, f"settlement {to_hex(r.settlement)} is not on the ledger")
        for r in rows
        if r.settlement not in records
    ]
    if errors:
        raise InvalidTripFile(path, errors)
    # tracks recorded before, by any oracle: fingerprint -> the settlement that presented it first
    known: dict[str, str] = {}
    for row in rows:
        if row.log is not None:
            print_ = track_fingerprint(row.log)
            owner = registry.settlement_of_track(bytes.fromhex(print_))
            if owner != b"\x00" * 32 and owner != row.settlement:
                known[print_] = to_hex(owner)
    checks = check_many(
        [(to_hex(r.settlement), r.log, r.origin, r.destination, records[r.settlement].invoice_date) for r in rows],
        known,
    )
    ids = [r.settlement for r in rows]
    mine = registry.attestations(ids, oracle)
    plan = VerifyPlan(oracle)
    for row, attested in zip(rows, mine, strict=True):
        result = TripResult(row, checks[to_hex(row.settlement)])
        result.already = attested == result.claim
        plan.results.append(result)
    mark_final(registry, plan.results)
    return plan


def mark_final(registry: TripRegistry, results: list[TripResult]) -> None:
    """Sets each result's `final` / `final_differs` from the final verdicts on chain (one verdictsOf call)."""
    records = registry.verdicts([r.row.settlement for r in results])
    for result, record in zip(results, records, strict=True):
        _mark(result, record)


def _mark(result: TripResult, record: TripRecord) -> None:
    claim = record_claim(record)
    result.final = claim == result.claim
    result.final_differs = claim != ZERO32 and not result.final


def quorum_error(reasons: list[str]) -> InvalidInput | None:
    """One clear error when TripRegistry refuses every attestation for want of a usable k, else None."""
    if any("TripRegistryThresholdUnset" in r for r in reasons):
        return InvalidInput(
            "no trip verdict can be final: the consortium's oracle.threshold (k of n) is not set; the committee "
            "sets it (creditshare members propose set-parameter --parameter oracle.threshold --value K); "
            "nothing was attested"
        )
    bad = next((r for r in reasons if "TripRegistryBadThreshold" in r), None)
    if bad is not None:
        return InvalidInput(
            f"no trip verdict can be final: oracle.threshold is above the active oracles ({bad}); the committee "
            "lowers it or reinstates oracles; nothing was attested"
        )
    return None


def store_logs(evidence_dir: Path, path: Path, results: list[TripResult]) -> None:
    """Stores every trip log to record in the evidence store before its verdict is sent."""
    errors: list[RowError] = []
    for result in results:
        if result.row.log_path is not None:
            try:
                ev.store_file(evidence_dir, result.row.log_path, result.row.log_digest)
            except ev.EvidenceCorrupted as err:
                errors.append(RowError(result.row.line, str(err)))
    if errors:
        raise InvalidTripFile(path, errors)


def trip_frame(ledger: SettlementLedger, registry: TripRegistry) -> Any:
    """The latest trip verdict of every verified settlement, as the frame scoring.features.party_features
    reads (scoring.features.TRIP_COLUMNS): settlement_id, shipper, platform, carrier, verdict, energy_type,
    invoice_date."""
    import pandas as pd  # here, not at the top: few commands need pandas

    event = registry.contract.events.TripVerdictRecorded()
    start = registry.client.deployment.from_block
    logs = registry.client.read(
        lambda: event.get_logs(from_block=start, to_block="latest"), "TripVerdictRecorded events"
    )
    latest: dict[bytes, tuple[Verdict, Energy]] = {}
    for entry in logs:
        latest[bytes(entry["args"]["settlementId"])] = (
            Verdict(entry["args"]["verdict"]),
            Energy(entry["args"]["energy"]),
        )
    records = ledger.records(list(latest))
    rows = [
        [to_hex(sid), to_hex(r.shipper), to_hex(r.platform), to_hex(r.carrier), v.label, e.label, r.invoice_date]
        for sid, (v, e) in latest.items()
        if (r := records.get(sid)) is not None
    ]
    columns = ["settlement_id", "shipper", "platform", "carrier", "verdict", "energy_type", "invoice_date"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["invoice_date"] = frame["invoice_date"].astype("int64")
    return frame
