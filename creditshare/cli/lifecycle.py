"""The lifecycle commands of the two ledgers of freight money (`settlements ...` and `payouts ...`), each rule
written once.

A lifecycle command (confirm, pay, finalize, overdue, dispute, ...) names its records either as ids or with
``--file CSV``, and then, for either ledger:

1. reads the whole input and checks it against the chain as a whole: every record must be on the ledger with
   the same content; one already at the step's target is done, one further along is skipped (so a file can be
   run again), one short of it is refused (creditshare.domain.two_sided.Lifecycle);
2. runs the step's own checks (paid dates, the dispute window, the due date) on the records to send;
3. if anything is refused, sends nothing and lists every refused row with its line (its CSV line, or its place
   among the ids given);
4. sends in batches behind a progress bar on stderr (hidden with --json); the contract's own checks run on
   every batch before the first is sent, and a refusal or a chain that changed in between is told by line
   (`ToldByLine`): what landed and what did not, and that a rerun completes the rest;
5. prints one summary line, or with --json ``{action, done, would_do, already, skipped_past, dry_run}``.

What differs between the ledgers (the noun, the binding, messages, whether the contract's checks also run
alone, for a dry run) is one `LedgerCli` each, in settlements_cmd and payouts_cmd.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import typer
from eth_utils import keccak

from creditshare.bindings.settlement_ledger import iso_date
from creditshare.cli.context import State, emit, progress, state
from creditshare.cli.options import Account, DryRun, EvidenceRoot
from creditshare.core.chain import CallsRefused, ChainClient, PartialWrite, spans
from creditshare.core.errors import InvalidInput
from creditshare.core.files import parse_date
from creditshare.core.ids import parse_bytes32, to_hex
from creditshare.domain.two_sided import InvalidRowsFile, LifecyclePlan, RowError

T = TypeVar("T")

#: a step's own refusals of the records to send: (ledger, records, stored states, extra columns) -> errors that
#: number those records from 1
Check = Callable[[Any, list[Any], list[Any], list[dict[str, str]]], list[RowError]]
#: sends one step, or with check_only=True (where the binding offers it) only checks it:
#: (ledger, records, extra columns, signer, **binding options such as on_batch)
Send = Callable[..., Any]


@dataclass(frozen=True)
class LedgerCli:
    """How one ledger's commands speak and act; everything else about its lifecycle commands is shared."""

    noun: str  # "settlement": its records are "settlement(s)", its ids "settlement id"
    ledger: Callable[[ChainClient], Any]  # the binding (SettlementLedger, PayoutLedger)
    parse: Callable[[Path, tuple[str, ...], Path | None], Sequence[Any]]  # (file, extra columns, evidence root)
    record_of: Callable[[Any], Any]  # a parsed row's record
    not_on: str  # where a record that is not found is not: "the ledger"
    invalid: type[InvalidRowsFile]  # what a refused input raises
    plan: Callable[[str, list[Any], list[Any]], LifecyclePlan[Any]]  # the domain's plan_lifecycle
    action: Mapping[str, str]  # step -> the contract function it calls (the --json `action`)
    verb: Mapping[str, str]  # step -> what the summary says was done ("declared payment of")
    done: Mapping[str, str]  # step -> what a landed row is called in a partial write's report
    check_paid_dates: Callable[[list[Any], list[Any], list[int], int], list[RowError]]
    check_dispute_window: Callable[[list[Any], list[Any], int, int], list[RowError]]
    ids_arg: Any  # the typer.Argument of the ids
    file_opt: Any  # the typer.Option of --file
    rerun_note: str = ""  # added to a partial write's advice to run again
    check_alone: bool = False  # run the contract's checks alone first (a dry run too: it needs the account)
    evidence_root: bool = False  # the lifecycle commands take --evidence-root


def lines_text(numbers: Sequence[int]) -> str:
    """``line 4`` or ``lines 2-5, 9``."""
    return f"{'line' if len(set(numbers)) == 1 else 'lines'} {spans(numbers)}"


class ToldByLine:
    """Turns a batched send's CallsRefused and PartialWrite into the rows of the input: `lines[i]` is where
    the record at index i of what was sent stands (a CSV line, or an id's place among the ids given). May be
    entered more than once (a check, then the send)."""

    def __init__(
        self, invalid: type[InvalidRowsFile], source: Path, lines: Sequence[int], done: str, note: str = ""
    ) -> None:
        self.invalid, self.source, self.lines, self.done, self.note = invalid, source, lines, done, note

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, err: BaseException | None, tb: object) -> None:
        if isinstance(err, CallsRefused):
            errors = []
            for failure in err.failures:
                if failure.item is not None:
                    errors.append(RowError(self.lines[failure.item], failure.reason))
                else:
                    rows = [self.lines[i] for i in err.items[failure.call]]
                    errors.append(RowError(min(rows), f"the transaction of {lines_text(rows)}: {failure.reason}"))
            raise self.invalid(self.source, errors) from err
        if isinstance(err, PartialWrite):
            landed = [self.lines[i] for i in err.landed_items]
            missed = [self.lines[i] for i in err.not_landed_items]
            raise err.restated(
                f"{self.source}: the chain changed after the check: {len(landed)} row(s) {self.done} and "
                f"{len(missed)} not ({err.reason}); run the command again to complete the rest{self.note}",
                [f"{self.done}: {lines_text(landed)}", f"not {self.done}: {lines_text(missed)}"],
            ) from err


def send_in_batches(
    st: State, what: str, total: int, told: ToldByLine, send: Callable[[Callable[[int], None]], T]
) -> T:
    """`send(on_batch)` behind a progress bar named `what` (on stderr, hidden with --json), its refusals told by
    line."""
    with progress(st.json) as bar, told:
        task = bar.add_task(what, total=total)
        return send(lambda n: bar.advance(task, n))


def select(
    spec: LedgerCli, ledger: Any, ids: list[str], file: Path | None, extra: tuple[str, ...], evidence_root: Path | None
) -> tuple[list[Any], list[dict[str, str]], list[int], Path]:
    """The named records, their extra columns, where each stands in the input (its CSV line, or its place among
    the ids given), and the input's name."""
    if bool(ids) == bool(file):
        raise InvalidInput(f"name the {spec.noun}s either as IDs or with --file CSV (not both).")
    if evidence_root is not None and not file:
        raise InvalidInput("--evidence-root goes with --file (the folder the file's evidence paths are in).")
    if file:
        rows = spec.parse(file, extra, evidence_root)
        return [spec.record_of(r) for r in rows], [r.extra for r in rows], [r.line for r in rows], file
    wanted = [parse_bytes32(i, f"{spec.noun} id") for i in ids]
    found = ledger.records(wanted)
    missing = [to_hex(w) for w in wanted if w not in found]
    if missing:
        raise InvalidInput(f"not on {spec.not_on}: {', '.join(missing)}")
    return [found[w] for w in wanted], [{} for _ in wanted], list(range(1, len(wanted) + 1)), Path("<ids>")


def run_lifecycle_step(
    ctx: typer.Context,
    spec: LedgerCli,
    step: str,
    ids: list[str] | None,
    file: Path | None,
    account: str | None,
    dry_run: bool,
    send: Send,
    *,
    extra_columns: tuple[str, ...] = (),
    check: Check | None = None,
    evidence_root: Path | None = None,
) -> None:
    """Plans `step` for the named records as a whole (all or nothing), runs the step's own `check`, then
    `send`s the records that need it (see the module docstring); a rerun skips what is done already."""
    st = state(ctx)
    ledger = spec.ledger(st.client)
    records, extras, lines, source = select(spec, ledger, ids or [], file, extra_columns, evidence_root)
    states = ledger.states([r.id for r in records])
    plan = spec.plan(step, records, states)
    errors = [RowError(lines[e.line - 1], e.reason) for e in plan.errors]
    if not errors and check is not None:
        refused = check(
            ledger, [records[i] for i in plan.todo], [states[i] for i in plan.todo], [extras[i] for i in plan.todo]
        )
        errors = [RowError(lines[plan.todo[e.line - 1]], e.reason) for e in refused]
    if errors:
        raise spec.invalid(source, errors)
    chosen = [records[i] for i in plan.todo]
    chosen_extras = [extras[i] for i in plan.todo]
    if chosen and (spec.check_alone or not dry_run):
        signer = st.account(account)
        told = ToldByLine(spec.invalid, source, [lines[i] for i in plan.todo], spec.done[step], spec.rerun_note)
        if spec.check_alone:
            with told:  # the contract's own checks (the caller's side, dates), dry run or not
                send(ledger, chosen, chosen_extras, signer, check_only=True)
        if not dry_run:
            send_in_batches(
                st,
                f"{step} {spec.noun}s",
                len(chosen),
                told,
                lambda advance: send(ledger, chosen, chosen_extras, signer, on_batch=advance),
            )
    prefix = "dry run: would have " if dry_run else ""
    tail = f"; {plan.past} skipped, already further along" if plan.past else ""
    emit(
        st,
        {
            "action": spec.action[step],
            "done": 0 if dry_run else len(chosen),
            "would_do": len(chosen) if dry_run else 0,
            "already": plan.already,
            "skipped_past": plan.past,
            "dry_run": dry_run,
        },
        f"{prefix}{spec.verb[step]} {len(chosen)} {spec.noun}(s); {plan.already} were already "
        f"{plan.target.label}{tail}",
    )


# -- the steps' own parts ------------------------------------------------------------------------------------


def sends(method: Callable[..., Any]) -> Send:
    """The Send of a binding method that takes only the records and the signer (e.g. SettlementLedger.confirm)."""
    return lambda ledger, chosen, _extras, signer, **kw: method(ledger, chosen, signer, **kw)


def payment(spec: LedgerCli, paid_date: str | None) -> tuple[Send, Check]:
    """`pay`'s send and check: the paid date of a row is its paid_date column, else --paid-date, else 0 (the
    block time of the declaration); the ledger's check refuses a date before the record's last step or after
    now."""
    default = parse_date(paid_date, "--paid-date") if paid_date else 0

    def date_of(extra: dict[str, str]) -> int:
        text = extra.get("paid_date", "").strip()
        return parse_date(text, "paid_date") if text else default

    def send(ledger: Any, chosen: list[Any], extras: list[dict[str, str]], signer: Any, **kw: Any) -> Any:
        return ledger.pay(chosen, [date_of(e) for e in extras], signer, **kw)

    def check(ledger: Any, chosen: list[Any], states: list[Any], extras: list[dict[str, str]]) -> list[RowError]:
        return spec.check_paid_dates(chosen, states, [date_of(e) for e in extras], ledger.client.block_timestamp())

    return send, check


def dispute_window(spec: LedgerCli) -> Check:
    """`finalize`'s check: a declared payment whose dispute window is still open is refused."""

    def check(ledger: Any, chosen: list[Any], states: list[Any], _extras: list[dict[str, str]]) -> list[RowError]:
        return spec.check_dispute_window(chosen, states, ledger.dispute_window(), ledger.client.block_timestamp())

    return check


def reason_hash(reason: str) -> bytes:
    """A dispute's reason as it goes on chain: its keccak256 (the text stays with the caller)."""
    if not reason.strip():
        raise InvalidInput("--reason must not be empty.")
    return keccak(text=reason)


def step_command(
    app: typer.Typer, spec: LedgerCli, name: str, step: str, doc: str, send: Send, check: Check | None = None
) -> None:
    """Adds the command `name` running `step` with no option of its own: ids or --file, --account, --dry-run
    (and --evidence-root where the ledger's commands take it); `doc` is its help."""

    def with_root(
        ctx: typer.Context,
        ids: list[str] = spec.ids_arg,
        file: Path | None = spec.file_opt,
        account: Account = None,
        dry_run: DryRun = False,
        evidence_root: EvidenceRoot = None,
    ) -> None:
        run_lifecycle_step(ctx, spec, step, ids, file, account, dry_run, send, check=check, evidence_root=evidence_root)

    def without_root(
        ctx: typer.Context,
        ids: list[str] = spec.ids_arg,
        file: Path | None = spec.file_opt,
        account: Account = None,
        dry_run: DryRun = False,
    ) -> None:
        run_lifecycle_step(ctx, spec, step, ids, file, account, dry_run, send, check=check)

    command: Callable[..., None] = with_root if spec.evidence_root else without_root
    command.__doc__ = doc
    app.command(name)(command)


def describe(record: Any, stored: Any, paid: object) -> dict[str, Any]:
    """A record as `show` prints it: its fields, status and declared paid date; final once its status is `paid`."""
    out: dict[str, Any] = record.to_json()
    out["status"] = stored.status.label
    out["paid_date"] = iso_date(stored.paid_date) if stored.paid_date else None
    out["payment_final"] = stored.status == paid
    return out
