"""Settlement files and the lifecycle rules: the CSV format, whole-file validation against the chain,
and the plan of every lifecycle step (what to send, what is done, what is refused).

The record, its statuses and the lifecycle table mirror the contract and live
in its binding (creditshare.bindings.settlement_ledger); the CLI and the demo
both call `plan_submission` and `plan_lifecycle` here.

CSV columns (header required, order free; see examples/settlements.csv):

=============  ===========================================================
reference      the platform's own order reference (unique per platform)
shipper        subject of the shipper: ``namespace:registration`` or 0x id
platform       subject of the freight platform
carrier        subject of the carrier (fleet or driver)
amount_fen     amount in fen, 1 to 10^12 (1 yuan = 100 fen), ASCII digits
invoice_date   YYYY-MM-DD (UTC), 2000-01-01 to 2099-12-31
due_date       YYYY-MM-DD, not before invoice_date, in the same window
evidence       path of the evidence file, relative to the CSV's folder (or
               `evidence_root`) and inside it, or ``cid:<CIDv1>`` for a
               document already hashed elsewhere
=============  ===========================================================

The file is read with the project's one CSV reader (creditshare.core.files);
the bounds are SettlementLedger's (MAX_AMOUNT, EARLIEST_DATE, LATEST_DATE).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from creditshare.bindings.consortium import Consortium
from creditshare.bindings.settlement_ledger import EARLIEST_DATE as EARLIEST_DATE  # re-exported: the CSV's bounds
from creditshare.bindings.settlement_ledger import LATEST_DATE as LATEST_DATE
from creditshare.bindings.settlement_ledger import (
    MAX_AMOUNT,
    PREDECESSORS,
    Settlement,
    SettlementLedger,
    Status,
    StoredState,
    iso_date,
)
from creditshare.core.errors import InvalidInput
from creditshare.core.files import parse_date as parse_date  # re-exported: the dates of every CSV
from creditshare.core.ids import reference_hash, settlement_id, subject_id, to_hex
from creditshare.core.ipfs import IpfsError
from creditshare.domain import evidence as ev
from creditshare.domain import two_sided
from creditshare.domain.two_sided import EvidenceColumn, InvalidRowsFile, ledger_date, parse_rows
from creditshare.domain.two_sided import RowError as RowError  # re-exported: credit_entries' rows are told alike

CSV_COLUMNS = ("reference", "shipper", "platform", "carrier", "amount_fen", "invoice_date", "due_date", "evidence")


@dataclass(frozen=True)
class CsvRow:
    line: int
    reference: str
    settlement: Settlement
    extra: dict[str, str] = field(default_factory=dict)
    #: the evidence file the row names (None for ``cid:<CIDv1>``, a document hashed elsewhere)
    evidence_path: Path | None = None


class InvalidSettlementFile(InvalidRowsFile):
    """A settlement CSV has bad rows; nothing was sent."""


_DIGITS: Final = re.compile(r"-?[0-9]{1,30}")


def _amount(text: str) -> int:
    if not _DIGITS.fullmatch(text):
        raise InvalidInput(f"amount_fen must be a whole number of fen; got {text!r}")
    value = int(text)
    if value <= 0:
        raise InvalidInput(f"amount_fen must be positive; got {value}")
    if value > MAX_AMOUNT:
        raise InvalidInput(f"amount_fen must be at most {MAX_AMOUNT} (10^12 fen); got {value}")
    return value


def parse_csv(path: Path, extra_columns: tuple[str, ...] = (), *, evidence_root: Path | None = None) -> list[CsvRow]:
    """Reads and checks a settlement CSV as a whole (the dialect of creditshare.core.files).

    `extra_columns` may appear besides the standard ones (e.g. paid_date for
    payments); their text is kept in `CsvRow.extra`. Evidence files are
    resolved inside `evidence_root` (default: the CSV's folder) and may not
    leave it (creditshare.core.files.confined_path).

    Raises InvalidInput for a file that cannot be read as CSV at all (encoding,
    quoting, header), and InvalidSettlementFile listing every bad row (with its
    line number) if any row is bad; otherwise returns the parsed rows.
    """
    evidence = EvidenceColumn(
        evidence_root if evidence_root is not None else path.parent,
        "evidence is empty: name the evidence file (waybill, proof of delivery, ...)",
    )

    def build(line: int, raw: dict[str, str]) -> tuple[bytes, CsvRow]:
        platform = subject_id(raw["platform"])
        digest, evidence_path = evidence(raw["evidence"])
        record = Settlement(
            id=settlement_id(platform, raw["reference"]),
            shipper=subject_id(raw["shipper"]),
            platform=platform,
            carrier=subject_id(raw["carrier"]),
            amount=_amount(raw["amount_fen"]),
            invoice_date=ledger_date(raw["invoice_date"], "invoice_date"),
            due_date=ledger_date(raw["due_date"], "due_date"),
            evidence=digest,
            reference_hash=reference_hash(raw["reference"]),
        )
        if record.due_date < record.invoice_date:
            raise InvalidInput(f"due_date {raw['due_date']} is before invoice_date {raw['invoice_date']}")
        if record.shipper == record.platform:
            raise InvalidInput("shipper and platform are the same subject")
        if record.carrier in (record.shipper, record.platform):
            raise InvalidInput("the carrier is the same subject as the shipper or the platform")
        extra = {c: raw[c] for c in extra_columns if c in raw}
        return record.id, CsvRow(line, raw["reference"], record, extra, evidence_path)

    return parse_rows(
        path,
        required=CSV_COLUMNS,
        optional=extra_columns,
        build=build,
        invalid=InvalidSettlementFile,
        noun="settlement",
    )


# -- the ledger ---------------------------------------------------------------


#: what `submit` will do with a file: rows to send (`to_send`) and rows already on chain (`already_on_chain`)
SubmitPlan = two_sided.SubmitPlan


def check_members(consortium: Consortium, rows: Sequence[CsvRow], submitter: str) -> list[RowError]:
    """Row errors for unknown or suspended shippers/platforms and rows the submitter may not submit."""
    info = two_sided.members(consortium, [o for r in rows for o in (r.settlement.shipper, r.settlement.platform)])
    errors: list[RowError] = []
    for row in rows:
        s = row.settlement
        reasons = [
            reason
            for side, org, role in (("shipper", s.shipper, "SHIPPER"), ("platform", s.platform, "PLATFORM"))
            if (reason := two_sided.member_problem(side, org, info[org], role)) is not None
        ]
        if not reasons:
            own = {m.address.lower() for m in (info[s.shipper], info[s.platform]) if m is not None}
            if submitter.lower() not in own:
                reasons.append(f"account {submitter} is neither the shipper nor the platform of this settlement")
        if reasons:
            errors.append(RowError(row.line, "; ".join(reasons)))
    return errors


def plan_submission(
    ledger: SettlementLedger, consortium: Consortium, path: Path, rows: Sequence[CsvRow], submitter: str
) -> SubmitPlan[CsvRow]:
    """Checks the file against the chain and splits it into new and already-stored rows.

    Raises InvalidSettlementFile if any row is invalid against the chain
    (unknown members, or an id on chain with different content: the error says which side stored it, so a
    platform whose reference its counterparty took first learns it and can dispute that record).
    """

    def conflict(row: CsvRow, state: StoredState) -> str:
        by = "shipper" if state.submitted_by_shipper else "platform"
        return (
            f" (stored by its {by}, status {state.status.label}: if that is not this order, dispute it with "
            "`settlements dispute` and submit the order under a new reference)"
        )

    return two_sided.split_on_chain(
        path,
        rows,
        ledger.states([r.settlement.id for r in rows]),
        check_members(consortium, rows, submitter),
        record_of=lambda r: r.settlement,
        line_of=lambda r: r.line,
        name_of=lambda r: f"settlement {r.reference!r}",
        invalid=InvalidSettlementFile,
        conflict=conflict,
    )


def store_documents(evidence_dir: Path, path: Path, rows: Sequence[CsvRow]) -> list[str]:
    """Stores each distinct evidence file the rows name through the chosen evidence backend (the folder, or
    IPFS: added and pinned on this member's node and replicated to the configured members; see
    creditshare.domain.evidence) and returns their CIDs, in order of first use. Called after the whole file was
    checked and before any record is sent, so the document a record names is in the store when its record lands.

    Idempotent (a document is stored under its CID; storing it again changes nothing, and a rerun of a file whose
    records are on chain already re-pins their documents, e.g. after a switch from the folder to IPFS). Rows
    naming ``cid:<CIDv1>`` name a document stored elsewhere: nothing to store. A file that no longer hashes to
    what was parsed is a row error (InvalidSettlementFile, nothing sent); an unreachable node is one IpfsError
    saying nothing was sent."""
    lines: dict[Path, list[int]] = {}
    digests: dict[Path, bytes] = {}
    for row in rows:
        if row.evidence_path is not None:
            lines.setdefault(row.evidence_path, []).append(row.line)
            digests[row.evidence_path] = row.settlement.evidence
    files = list(lines)
    try:
        outcomes = ev.store_files(evidence_dir, [(f, digests[f]) for f in files])
    except IpfsError as err:
        raise IpfsError(f"{path}: storing the evidence failed, nothing was sent: {err}") from err
    cids: list[str] = []
    errors: list[RowError] = []
    for file, outcome in zip(files, outcomes, strict=True):
        if isinstance(outcome, str):
            cids.append(outcome)
        elif isinstance(outcome, ev.EvidenceCorrupted):
            errors += [RowError(line, str(outcome)) for line in lines[file]]
        else:
            reason = f"cannot read evidence file {file}: {outcome.strerror or outcome}"
            errors += [RowError(line, reason) for line in lines[file]]
    if errors:
        raise InvalidSettlementFile(path, sorted(errors, key=lambda e: e.line))
    return cids


# -- the lifecycle -------------------------------------------------------------------------------------------

# each lifecycle step: the contract function it calls and the status it reaches
STEPS: Final[Mapping[str, tuple[str, Status]]] = {
    "confirm": ("confirm", Status.CONFIRMED),
    "pay": ("pay", Status.PAYMENT_DECLARED),
    "confirm-payment": ("confirmPayment", Status.PAID),
    "finalize": ("finalizePayment", Status.PAID),
    "markOverdue": ("markOverdue", Status.OVERDUE),
    "dispute": ("dispute", Status.DISPUTED),
    "resolve": ("resolve", Status.RESOLVED),
    "resolve-default": ("resolve", Status.DEFAULTED),
}

# how far along the lifecycle a status is: a record already past a step's target is
# skipped (so that re-running a file is harmless), one short of it is an error
RANK: Final[Mapping[Status, int]] = {
    Status.INVOICED: 1,
    Status.CONFIRMED: 2,
    Status.FINANCED: 3,
    Status.OVERDUE: 4,
    Status.DISPUTED: 5,
    Status.PAYMENT_DECLARED: 6,
    Status.PAID: 7,
    Status.RESOLVED: 7,
    Status.DEFAULTED: 7,
}


LIFECYCLE: Final = two_sided.Lifecycle(
    noun="settlement",
    where="the ledger",
    targets={step: target for step, (_function, target) in STEPS.items()},
    predecessors=PREDECESSORS,
    rank=RANK,
)

#: what one lifecycle step will do with a list of records, checked as a whole against their stored states
LifecyclePlan = two_sided.LifecyclePlan


def plan_lifecycle(step: str, records: Sequence[Settlement], states: Sequence[StoredState]) -> LifecyclePlan[Status]:
    """Plans `step` (a key of STEPS) for `records` given their stored `states`; errors name the record (1-based)."""
    return LIFECYCLE.plan(step, records, states)


def check_paid_dates(
    records: Sequence[Settlement], states: Sequence[StoredState], dates: Sequence[int], now: int
) -> list[RowError]:
    """The declared paid dates SettlementLedger.pay would refuse: before the confirmation of the invoice, or
    before its overdue marking once Overdue (`StoredState.since`: it was unpaid then), or after `now`. A date of
    0 means the block time of the declaration. (A payment final by the dispute window alone is dated at its
    declaration; the declared date stands only if the payee confirms it.)"""
    errors = []
    for i, (record, stored, date) in enumerate(zip(records, states, dates, strict=True)):
        if date and (date < stored.since or date > now):
            floor = "overdue marking" if stored.status == Status.OVERDUE else "confirmation"
            errors.append(
                RowError(
                    i + 1,
                    f"settlement {to_hex(record.id)}: paid date {iso_date(date)} must lie "
                    f"between its {floor} ({iso_date(stored.since)}) and now",
                )
            )
    return errors


#: declared payments whose dispute window is still open (finalize refuses them); numbered from 1
check_dispute_window = LIFECYCLE.check_dispute_window


def records_from_rows(rows: Iterable[CsvRow]) -> list[Settlement]:
    return [r.settlement for r in rows]


def write_csv(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    """Writes settlement rows (dicts with the CSV columns, plus extra columns) to `path`; returns the count."""
    rows = list(rows)
    columns = list(CSV_COLUMNS) + [c for c in (rows[0] if rows else {}) if c not in CSV_COLUMNS]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)
