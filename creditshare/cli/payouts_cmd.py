"""`creditshare payouts ...`: what platforms owe carriers per waybill, recorded from CSV, paid and confirmed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import typer
from eth_utils import keccak

from creditshare.bindings.consortium import Consortium
from creditshare.bindings.payout_ledger import Payout, PayoutLedger, PayoutState, Status
from creditshare.bindings.settlement_ledger import DEFAULT_BATCH, iso_date
from creditshare.cli.context import emit, progress, state, table
from creditshare.cli.options import Account, DryRun, EvidenceRoot
from creditshare.core.chain import CallsRefused, PartialWrite, spans
from creditshare.core.errors import InvalidInput
from creditshare.core.files import parse_date
from creditshare.core.ids import parse_bytes32, subject_id, to_hex
from creditshare.domain import payouts as po

app = typer.Typer(
    help="Payouts to carriers: platforms record what they owe per waybill and pay; carriers confirm receipt.",
    no_args_is_help=True,
)

IDS_ARG = typer.Argument(None, help="Payout ids (0x...), or use --file.")
FILE_OPT = typer.Option(None, "--file", help="A payout CSV: act on every row.")


def _lines(numbers: Sequence[int]) -> str:
    return f"{'line' if len(set(numbers)) == 1 else 'lines'} {spans(numbers)}"


class _told_by_line:  # noqa: N801 - a context manager, like contextlib's
    """Pins a batched send's CallsRefused and PartialWrite on the rows of the input (`lines[i]`: where the
    record at index i of what was sent stands)."""

    def __init__(self, source: Path, lines: Sequence[int], done: str) -> None:
        self.source, self.lines, self.done = source, lines, done

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, err: BaseException | None, tb: object) -> None:
        if isinstance(err, CallsRefused):
            errors = []
            for failure in err.failures:
                if failure.item is not None:
                    errors.append(po.RowError(self.lines[failure.item], failure.reason))
                else:
                    rows = [self.lines[i] for i in err.items[failure.call]]
                    errors.append(po.RowError(min(rows), f"the transaction of {_lines(rows)}: {failure.reason}"))
            raise po.InvalidPayoutFile(self.source, errors) from err
        if isinstance(err, PartialWrite):
            landed = [self.lines[i] for i in err.landed_items]
            missed = [self.lines[i] for i in err.not_landed_items]
            raise err.restated(
                f"{self.source}: the chain changed after the check: {len(landed)} row(s) {self.done} and "
                f"{len(missed)} not ({err.reason}); run the command again to complete the rest",
                [f"{self.done}: {_lines(landed)}", f"not {self.done}: {_lines(missed)}"],
            ) from err


@app.command()
def submit(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ...,
        help="Payout CSV: reference, platform, carrier, amount_fen, delivery_date, due_date, evidence [, settlement].",
    ),
    account: Account = None,
    batch_size: int = typer.Option(DEFAULT_BATCH, "--batch-size", min=1, max=1000, help="Payouts per transaction."),
    dry_run: DryRun = False,
    evidence_root: EvidenceRoot = None,
) -> None:
    """Validate a whole payout CSV against the chain, then record the payouts not yet on chain (as the platform).

    Nothing is sent if any row is bad; every bad row is listed with its line. Rows already on chain are
    skipped, so a file can simply be submitted again."""
    st = state(ctx)
    ledger = PayoutLedger(st.client)
    rows = po.parse_csv(file, evidence_root=evidence_root, today=st.client.block_timestamp())
    signer = st.account(account)
    plan = po.plan_record(ledger, Consortium(st.client), file, rows, signer.address)
    records = [r.payout for r in plan.to_send]
    lines = [r.line for r in plan.to_send]
    if records:
        with _told_by_line(file, lines, "recorded"):
            ledger.record(records, signer, batch_size=batch_size, check_only=True)
    if records and not dry_run:
        po.store_documents(st.settings.evidence_dir, file, plan.to_send)
        with progress(st.json) as bar, _told_by_line(file, lines, "recorded"):
            task = bar.add_task("recording payouts", total=len(records))
            ledger.record(records, signer, batch_size=batch_size, on_batch=lambda n: bar.advance(task, n))
    done = 0 if dry_run else len(records)
    result = {
        "file": str(file),
        "rows": len(rows),
        "recorded": done,
        "would_record": len(records) if dry_run else 0,
        "already_on_chain": len(plan.already_on_chain),
        "dry_run": dry_run,
    }
    if not records:
        text = f"nothing to record: all {len(rows)} payouts of {file} are on chain already"
    elif dry_run:
        text = f"dry run: {len(records)} payouts would be recorded, {len(plan.already_on_chain)} are on chain already"
    else:
        text = f"recorded {done} payouts ({len(plan.already_on_chain)} were on chain already)"
    emit(st, result, text)


def _selected(
    ledger: PayoutLedger, ids: list[str], file: Path | None, extra: tuple[str, ...], evidence_root: Path | None = None
) -> tuple[list[Payout], list[dict[str, str]], list[int], Path]:
    """The named payouts, their extra columns, where each stands in the input, and the input's name."""
    if bool(ids) == bool(file):
        raise InvalidInput("name the payouts either as IDs or with --file CSV (not both).")
    if evidence_root is not None and not file:
        raise InvalidInput("--evidence-root goes with --file (the folder the file's evidence paths are in).")
    if file:
        rows = po.parse_csv(file, extra_columns=extra, evidence_root=evidence_root)
        return [r.payout for r in rows], [r.extra for r in rows], [r.line for r in rows], file
    wanted = [parse_bytes32(i, "payout id") for i in ids]
    found = ledger.records(wanted)
    missing = [to_hex(w) for w in wanted if w not in found]
    if missing:
        raise InvalidInput(f"not on the payout ledger: {', '.join(missing)}")
    return [found[w] for w in wanted], [{} for _ in wanted], list(range(1, len(wanted) + 1)), Path("<ids>")


Check = Callable[[PayoutLedger, list[Payout], list[PayoutState], list[dict[str, str]]], list[po.RowError]]
#: sends (or, with check_only=True, only checks) one step: (ledger, payouts, extra columns, signer, **binding options)
Send = Callable[..., Any]

_VERBS = {
    "confirm": "confirmed",
    "pay": "declared payment of",
    "confirm-receipt": "confirmed receipt of",
    "finalize": "finalized payment of",
    "overdue": "marked overdue",
    "dispute": "disputed",
}


def _run(
    ctx: typer.Context,
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
    """Plans `step` for the named payouts as a whole (all or nothing), runs the step's own checks and the
    contract's checks on every batch, then sends; a rerun skips what is done already."""
    st = state(ctx)
    ledger = PayoutLedger(st.client)
    records, extras, lines, source = _selected(ledger, ids or [], file, extra_columns, evidence_root)
    states = ledger.states([r.id for r in records])
    plan = po.plan_lifecycle(step, records, states)
    errors = [po.RowError(lines[e.line - 1], e.reason) for e in plan.errors]
    if not errors and check is not None:
        refused = check(
            ledger, [records[i] for i in plan.todo], [states[i] for i in plan.todo], [extras[i] for i in plan.todo]
        )
        errors = [po.RowError(lines[plan.todo[e.line - 1]], e.reason) for e in refused]
    if errors:
        raise po.InvalidPayoutFile(source, errors)
    chosen = [records[i] for i in plan.todo]
    chosen_extras = [extras[i] for i in plan.todo]
    if chosen:
        signer = st.account(account)
        told = _told_by_line(source, [lines[i] for i in plan.todo], _VERBS[step])
        with told:  # the contract's own checks (the caller's side, dates), dry run or not
            send(ledger, chosen, chosen_extras, signer, check_only=True)
        if not dry_run:
            with progress(st.json) as bar, told:
                task = bar.add_task(f"{step} payouts", total=len(chosen))
                send(ledger, chosen, chosen_extras, signer, on_batch=lambda n: bar.advance(task, n))
    prefix = "dry run: would have " if dry_run else ""
    tail = f"; {plan.past} skipped, already further along" if plan.past else ""
    emit(
        st,
        {
            "action": STEP_FUNCTION[step],
            "done": 0 if dry_run else len(chosen),
            "would_do": len(chosen) if dry_run else 0,
            "already": plan.already,
            "skipped_past": plan.past,
            "dry_run": dry_run,
        },
        f"{prefix}{_VERBS[step]} {len(chosen)} payout(s); {plan.already} were already {plan.target.label}{tail}",
    )


STEP_FUNCTION = {step: function for step, (function, _target, _who) in po.STEPS.items()}


@app.command()
def confirm(
    ctx: typer.Context,
    ids: list[str] = IDS_ARG,
    file: Path | None = FILE_OPT,
    account: Account = None,
    dry_run: DryRun = False,
    evidence_root: EvidenceRoot = None,
) -> None:
    """Confirm recorded payouts: amount and delivery date are right (as the carrier)."""
    _run(
        ctx,
        "confirm",
        ids,
        file,
        account,
        dry_run,
        lambda ledger, chosen, _x, signer, **kw: ledger.confirm(chosen, signer, **kw),
        evidence_root=evidence_root,
    )


@app.command()
def pay(
    ctx: typer.Context,
    ids: list[str] = IDS_ARG,
    file: Path | None = FILE_OPT,
    paid_date: str | None = typer.Option(
        None,
        "--paid-date",
        help="YYYY-MM-DD, not before the payout was recorded (default: the time of the declaration). With "
        "--file, a paid_date column overrides it per row.",
    ),
    account: Account = None,
    dry_run: DryRun = False,
    evidence_root: EvidenceRoot = None,
) -> None:
    """Declare payment of payouts (as the platform). Final only when the carrier confirms receipt
    (`payouts confirm-receipt`) or, undisputed, after the dispute window (`payouts finalize`)."""
    default = parse_date(paid_date, "--paid-date") if paid_date else 0

    def date_of(extra: dict[str, str]) -> int:
        text = extra.get("paid_date", "").strip()
        return parse_date(text, "paid_date") if text else default

    def check(
        ledger: PayoutLedger, chosen: list[Payout], states: list[PayoutState], extras: list[dict[str, str]]
    ) -> list[po.RowError]:
        return po.check_paid_dates(chosen, states, [date_of(e) for e in extras], ledger.client.block_timestamp())

    _run(
        ctx,
        "pay",
        ids,
        file,
        account,
        dry_run,
        lambda ledger, chosen, extras, signer, **kw: ledger.pay(chosen, [date_of(e) for e in extras], signer, **kw),
        extra_columns=("paid_date",),
        check=check,
        evidence_root=evidence_root,
    )


@app.command("confirm-receipt")
def confirm_receipt(
    ctx: typer.Context,
    ids: list[str] = IDS_ARG,
    file: Path | None = FILE_OPT,
    account: Account = None,
    dry_run: DryRun = False,
    evidence_root: EvidenceRoot = None,
) -> None:
    """Confirm receipt of declared payouts (as the carrier): the payout is final (Paid)."""
    _run(
        ctx,
        "confirm-receipt",
        ids,
        file,
        account,
        dry_run,
        lambda ledger, chosen, _x, signer, **kw: ledger.confirm_receipt(chosen, signer, **kw),
        evidence_root=evidence_root,
    )


@app.command()
def finalize(
    ctx: typer.Context,
    ids: list[str] = IDS_ARG,
    file: Path | None = FILE_OPT,
    account: Account = None,
    dry_run: DryRun = False,
    evidence_root: EvidenceRoot = None,
) -> None:
    """Make declared payouts final once their dispute window has passed undisputed (any active member)."""

    def check(
        ledger: PayoutLedger, chosen: list[Payout], states: list[PayoutState], _x: list[dict[str, str]]
    ) -> list[po.RowError]:
        return po.check_dispute_window(chosen, states, ledger.dispute_window(), ledger.client.block_timestamp())

    _run(
        ctx,
        "finalize",
        ids,
        file,
        account,
        dry_run,
        lambda ledger, chosen, _x, signer, **kw: ledger.finalize_payment(chosen, signer, **kw),
        check=check,
        evidence_root=evidence_root,
    )


@app.command()
def overdue(
    ctx: typer.Context,
    ids: list[str] = IDS_ARG,
    file: Path | None = FILE_OPT,
    account: Account = None,
    dry_run: DryRun = False,
    evidence_root: EvidenceRoot = None,
) -> None:
    """Mark payouts past their due date as Overdue (as the carrier): a fact about the platform."""

    def check(
        ledger: PayoutLedger, chosen: list[Payout], _s: list[PayoutState], _x: list[dict[str, str]]
    ) -> list[po.RowError]:
        return po.check_due(chosen, ledger.client.block_timestamp())

    _run(
        ctx,
        "overdue",
        ids,
        file,
        account,
        dry_run,
        lambda ledger, chosen, _x, signer, **kw: ledger.mark_overdue(chosen, signer, **kw),
        check=check,
        evidence_root=evidence_root,
    )


@app.command()
def dispute(
    ctx: typer.Context,
    ids: list[str] = IDS_ARG,
    file: Path | None = FILE_OPT,
    reason: str = typer.Option(..., "--reason", help="Why; its keccak256 goes on chain, the text stays with you."),
    account: Account = None,
    dry_run: DryRun = False,
    evidence_root: EvidenceRoot = None,
) -> None:
    """Open a dispute on payouts (as the platform or the carrier); a disputed payout never becomes final
    by itself: the committee resolves it."""
    if not reason.strip():
        raise InvalidInput("--reason must not be empty.")
    reason_hash = keccak(text=reason)
    _run(
        ctx,
        "dispute",
        ids,
        file,
        account,
        dry_run,
        lambda ledger, chosen, _x, signer, **kw: ledger.dispute(chosen, reason_hash, signer, **kw),
        evidence_root=evidence_root,
    )


def _describe(payout: Payout, stored: PayoutState) -> dict[str, Any]:
    out = payout.to_json()
    out["status"] = stored.status.label
    out["paid_date"] = iso_date(stored.paid_date) if stored.paid_date else None
    out["payment_final"] = stored.status == Status.PAID
    out["days_late"] = (
        max(0, (stored.paid_date - payout.due_date + 86_399) // 86_400) if stored.status == Status.PAID else None
    )
    return out


@app.command()
def show(
    ctx: typer.Context,
    target: str = typer.Argument(..., help="A payout id (0x...), or a subject (namespace:registration or 0x id)."),
    limit: int = typer.Option(50, "--limit", min=1, help="Rows to print (JSON prints all)."),
) -> None:
    """Show one payout, or every payout of a platform or carrier with a summary (owed, paid, late)."""
    st = state(ctx)
    ledger = PayoutLedger(st.client)
    key = subject_id(target)
    found = ledger.records([key])
    if key in found:
        info = _describe(found[key], ledger.states([key])[0])
        emit(st, info, lambda: table(f"Payout {to_hex(key)}", ["field", "value"], [[k, v] for k, v in info.items()]))
        return
    payouts = ledger.by_subject(key)
    if not payouts:
        raise InvalidInput(f"no payout on the payout ledger names {target} (as payout id, platform or carrier).")
    states = ledger.states([p.id for p in payouts])
    items = [_describe(p, s) for p, s in zip(payouts, states, strict=True)]
    for item in items:
        item["role"] = "platform" if item["platform"] == to_hex(key) else "carrier"
    paid = [i for i in items if i["payment_final"]]
    summary = {
        "payouts": len(items),
        "amount_fen": sum(i["amount_fen"] for i in items),
        "paid": len(paid),
        "paid_on_time": sum(1 for i in paid if i["days_late"] == 0),
        "overdue_or_defaulted": sum(1 for i in items if i["status"] in ("Overdue", "Defaulted")),
        "disputed": sum(1 for i in items if i["status"] in ("Disputed", "Resolved", "Defaulted")),
    }

    def text() -> None:
        table(
            f"Payouts of {target} ({len(items)})",
            ["id", "role", "amount (fen)", "delivered", "due", "status", "paid", "days late"],
            [
                [
                    i["id"][:18] + "…",
                    i["role"],
                    i["amount_fen"],
                    i["delivery_date"],
                    i["due_date"],
                    i["status"],
                    i["paid_date"] or "",
                    "" if i["days_late"] is None else i["days_late"],
                ]
                for i in items[-limit:]
            ],
        )
        table("Summary", ["measure", "value"], [[k, v] for k, v in summary.items()])

    emit(st, {"subject": to_hex(key), "summary": summary, "payouts": items}, text)
