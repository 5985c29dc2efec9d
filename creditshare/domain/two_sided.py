"""What the two ledgers of freight money share: SettlementLedger (shipper -> platform) and PayoutLedger
(platform -> carrier) each keep a record a counterparty confirms, a payment the payer declares and the payee
confirms, a dispute window and a lifecycle table. Their files and their plans follow the same rules, written
once here; creditshare.domain.settlements and creditshare.domain.payouts say only what differs (columns,
members, messages' nouns).

- A file is checked as a whole: every bad row is listed with its line (`RowError`), and nothing is sent if
  any row is bad (`InvalidRowsFile`); a reference twice in one file is a bad row (`parse_rows`).
- A file is checked against the chain as a whole: a row whose id is on chain with other content is refused,
  one on chain with the same content is skipped, so a file cut off by a crash can be sent again
  (`split_on_chain`).
- A lifecycle step is planned for all its records before any is sent: a record at the step's target is done
  already, one past it (by the ledger's RANK) is skipped, one short of it is refused (`Lifecycle.plan`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from creditshare.bindings.consortium import Consortium, Member
from creditshare.bindings.settlement_ledger import EARLIEST_DATE, LATEST_DATE, iso_date
from creditshare.core.errors import InvalidInput
from creditshare.core.files import confined_path, parse_date, read_csv_rows
from creditshare.core.ids import digest_from_cid, file_digest, to_hex


@dataclass(frozen=True)
class RowError:
    """One bad row of an input: its line in the file (or its place among the ids given) and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class InvalidRowsFile(InvalidInput):
    """A file (or a list of ids) has bad rows; nothing was sent. `errors` are sorted by line."""

    def __init__(self, path: Path, errors: Sequence[RowError]) -> None:
        self.path = path
        self.errors = sorted(errors, key=lambda e: e.line)
        super().__init__(f"{path}: {len(self.errors)} bad row(s); nothing was sent")


class Record(Protocol):
    """A ledger record: its id and the digest the ledger stores of it."""

    @property
    def id(self) -> bytes: ...

    @property
    def digest(self) -> bytes: ...


class Labelled(Protocol):
    """A ledger's status (an IntEnum, 0 = not on the ledger) with its label for messages ("PaymentDeclared")."""

    @property
    def label(self) -> str: ...


S = TypeVar("S", bound=Labelled)
S_co = TypeVar("S_co", bound=Labelled, covariant=True)


class Stored(Protocol[S_co]):
    """A record's stored state: its status, digest and the time of its last step."""

    @property
    def status(self) -> S_co: ...

    @property
    def digest(self) -> bytes: ...

    @property
    def since(self) -> int: ...


R = TypeVar("R")


# -- a file --------------------------------------------------------------------------------------------------


def ledger_date(text: str, column: str) -> int:
    """A YYYY-MM-DD column within the ledgers' bounds (EARLIEST_DATE..LATEST_DATE), as unix seconds."""
    value = parse_date(text, column)
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise InvalidInput(f"{column} must lie between 2000-01-01 and 2099-12-31; got {text}")
    return value


class EvidenceColumn:
    """The evidence column: ``cid:<CIDv1>``, or a file confined to `root` (each distinct name read once).
    `empty` is what an empty cell is told."""

    def __init__(self, root: Path, empty: str) -> None:
        self.root, self.empty = root, empty
        self.cache: dict[str, tuple[bytes, Path] | InvalidInput] = {}

    def __call__(self, text: str) -> tuple[bytes, Path | None]:
        """The row's evidence digest, and the file it was read from (None for ``cid:``)."""
        if text.startswith("cid:"):
            return digest_from_cid(text[4:]), None
        if not text:
            raise InvalidInput(self.empty)
        found = self.cache.get(text)
        if found is None:
            try:
                path = confined_path(self.root, text, "evidence")
                try:
                    found = (file_digest(path), path)
                except OSError as err:
                    raise InvalidInput(f"cannot read evidence file {text}: {err.strerror or err}") from err
            except InvalidInput as err:
                found = err
            self.cache[text] = found
        if isinstance(found, InvalidInput):
            raise found
        return found


def parse_rows(
    path: Path,
    *,
    required: Sequence[str],
    optional: Sequence[str],
    build: Callable[[int, dict[str, str]], tuple[bytes, R]],
    invalid: type[InvalidRowsFile],
    noun: str,
) -> list[R]:
    """Reads a CSV of records as a whole (the project's one CSV reader, creditshare.core.files).

    `build(line, columns)` returns a row's record id and the row, or raises InvalidInput saying what is wrong
    with it; a reference (an id) twice is a bad row too. Raises `invalid` listing every bad row if any is bad
    (or if there is no row), InvalidInput if the file is not a CSV with the `required` columns at all."""
    bad: list[tuple[int, str]] = []
    table = read_csv_rows(path, required=required, optional=optional, bad_rows=bad)
    errors = [RowError(line, reason) for line, reason in bad]
    rows: list[R] = []
    seen: dict[bytes, int] = {}
    for line, raw in table:
        try:
            key, row = build(line, raw)
        except InvalidInput as err:
            errors.append(RowError(line, str(err)))
            continue
        if key in seen:
            errors.append(RowError(line, f"duplicate reference {raw['reference']!r} (first on line {seen[key]})"))
            continue
        seen[key] = line
        rows.append(row)
    if errors:
        raise invalid(path, errors)
    if not rows:
        raise invalid(path, [RowError(1, f"the file has a header but no {noun}s")])
    return rows


# -- a file against the chain --------------------------------------------------------------------------------


def members(consortium: Consortium, orgs: Iterable[bytes]) -> dict[bytes, Member | None]:
    """The consortium member of each organisation (None for none), each looked up once."""
    return {org: consortium.member_by_org(org) for org in dict.fromkeys(orgs)}


def member_problem(side: str, org: bytes, member: Member | None, role: str) -> str | None:
    """Why `org` cannot stand on `side` of a record (no member, suspended, without `role`), or None."""
    if member is None:
        return f"{side} {to_hex(org)} is not a consortium member"
    if not member.active:
        return f"{side} {to_hex(org)} is suspended"
    if role not in member.roles:
        return f"{side} {to_hex(org)} does not hold the {role} role"
    return None


@dataclass
class SubmitPlan(Generic[R]):
    """What a submission will do with a file: rows to send and rows already on chain."""

    to_send: list[R] = field(default_factory=list)
    already_on_chain: list[R] = field(default_factory=list)


def split_on_chain(
    path: Path,
    rows: Sequence[R],
    states: Sequence[Stored[Labelled]],
    errors: list[RowError],
    *,
    record_of: Callable[[R], Record],
    line_of: Callable[[R], int],
    name_of: Callable[[R], str],
    invalid: type[InvalidRowsFile],
    conflict: Callable[[R, Any], str] | None = None,
) -> SubmitPlan[R]:
    """Splits checked rows into new and already-stored ones given their stored `states`. Raises `invalid` with
    `errors` (the caller's, e.g. members) and every row on chain with other content, if there is any;
    `conflict(row, state)`, if given, adds what the caller can tell about such a row (who stored it)."""
    errors = list(errors)
    plan = SubmitPlan[R]()
    for row, state in zip(rows, states, strict=True):
        if state.status == 0:
            plan.to_send.append(row)
        elif state.digest == record_of(row).digest:
            plan.already_on_chain.append(row)
        else:
            why = f"{name_of(row)} is on chain with different content"
            errors.append(RowError(line_of(row), why + (conflict(row, state) if conflict is not None else "")))
    if errors:
        raise invalid(path, errors)
    return plan


# -- the lifecycle -------------------------------------------------------------------------------------------


@dataclass
class LifecyclePlan(Generic[S]):
    """What one lifecycle step will do with a list of records, checked as a whole against their stored states."""

    step: str
    target: S
    todo: list[int] = field(default_factory=list)  # indexes of the records to send
    already: int = 0  # records already at the target
    past: int = 0  # records already further along (skipped)
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class Lifecycle(Generic[S]):
    """One ledger's lifecycle as its plans need it: the status each step reaches (`targets`), the statuses each
    status may be reached from (the binding's PREDECESSORS, the contract's table), and how far along each status
    is (`rank`: a record past a step's target is skipped, so that rerunning a file is harmless; one short of it
    is refused). `noun` names a record in messages ("settlement 0x..."), `where` the ledger it is not on."""

    noun: str
    where: str
    targets: Mapping[str, S]
    predecessors: Mapping[S, Collection[S]]
    rank: Mapping[S, int]

    def plan(self, step: str, records: Sequence[Record], states: Sequence[Stored[S]]) -> LifecyclePlan[S]:
        """Plans `step` for `records` given their stored `states`; errors number the records from 1."""
        target = self.targets[step]
        allowed = self.predecessors[target]
        plan = LifecyclePlan(step, target)
        for i, (record, stored) in enumerate(zip(records, states, strict=True)):
            name = f"{self.noun} {to_hex(record.id)}"
            status = stored.status
            if status == 0:
                plan.errors.append(RowError(i + 1, f"{name} is not on {self.where}"))
            elif stored.digest != record.digest:
                plan.errors.append(RowError(i + 1, f"{name} is on chain with different content"))
            elif status == target:
                plan.already += 1
            elif status not in allowed and self.rank[status] >= self.rank[target]:
                plan.past += 1
            elif status not in allowed:
                cannot = step.removesuffix("-default")
                plan.errors.append(RowError(i + 1, f"{name} is {status.label}; cannot {cannot} it"))
            else:
                plan.todo.append(i)
        return plan

    def check_dispute_window(
        self, records: Sequence[Record], states: Sequence[Stored[S]], window: int, now: int
    ) -> list[RowError]:
        """Declared payments whose dispute window is still open (finalize refuses them); numbered from 1."""
        name = self.noun
        return [
            RowError(i + 1, f"{name} {to_hex(r.id)}: its dispute window is open until {iso_date(s.since + window)}")
            for i, (r, s) in enumerate(zip(records, states, strict=True))
            if now <= s.since + window
        ]
