"""Payout files and the payout lifecycle: the CSV format, whole-file validation against the chain, and the
plan of every lifecycle step (what to send, what is done already, what is refused).

The record, its statuses and the lifecycle table mirror PayoutLedger and live in its binding
(creditshare.bindings.payout_ledger); `creditshare payouts ...` calls `parse_csv`, `plan_record` and
`plan_lifecycle` here. The amount and date bounds are the SettlementLedger's.

CSV columns (header required, order free):

=============  ===========================================================
reference      the platform's own waybill reference (unique per platform)
platform       subject of the freight platform (the payer)
carrier        subject of the carrier, fleet or owner-driver (the payee)
amount_fen     amount owed in fen, 1 to 10^12, ASCII digits
delivery_date  YYYY-MM-DD (UTC), from 2000-01-01, not after today
due_date       YYYY-MM-DD, the payout's due date, not before delivery_date
evidence       waybill or proof of delivery: a path inside the CSV's folder
               (or `evidence_root`), or ``cid:<CIDv1>``
settlement     optional: the SettlementLedger id (0x...) of the freight
               order, or empty
=============  ===========================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from creditshare.bindings.consortium import Consortium, Member
from creditshare.bindings.payout_ledger import PREDECESSORS, ZERO32, Payout, PayoutLedger, PayoutState, Status
from creditshare.bindings.settlement_ledger import EARLIEST_DATE, LATEST_DATE, MAX_AMOUNT, iso_date
from creditshare.core.errors import InvalidInput
from creditshare.core.files import confined_path, parse_date, read_csv_rows
from creditshare.core.ids import (
    digest_from_cid,
    file_digest,
    parse_bytes32,
    reference_hash,
    settlement_id,
    subject_id,
    to_hex,
)
from creditshare.domain import evidence as ev

CSV_COLUMNS: Final = ("reference", "platform", "carrier", "amount_fen", "delivery_date", "due_date", "evidence")
OPTIONAL_COLUMNS: Final = ("settlement",)


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class InvalidPayoutFile(InvalidInput):
    """A payout CSV (or a list of payout ids) has bad rows; nothing was sent."""

    def __init__(self, path: Path, errors: Sequence[RowError]) -> None:
        self.path = path
        self.errors = sorted(errors, key=lambda e: e.line)
        super().__init__(f"{path}: {len(self.errors)} bad row(s); nothing was sent")


@dataclass(frozen=True)
class PayoutRow:
    line: int
    reference: str
    payout: Payout
    extra: dict[str, str] = field(default_factory=dict)
    evidence_path: Path | None = None


def _amount(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 30:
        raise InvalidInput(f"amount_fen must be a whole number of fen; got {text!r}")
    value = int(text)
    if not 1 <= value <= MAX_AMOUNT:
        raise InvalidInput(f"amount_fen must lie between 1 and {MAX_AMOUNT} (10^12 fen); got {value}")
    return value


def _date(text: str, column: str) -> int:
    value = parse_date(text, column)
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise InvalidInput(f"{column} must lie between 2000-01-01 and 2099-12-31; got {text}")
    return value


def _evidence(root: Path, text: str, cache: dict[str, tuple[bytes, Path]]) -> tuple[bytes, Path | None]:
    if text.startswith("cid:"):
        return digest_from_cid(text[4:]), None
    if not text:
        raise InvalidInput("evidence is empty: name the waybill or proof of delivery")
    if text not in cache:
        path = confined_path(root, text, "evidence")
        try:
            cache[text] = (file_digest(path), path)
        except OSError as err:
            raise InvalidInput(f"cannot read evidence file {text}: {err.strerror or err}") from err
    return cache[text]


def parse_csv(
    path: Path, extra_columns: tuple[str, ...] = (), *, evidence_root: Path | None = None, today: int | None = None
) -> list[PayoutRow]:
    """Reads and checks a payout CSV as a whole (the project's one CSV reader, creditshare.core.files).

    `today` (unix seconds, e.g. the chain's latest block time) refuses a delivery date after it. Raises
    InvalidPayoutFile listing every bad row with its line if any is bad, InvalidInput if the file is not a
    CSV with the columns at all."""
    bad: list[tuple[int, str]] = []
    table = read_csv_rows(path, required=CSV_COLUMNS, optional=OPTIONAL_COLUMNS + extra_columns, bad_rows=bad)
    errors = [RowError(line, reason) for line, reason in bad]
    rows: list[PayoutRow] = []
    seen: dict[bytes, int] = {}
    root = evidence_root if evidence_root is not None else path.parent
    cache: dict[str, tuple[bytes, Path]] = {}
    for line, raw in table:
        try:
            platform = subject_id(raw["platform"])
            digest, evidence_path = _evidence(root, raw["evidence"], cache)
            linked = raw.get("settlement", "")
            payout = Payout(
                id=settlement_id(platform, raw["reference"]),
                platform=platform,
                carrier=subject_id(raw["carrier"]),
                settlement=parse_bytes32(linked, "settlement id") if linked else ZERO32,
                amount=_amount(raw["amount_fen"]),
                delivery_date=_date(raw["delivery_date"], "delivery_date"),
                due_date=_date(raw["due_date"], "due_date"),
                evidence=digest,
                reference_hash=reference_hash(raw["reference"]),
            )
        except InvalidInput as err:
            errors.append(RowError(line, str(err)))
            continue
        if payout.due_date < payout.delivery_date:
            errors.append(RowError(line, f"due_date {raw['due_date']} is before delivery_date {raw['delivery_date']}"))
        elif today is not None and payout.delivery_date > today:
            errors.append(RowError(line, f"delivery_date {raw['delivery_date']} is in the future"))
        elif payout.carrier == payout.platform:
            errors.append(RowError(line, "the carrier is the same subject as the platform"))
        elif payout.id in seen:
            errors.append(RowError(line, f"duplicate reference {raw['reference']!r} (first on line {seen[payout.id]})"))
        else:
            seen[payout.id] = line
            extra = {c: raw[c] for c in extra_columns if c in raw}
            rows.append(PayoutRow(line, raw["reference"], payout, extra, evidence_path))
    if errors:
        raise InvalidPayoutFile(path, errors)
    if not rows:
        raise InvalidPayoutFile(path, [RowError(1, "the file has a header but no payouts")])
    return rows


# -- recording -----------------------------------------------------------------------------------------------


@dataclass
class RecordPlan:
    """What `submit` will do with a file: rows to send and rows already on chain."""

    to_send: list[PayoutRow] = field(default_factory=list)
    already_on_chain: list[PayoutRow] = field(default_factory=list)


def check_members(consortium: Consortium, rows: Sequence[PayoutRow], submitter: str) -> list[RowError]:
    """Row errors for platforms that are no active PLATFORM member, rows whose platform is not the submitter, and
    carriers that are no active CARRIER member (a payout is two-sided: its carrier must be able to confirm it)."""
    info: dict[bytes, Member | None] = {}
    errors: list[RowError] = []
    for row in rows:
        org = row.payout.platform
        if org not in info:
            info[org] = consortium.member_by_org(org)
        member = info[org]
        if member is None:
            errors.append(RowError(row.line, f"platform {to_hex(org)} is not a consortium member"))
        elif not member.active:
            errors.append(RowError(row.line, f"platform {to_hex(org)} is suspended"))
        elif "PLATFORM" not in member.roles:
            errors.append(RowError(row.line, f"platform {to_hex(org)} does not hold the PLATFORM role"))
        elif member.address.lower() != submitter.lower():
            errors.append(RowError(row.line, f"account {submitter} is not the platform of this payout"))
        carrier = row.payout.carrier
        if carrier not in info:
            info[carrier] = consortium.member_by_org(carrier)
        who = info[carrier]
        if who is None or not who.active or "CARRIER" not in who.roles:
            # PayoutLedger.record refuses it too (PayoutLedgerCarrierNotMember): the carrier must be able to confirm
            why = "is not a consortium member" if who is None else "is suspended" if not who.active else "lacks it"
            errors.append(
                RowError(row.line, f"carrier {to_hex(carrier)} must be an active member with the CARRIER role ({why})")
            )
    return errors


def plan_record(
    ledger: PayoutLedger, consortium: Consortium, path: Path, rows: Sequence[PayoutRow], submitter: str
) -> RecordPlan:
    """Checks the file against the chain and splits it into new and already-recorded rows; raises
    InvalidPayoutFile if any row is invalid against the chain (members, an id on chain with other content)."""
    errors = check_members(consortium, rows, submitter)
    plan = RecordPlan()
    for row, state in zip(rows, ledger.states([r.payout.id for r in rows]), strict=True):
        if state.status == Status.NONE:
            plan.to_send.append(row)
        elif state.digest == row.payout.digest:
            plan.already_on_chain.append(row)
        else:
            errors.append(RowError(row.line, f"payout {row.reference!r} is on chain with different content"))
    if errors:
        raise InvalidPayoutFile(path, errors)
    return plan


def store_documents(evidence_dir: Path, path: Path, rows: Sequence[PayoutRow]) -> list[str]:
    """Stores each distinct evidence file the rows name (creditshare.domain.evidence.store_file) before any
    record is sent; a file changed since it was parsed is a row error. Returns the CIDs."""
    cids: dict[Path, str] = {}
    errors: list[RowError] = []
    for row in rows:
        file = row.evidence_path
        if file is None or file in cids:
            continue
        try:
            cids[file] = ev.store_file(evidence_dir, file, row.payout.evidence)
        except ev.EvidenceCorrupted as err:
            errors.append(RowError(row.line, str(err)))
    if errors:
        raise InvalidPayoutFile(path, errors)
    return list(cids.values())


# -- the lifecycle -------------------------------------------------------------------------------------------

# each step: the contract function it calls, the status it reaches, and who may do it
STEPS: Final[Mapping[str, tuple[str, Status, str]]] = {
    "confirm": ("confirm", Status.CONFIRMED, "the carrier"),
    "pay": ("pay", Status.PAYMENT_DECLARED, "the platform"),
    "confirm-receipt": ("confirmReceipt", Status.PAID, "the carrier"),
    "finalize": ("finalizePayment", Status.PAID, "any active member"),
    "overdue": ("markOverdue", Status.OVERDUE, "the carrier"),
    "dispute": ("dispute", Status.DISPUTED, "the platform or the carrier"),
}

# how far along a status is: a record past a step's target is skipped (reruns are harmless), one short is an error
RANK: Final[Mapping[Status, int]] = {
    Status.RECORDED: 1,
    Status.CONFIRMED: 2,
    Status.OVERDUE: 3,
    Status.DISPUTED: 4,
    Status.PAYMENT_DECLARED: 5,
    Status.PAID: 6,
    Status.RESOLVED: 6,
    Status.DEFAULTED: 6,
}


@dataclass
class LifecyclePlan:
    step: str
    target: Status
    todo: list[int] = field(default_factory=list)  # indexes of the records to send
    already: int = 0  # records already at the target
    past: int = 0  # records further along (skipped)
    errors: list[RowError] = field(default_factory=list)


def plan_lifecycle(step: str, records: Sequence[Payout], states: Sequence[PayoutState]) -> LifecyclePlan:
    """Plans `step` (a key of STEPS) for `records` given their stored `states`; errors number records from 1."""
    target = STEPS[step][1]
    allowed = PREDECESSORS[target]
    plan = LifecyclePlan(step, target)
    for i, (payout, stored) in enumerate(zip(records, states, strict=True)):
        name = f"payout {to_hex(payout.id)}"
        if stored.status == Status.NONE:
            plan.errors.append(RowError(i + 1, f"{name} is not on the payout ledger"))
        elif stored.digest != payout.digest:
            plan.errors.append(RowError(i + 1, f"{name} is on chain with different content"))
        elif stored.status == target:
            plan.already += 1
        elif stored.status not in allowed and RANK[stored.status] >= RANK[target]:
            plan.past += 1
        elif stored.status not in allowed:
            plan.errors.append(RowError(i + 1, f"{name} is {stored.status.label}; cannot {step} it"))
        else:
            plan.todo.append(i)
    return plan


def check_paid_dates(
    records: Sequence[Payout], states: Sequence[PayoutState], dates: Sequence[int], now: int
) -> list[RowError]:
    """The paid dates PayoutLedger.pay refuses: before the payout was recorded (backdating) or after `now`.
    0 means the block time of the declaration."""
    errors = []
    for i, (p, s, date) in enumerate(zip(records, states, dates, strict=True)):
        if date and date < s.since:
            why = "a payout cannot be declared paid before it was recorded or marked overdue"
        elif date and date > now:
            why = "a payment in the future cannot be declared"
        else:
            continue
        errors.append(
            RowError(
                i + 1,
                f"payout {to_hex(p.id)}: paid date {iso_date(date)} must lie between its recording or overdue marking "
                f"({iso_date(s.since)}) and now ({iso_date(now)}); {why}",
            )
        )
    return errors


def check_dispute_window(
    records: Sequence[Payout], states: Sequence[PayoutState], window: int, now: int
) -> list[RowError]:
    """Declared payouts whose dispute window is still open (finalize refuses them)."""
    return [
        RowError(i + 1, f"payout {to_hex(p.id)}: its dispute window is open until {iso_date(s.since + window)}")
        for i, (p, s) in enumerate(zip(records, states, strict=True))
        if now <= s.since + window
    ]


def check_due(records: Sequence[Payout], now: int) -> list[RowError]:
    """Payouts not yet due (overdue refuses them)."""
    return [
        RowError(i + 1, f"payout {to_hex(p.id)} is not due until {iso_date(p.due_date)}")
        for i, p in enumerate(records)
        if now <= p.due_date
    ]
