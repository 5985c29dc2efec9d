"""`creditshare settlements ...`: submit a CSV, move settlements through their lifecycle, read them back."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import typer
from eth_utils import keccak

from creditshare.bindings.consortium import Consortium
from creditshare.bindings.settlement_ledger import (
    DEFAULT_BATCH,
    Settlement,
    SettlementLedger,
    Status,
    StoredState,
    iso_date,
)
from creditshare.cli.context import emit, progress, state, table
from creditshare.cli.options import Account, DryRun, EvidenceRoot
from creditshare.core.chain import CallsRefused, PartialWrite, spans
from creditshare.core.errors import InvalidInput
from creditshare.core.ids import parse_bytes32, subject_id, to_hex
from creditshare.core.keys import resolve_address
from creditshare.domain import evidence
from creditshare.domain import settlements as sm
from creditshare.domain.index import ChainIndex

app = typer.Typer(
    help="Freight settlements: submit from CSV, confirm, pledge, pay, dispute, resolve, read.", no_args_is_help=True
)


@app.command()
def submit(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ...,
        help="Settlement CSV (see README: reference, shipper, platform, carrier, "
        "amount_fen, invoice_date, due_date, evidence).",
    ),
    account: Account = None,
    batch_size: int = typer.Option(DEFAULT_BATCH, "--batch-size", min=1, max=1000, help="Settlements per transaction."),
    dry_run: DryRun = False,
    evidence_root: EvidenceRoot = None,
) -> None:
    """Validate a whole CSV, then submit the settlements not yet on chain, in batches.

    Nothing is sent if any row is bad: every bad row is listed with its line
    number. Rows already on chain are skipped, so a file that was cut off by a
    crash can simply be submitted again. Each evidence file is stored in the
    evidence store (CREDITSHARE_EVIDENCE=folder|ipfs) before any record is sent.
    """
    st = state(ctx)
    started = time.perf_counter()
    rows = sm.parse_csv(file, evidence_root=evidence_root)
    signer = st.account(account)
    ledger = SettlementLedger(st.client)
    plan = sm.plan_submission(ledger, Consortium(st.client), file, rows, signer.address)
    records = sm.records_from_rows(plan.to_send)
    if records and dry_run:  # the contract's own checks too: a dry run that passes sends whole
        with _told_by_line(file, [r.line for r in plan.to_send], "submitted"):
            ledger.check_submit(records, signer, batch_size)
    gas_used = 0
    documents: list[str] = []
    if not dry_run:  # every document in the evidence store before a record naming it is sent
        documents = sm.store_documents(st.settings.evidence_dir, file, rows)
    if records and not dry_run:
        lines = [r.line for r in plan.to_send]
        with progress(st.json) as bar, _told_by_line(file, lines, "submitted"):
            task = bar.add_task("submitting settlements", total=len(records))
            receipts = ledger.submit(records, signer, batch_size, on_batch=lambda n: bar.advance(task, n))
        gas_used = sum(int(r["gasUsed"]) for r in receipts)
    elapsed = time.perf_counter() - started
    result = {
        "file": str(file),
        "rows": len(rows),
        "submitted": 0 if dry_run else len(records),
        "would_submit": len(records) if dry_run else 0,
        "already_on_chain": len(plan.already_on_chain),
        "gas_used": gas_used,
        "gas_per_settlement": gas_used // len(records) if gas_used else 0,
        "seconds": round(elapsed, 3),
        "dry_run": dry_run,
        "evidence_backend": evidence.backend(),
        "evidence_stored": documents,
    }
    if not records:
        text = f"nothing to submit: all {len(rows)} settlements of {file} are on chain already"
    elif dry_run:
        text = (
            f"dry run: {len(records)} settlements would be submitted, {len(plan.already_on_chain)} are on chain already"
        )
    else:
        text = (
            f"submitted {len(records)} settlements ({len(plan.already_on_chain)} were on chain already) "
            f"in {elapsed:.1f}s, {result['gas_per_settlement']} gas each; "
            f"{len(documents)} evidence document(s) in the {evidence.backend()} store"
        )
    emit(st, result, text)


class _told_by_line:  # noqa: N801 - used as a context manager, like contextlib's
    """Turns a batched send's CallsRefused and PartialWrite into the rows of the input: `lines[i]` is where
    the record at index i of what was sent stands (a CSV line, or an id's place among the ids given)."""

    def __init__(self, file: Path | None, lines: Sequence[int], done: str) -> None:
        self.file, self.lines, self.done = file, lines, done

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, err: BaseException | None, tb: object) -> None:
        source = self.file or Path("<ids>")
        if isinstance(err, CallsRefused):
            errors = []
            for failure in err.failures:
                if failure.item is not None:
                    errors.append(sm.RowError(self.lines[failure.item], failure.reason))
                else:
                    rows = [self.lines[i] for i in err.items[failure.call]]
                    errors.append(sm.RowError(min(rows), f"the transaction of {_lines(rows)}: {failure.reason}"))
            raise sm.InvalidSettlementFile(source, sorted(errors, key=lambda e: e.line)) from err
        if isinstance(err, PartialWrite):
            landed = [self.lines[i] for i in err.landed_items]
            missed = [self.lines[i] for i in err.not_landed_items]
            raise err.restated(
                f"{source}: the chain changed after the check: {len(landed)} row(s) {self.done} and "
                f"{len(missed)} not ({err.reason}); run the command again to complete the rest "
                f"(what landed is skipped)",
                [f"{self.done}: {_lines(landed)}", f"not {self.done}: {_lines(missed)}"],
            ) from err


def _lines(numbers: Sequence[int]) -> str:
    return f"{'line' if len(set(numbers)) == 1 else 'lines'} {spans(numbers)}"


def _selected(
    ledger: SettlementLedger, ids: list[str], file: Path | None, extra: tuple[str, ...] = ()
) -> tuple[list[Settlement], dict[bytes, dict[str, str]], list[int]]:
    """The named records, their extra columns, and where each stands in the input (its CSV line, or its
    place among the ids given)."""
    if bool(ids) == bool(file):
        raise InvalidInput("name the settlements either as IDs or with --file CSV (not both).")
    if file:
        rows = sm.parse_csv(file, extra_columns=extra)
        return [r.settlement for r in rows], {r.settlement.id: r.extra for r in rows}, [r.line for r in rows]
    wanted = [parse_bytes32(i, "settlement id") for i in ids]
    found = ledger.records(wanted)
    missing = [to_hex(w) for w in wanted if w not in found]
    if missing:
        raise InvalidInput(f"not on the ledger: {', '.join(missing)}")
    return [found[w] for w in wanted], {}, list(range(1, len(wanted) + 1))


def _run_lifecycle(
    ctx: typer.Context,
    step: str,
    ids: list[str],
    file: Path | None,
    account: str | None,
    dry_run: bool,
    send: Callable[[SettlementLedger, list[Settlement], list[dict[str, str]], Any, Callable[[int], None]], Any],
    extra_columns: tuple[str, ...] = (),
    check: Callable[[SettlementLedger, list[Settlement], list[StoredState], list[dict[str, str]]], list[sm.RowError]]
    | None = None,
) -> None:
    """Plans `step` for the named settlements (all or nothing), then `send`s the records that need it.
    `check(ledger, records, states, extras)` adds the step's own refusals for the records to send; its errors
    number those records from 1 and are reported at their place in the whole input (the CSV line with --file).
    The contract's own checks run on every batch before the first is sent; if the chain changes in between,
    the error names the lines that landed and those that did not, and a rerun skips what landed."""
    st = state(ctx)
    ledger = SettlementLedger(st.client)
    records, extras, lines = _selected(ledger, ids, file, extra_columns)
    states = ledger.states([r.id for r in records])
    plan = sm.plan_lifecycle(step, records, states)
    plan.errors = [sm.RowError(lines[e.line - 1], e.reason) for e in plan.errors]
    if not plan.errors and check is not None:
        refused = check(
            ledger,
            [records[i] for i in plan.todo],
            [states[i] for i in plan.todo],
            [extras.get(records[i].id, {}) for i in plan.todo],
        )
        plan.errors = [sm.RowError(lines[plan.todo[e.line - 1]], e.reason) for e in refused]
    if plan.errors:
        raise sm.InvalidSettlementFile(file or Path("<ids>"), plan.errors)
    chosen = [records[i] for i in plan.todo]
    if chosen and not dry_run:
        signer = st.account(account)
        done = "done" if step not in _DONE else _DONE[step]
        with progress(st.json) as bar, _told_by_line(file, [lines[i] for i in plan.todo], done):
            task = bar.add_task(f"{step} settlements", total=len(chosen))
            send(ledger, chosen, [extras.get(r.id, {}) for r in chosen], signer, lambda n: bar.advance(task, n))
    action = sm.STEPS[step][0]
    verb = {
        "confirm": "confirmed",
        "pay": "declared payment of",
        "confirmPayment": "confirmed payment of",
        "finalizePayment": "finalized payment of",
        "markOverdue": "marked overdue",
        "dispute": "disputed",
        "resolve": "resolved",
    }[action]
    prefix = "dry run: would have " if dry_run else ""
    tail = f"; {plan.past} skipped, already further along" if plan.past else ""
    emit(
        st,
        {
            "action": action,
            "done": 0 if dry_run else len(chosen),
            "would_do": len(chosen) if dry_run else 0,
            "already": plan.already,
            "skipped_past": plan.past,
            "dry_run": dry_run,
        },
        f"{prefix}{verb} {len(chosen)} settlement(s); {plan.already} were already {plan.target.label}{tail}",
    )


# what a landed row of each step is called in a partial write's report
_DONE = {
    "confirm": "confirmed",
    "pay": "declared paid",
    "confirm-payment": "confirmed paid",
    "finalize": "finalized",
    "markOverdue": "marked overdue",
    "dispute": "disputed",
    "resolve": "resolved",
    "resolve-default": "closed as defaulted",
}

IDS_ARG = typer.Argument(None, help="Settlement ids (0x...), or use --file.")
FILE_OPT = typer.Option(None, "--file", help="A settlement CSV: act on every row.")


@app.command()
def confirm(
    ctx: typer.Context,
    ids: list[str] = IDS_ARG,
    file: Path | None = FILE_OPT,
    account: Account = None,
    dry_run: DryRun = False,
) -> None:
    """Confirm Invoiced settlements (as the counterparty of the submitter)."""
    _run_lifecycle(
        ctx,
        "confirm",
        ids or [],
        file,
        account,
        dry_run,
        lambda ledger, chosen, _extra, signer, advance: ledger.confirm(chosen, signer, on_batch=advance),
    )


@app.command()
def pay(
    ctx: typer.Context,
    ids: list[str] = IDS_ARG,
    file: Path | None = FILE_OPT,
    paid_date: str | None = typer.Option(
        None,
        "--paid-date",
        help="YYYY-MM-DD, not before the invoice "
        "was confirmed (default: the time of the declaration). With --file, "
        "a paid_date column overrides it per row.",
    ),
    account: Account = None,
    dry_run: DryRun = False,
) -> None:
    """Declare payment of settlements (as the shipper, the payer).

    The payment is final (Paid) only when the payee confirms it
    (`settlements confirm-payment`) or, undisputed, after the dispute window
    (`settlements finalize`); until then it counts as unpaid.
    """
    default = sm.parse_date(paid_date, "--paid-date") if paid_date else 0  # 0: the block time of the declaration

    def date_of(extra: dict[str, str]) -> int:
        text = extra.get("paid_date", "").strip()
        return sm.parse_date(text, "paid_date") if text else default

    def check(
        ledger: SettlementLedger, chosen: list[Settlement], states: list[StoredState], extra: list[dict[str, str]]
    ) -> list[sm.RowError]:
        return sm.check_paid_dates(chosen, states, [date_of(e) for e in extra], ledger.client.block_timestamp())

    _run_lifecycle(
        ctx,
        "pay",
        ids or [],
        file,
        account,
        dry_run,
        lambda ledger, chosen, extra, signer, advance: ledger.pay(
            chosen, [date_of(e) for e in extra], signer, on_batch=advance
        ),
        extra_columns=("paid_date",),
        check=check,
    )


@app.command("confirm-payment")
def confirm_payment(
    ctx: typer.Context,
    ids: list[str] = IDS_ARG,
    file: Path | None = FILE_OPT,
    account: Account = None,
    dry_run: DryRun = False,
) -> None:
    """Confirm receipt of declared payments (as the payee: the lender of a financed settlement, else the platform)."""
    _run_lifecycle(
        ctx,
        "confirm-payment",
        ids or [],
        file,
        account,
        dry_run,
        lambda ledger, chosen, _extra, signer, advance: ledger.confirm_payment(chosen, signer, on_batch=advance),
    )


@app.command()
def finalize(
    ctx: typer.Context,
    ids: list[str] = IDS_ARG,
    file: Path | None = FILE_OPT,
    account: Account = None,
    dry_run: DryRun = False,
) -> None:
    """Make declared payments final once their dispute window has passed undisputed (anyone may)."""

    def check(
        ledger: SettlementLedger, chosen: list[Settlement], states: list[StoredState], _extra: list[dict[str, str]]
    ) -> list[sm.RowError]:
        window, now = ledger.dispute_window(), ledger.client.block_timestamp()
        return [
            sm.RowError(
                i + 1, f"settlement {to_hex(r.id)}: its dispute window is open until {iso_date(s.since + window)}"
            )
            for i, (r, s) in enumerate(zip(chosen, states, strict=True))
            if now <= s.since + window
        ]

    _run_lifecycle(
        ctx,
        "finalize",
        ids or [],
        file,
        account,
        dry_run,
        lambda ledger, chosen, _extra, signer, advance: ledger.finalize_payment(chosen, signer, on_batch=advance),
        check=check,
    )


@app.command()
def overdue(
    ctx: typer.Context,
    ids: list[str] = IDS_ARG,
    file: Path | None = FILE_OPT,
    account: Account = None,
    dry_run: DryRun = False,
) -> None:
    """Mark settlements past their due date as Overdue (as the platform, the payee)."""
    _run_lifecycle(
        ctx,
        "markOverdue",
        ids or [],
        file,
        account,
        dry_run,
        lambda ledger, chosen, _extra, signer, advance: ledger.mark_overdue(chosen, signer, on_batch=advance),
    )


@app.command()
def dispute(
    ctx: typer.Context,
    ids: list[str] = IDS_ARG,
    file: Path | None = FILE_OPT,
    reason: str = typer.Option(..., "--reason", help="Why; its keccak256 goes on chain, the text stays with you."),
    account: Account = None,
    dry_run: DryRun = False,
) -> None:
    """Open a dispute on settlements (as the shipper or the platform)."""
    if not reason.strip():
        raise InvalidInput("--reason must not be empty.")
    reason_hash = keccak(text=reason)
    _run_lifecycle(
        ctx,
        "dispute",
        ids or [],
        file,
        account,
        dry_run,
        lambda ledger, chosen, _extra, signer, advance: ledger.dispute(chosen, reason_hash, signer, on_batch=advance),
    )


@app.command()
def resolve(
    ctx: typer.Context,
    ids: list[str] = IDS_ARG,
    file: Path | None = FILE_OPT,
    defaulted: bool = typer.Option(False, "--defaulted", help="Close as Defaulted instead of Resolved."),
    account: Account = None,
    dry_run: DryRun = False,
) -> None:
    """Close disputed (or, with --defaulted, overdue) settlements (as a committee member)."""
    _run_lifecycle(
        ctx,
        "resolve-default" if defaulted else "resolve",
        ids or [],
        file,
        account,
        dry_run,
        lambda ledger, chosen, _extra, signer, advance: ledger.resolve(chosen, defaulted, signer, on_batch=advance),
    )


@app.command()
def pledge(
    ctx: typer.Context,
    settlement: str = typer.Argument(..., help="Settlement id (0x...)."),
    lender: str = typer.Option(..., "--lender", help="The lender's address or keystore name."),
    account: Account = None,
) -> None:
    """Pledge a confirmed receivable to one lender (as the platform). A second pledge is refused."""
    st = state(ctx)
    ledger = SettlementLedger(st.client)
    record = ledger.record(parse_bytes32(settlement, "settlement id"))
    lender_address = resolve_address(st.settings.keystore_dir, lender)
    ledger.pledge(record, lender_address, st.account(account))
    emit(
        st,
        {"settlement": to_hex(record.id), "lender": lender_address, "status": "Financed"},
        f"settlement {to_hex(record.id)} pledged to {lender_address}",
    )


def _describe(ledger: SettlementLedger, record: Settlement, stored: StoredState) -> dict[str, Any]:
    out = record.to_json()
    out["status"] = stored.status.label
    out["paid_date"] = iso_date(stored.paid_date) if stored.paid_date else None
    out["payment_final"] = stored.status == Status.PAID
    out["submitted_by"] = "shipper" if stored.submitted_by_shipper else "platform"
    return out


@app.command()
def show(ctx: typer.Context, settlement: str = typer.Argument(..., help="Settlement id (0x...).")) -> None:
    """Show one settlement: its record, status, lender and every event."""
    st = state(ctx)
    ledger = SettlementLedger(st.client)
    sid = parse_bytes32(settlement, "settlement id")
    record = ledger.record(sid)
    stored = ledger.states([sid])[0]
    info = _describe(ledger, record, stored)
    info["lender"] = ledger.lender_of(sid)
    with ChainIndex(st.client) as index:  # this node's chain index, caught up first: no scan of the ledger's logs
        info["events"] = index.history(sid)

    def text() -> None:
        table(f"Settlement {to_hex(sid)}", ["field", "value"], [[k, v] for k, v in info.items() if k != "events"])
        table("Events", ["block", "event", "tx"], [[e["block"], e["event"], e["tx"]] for e in info["events"]])

    emit(st, info, text)


@app.command()
def history(
    ctx: typer.Context,
    subject: str = typer.Argument(..., help="Subject: namespace:registration or 0x id."),
    limit: int = typer.Option(50, "--limit", min=1, help="Rows to print (JSON prints all)."),
) -> None:
    """List the settlements of a subject (as shipper, platform or carrier), oldest first."""
    st = state(ctx)
    ledger = SettlementLedger(st.client)
    sid = subject_id(subject)
    with ChainIndex(st.client) as index:
        records = index.records_of(sid, ("shipper", "platform", "carrier"))
    states = ledger.states([r.id for r in records])
    items = [_describe(ledger, r, s) for r, s in zip(records, states, strict=True)]
    for item in items:
        item["role"] = ",".join(role for role in ("shipper", "platform", "carrier") if item[role] == to_hex(sid))
    emit(
        st,
        {"subject": to_hex(sid), "settlements": items},
        lambda: table(
            f"Settlements of {subject} ({len(items)})",
            ["id", "role", "amount (fen)", "invoiced", "due", "status", "paid"],
            [
                [
                    i["id"][:18] + "…",
                    i["role"],
                    i["amount_fen"],
                    i["invoice_date"],
                    i["due_date"],
                    i["status"],
                    i["paid_date"] or "",
                ]
                for i in items[-limit:]
            ],
        ),
    )
