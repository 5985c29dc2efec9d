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

from creditshare.bindings.consortium import Consortium
from creditshare.bindings.payout_ledger import PREDECESSORS, ZERO32, Payout, PayoutLedger, PayoutState, Status
from creditshare.bindings.settlement_ledger import MAX_AMOUNT, iso_date
from creditshare.core.errors import InvalidInput
from creditshare.core.ids import parse_bytes32, reference_hash, settlement_id, subject_id, to_hex
from creditshare.domain import evidence as ev
from creditshare.domain import two_sided
from creditshare.domain.two_sided import EvidenceColumn, InvalidRowsFile, ledger_date, parse_rows
from creditshare.domain.two_sided import RowError as RowError  # re-exported: the payout commands' rows

CSV_COLUMNS: Final = ("reference", "platform", "carrier", "amount_fen", "delivery_date", "due_date", "evidence")
OPTIONAL_COLUMNS: Final = ("settlement",)


class InvalidPayoutFile(InvalidRowsFile):
    """A payout CSV (or a list of payout ids) has bad rows; nothing was sent."""


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


def parse_csv(
    path: Path, extra_columns: tuple[str, ...] = (), *, evidence_root: Path | None = None, today: int | None = None
) -> list[PayoutRow]:
    """Reads and checks a payout CSV as a whole (the project's one CSV reader, creditshare.core.files).

    `today` (unix seconds, e.g. the chain's latest block time) refuses a delivery date after it. Raises
    InvalidPayoutFile listing every bad row with its line if any is bad, InvalidInput if the file is not a
    CSV with the columns at all."""
    evidence = EvidenceColumn(
        evidence_root if evidence_root is not None else path.parent,
        "evidence is empty: name the waybill or proof of delivery",
    )

    def build(line: int, raw: dict[str, str]) -> tuple[bytes, PayoutRow]:
        platform = subject_id(raw["platform"])
        digest, evidence_path = evidence(raw["evidence"])
        linked = raw.get("settlement", "")
        payout = Payout(
            id=settlement_id(platform, raw["reference"]),
            platform=platform,
            carrier=subject_id(raw["carrier"]),
            settlement=parse_bytes32(linked, "settlement id") if linked else ZERO32,
            amount=_amount(raw["amount_fen"]),
            delivery_date=ledger_date(raw["delivery_date"], "delivery_date"),
            due_date=ledger_date(raw["due_date"], "due_date"),
            evidence=digest,
            reference_hash=reference_hash(raw["reference"]),
        )
        if payout.due_date < payout.delivery_date:
            raise InvalidInput(f"due_date {raw['due_date']} is before delivery_date {raw['delivery_date']}")
        if today is not None and payout.delivery_date > today:
            raise InvalidInput(f"delivery_date {raw['delivery_date']} is in the future")
        if payout.carrier == payout.platform:
            raise InvalidInput("the carrier is the same subject as the platform")
        extra = {c: raw[c] for c in extra_columns if c in raw}
        return payout.id, PayoutRow(line, raw["reference"], payout, extra, evidence_path)

    return parse_rows(
        path,
        required=CSV_COLUMNS,
        optional=OPTIONAL_COLUMNS + extra_columns,
        build=build,
        invalid=InvalidPayoutFile,
        noun="payout",
    )


# -- recording -----------------------------------------------------------------------------------------------


#: what `submit` will do with a file: rows to send (`to_send`) and rows already on chain (`already_on_chain`)
RecordPlan = two_sided.SubmitPlan


def check_members(consortium: Consortium, rows: Sequence[PayoutRow], submitter: str) -> list[RowError]:
    """Row errors for platforms that are no active PLATFORM member, rows whose platform is not the submitter, and
    carriers that are no active CARRIER member (a payout is two-sided: its carrier must be able to confirm it)."""
    info = two_sided.members(consortium, [o for r in rows for o in (r.payout.platform, r.payout.carrier)])
    errors: list[RowError] = []
    for row in rows:
        org = row.payout.platform
        member = info[org]
        problem = two_sided.member_problem("platform", org, member, "PLATFORM")
        if problem is not None:
            errors.append(RowError(row.line, problem))
        elif member is not None and member.address.lower() != submitter.lower():
            errors.append(RowError(row.line, f"account {submitter} is not the platform of this payout"))
        carrier = row.payout.carrier
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
) -> RecordPlan[PayoutRow]:
    """Checks the file against the chain and splits it into new and already-recorded rows; raises
    InvalidPayoutFile if any row is invalid against the chain (members, an id on chain with other content)."""
    return two_sided.split_on_chain(
        path,
        rows,
        ledger.states([r.payout.id for r in rows]),
        check_members(consortium, rows, submitter),
        record_of=lambda r: r.payout,
        line_of=lambda r: r.line,
        name_of=lambda r: f"payout {r.reference!r}",
        invalid=InvalidPayoutFile,
    )


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


LIFECYCLE: Final = two_sided.Lifecycle(
    noun="payout",
    where="the payout ledger",
    targets={step: target for step, (_function, target, _who) in STEPS.items()},
    predecessors=PREDECESSORS,
    rank=RANK,
)

#: what one lifecycle step will do with a list of payouts, checked as a whole against their stored states
LifecyclePlan = two_sided.LifecyclePlan


def plan_lifecycle(step: str, records: Sequence[Payout], states: Sequence[PayoutState]) -> LifecyclePlan[Status]:
    """Plans `step` (a key of STEPS) for `records` given their stored `states`; errors number records from 1."""
    return LIFECYCLE.plan(step, records, states)


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


#: declared payouts whose dispute window is still open (finalize refuses them); numbered from 1
check_dispute_window = LIFECYCLE.check_dispute_window


def check_due(records: Sequence[Payout], now: int) -> list[RowError]:
    """Payouts not yet due (overdue refuses them)."""
    return [
        RowError(i + 1, f"payout {to_hex(p.id)} is not due until {iso_date(p.due_date)}")
        for i, p in enumerate(records)
        if now <= p.due_date
    ]
