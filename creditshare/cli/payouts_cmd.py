"""`creditshare payouts ...`: what platforms owe carriers per waybill, recorded from CSV, paid and confirmed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from creditshare.bindings.consortium import Consortium
from creditshare.bindings.payout_ledger import Payout, PayoutLedger, PayoutState, Status
from creditshare.bindings.settlement_ledger import DEFAULT_BATCH
from creditshare.cli.context import emit, state, table
from creditshare.cli.lifecycle import (
    LedgerCli,
    ToldByLine,
    describe,
    dispute_window,
    payment,
    reason_hash,
    run_lifecycle_step,
    send_in_batches,
    sends,
    step_command,
)
from creditshare.cli.options import Account, DryRun, EvidenceRoot
from creditshare.core.errors import InvalidInput
from creditshare.core.ids import subject_id, to_hex
from creditshare.domain import payouts as po

app = typer.Typer(
    help="Payouts to carriers: platforms record what they owe per waybill and pay; carriers confirm receipt.",
    no_args_is_help=True,
)


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
    told = ToldByLine(po.InvalidPayoutFile, file, lines, "recorded")
    if records:
        with told:
            ledger.record(records, signer, batch_size=batch_size, check_only=True)
    if records and not dry_run:
        po.store_documents(st.settings.evidence_dir, file, plan.to_send)
        send_in_batches(
            st,
            "recording payouts",
            len(records),
            told,
            lambda advance: ledger.record(records, signer, batch_size=batch_size, on_batch=advance),
        )
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


_VERBS = {
    "confirm": "confirmed",
    "pay": "declared payment of",
    "confirm-receipt": "confirmed receipt of",
    "finalize": "finalized payment of",
    "overdue": "marked overdue",
    "dispute": "disputed",
}

PAYOUTS = LedgerCli(
    noun="payout",
    ledger=PayoutLedger,
    parse=lambda file, extra, root: po.parse_csv(file, extra_columns=extra, evidence_root=root),
    record_of=lambda row: row.payout,
    not_on="the payout ledger",
    invalid=po.InvalidPayoutFile,
    plan=po.plan_lifecycle,
    action={step: function for step, (function, _target, _who) in po.STEPS.items()},
    # what the summary says was done, and what a landed row is called in a partial write's report
    verb=_VERBS,
    done=_VERBS,
    check_paid_dates=po.check_paid_dates,
    check_dispute_window=po.check_dispute_window,
    ids_arg=typer.Argument(None, help="Payout ids (0x...), or use --file."),
    file_opt=typer.Option(None, "--file", help="A payout CSV: act on every row."),
    check_alone=True,
    evidence_root=True,
)
IDS_ARG, FILE_OPT = PAYOUTS.ids_arg, PAYOUTS.file_opt

step_command(
    app,
    PAYOUTS,
    "confirm",
    "confirm",
    "Confirm recorded payouts: amount and delivery date are right (as the carrier).",
    sends(PayoutLedger.confirm),
)


@app.command()
def pay(
    ctx: typer.Context,
    ids: list[str] = IDS_ARG,
    file: Path | None = FILE_OPT,
    paid_date: str | None = typer.Option(
        None,
        "--paid-date",
        help="YYYY-MM-DD, not before the payout was recorded nor, once Overdue, before the carrier's marking "
        "(default: the time of the declaration). The date stands only if the carrier confirms receipt; finalised "
        "by the dispute window alone, the payout is dated at its declaration. With --file, a paid_date column "
        "overrides it per row.",
    ),
    account: Account = None,
    dry_run: DryRun = False,
    evidence_root: EvidenceRoot = None,
) -> None:
    """Declare payment of payouts (as the platform). Final only when the carrier confirms receipt
    (`payouts confirm-receipt`) or, undisputed, after the dispute window (`payouts finalize`)."""
    send, check = payment(PAYOUTS, paid_date)
    run_lifecycle_step(
        ctx,
        PAYOUTS,
        "pay",
        ids,
        file,
        account,
        dry_run,
        send,
        extra_columns=("paid_date",),
        check=check,
        evidence_root=evidence_root,
    )


for _name, _step, _send, _check, _doc in (
    (
        "confirm-receipt",
        "confirm-receipt",
        sends(PayoutLedger.confirm_receipt),
        None,
        "Confirm receipt of declared payouts (as the carrier): the payout is final (Paid).",
    ),
    (
        "finalize",
        "finalize",
        sends(PayoutLedger.finalize_payment),
        dispute_window(PAYOUTS),
        "Make declared payouts final once their dispute window has passed undisputed (any active member). The "
        "payout is then dated at its declaration (no carrier confirmed the declared date).",
    ),
    (
        "overdue",
        "overdue",
        sends(PayoutLedger.mark_overdue),
        lambda ledger, chosen, _s, _x: po.check_due(chosen, ledger.client.block_timestamp()),
        "Mark payouts past their due date as Overdue (as the carrier): a fact about the platform.",
    ),
):
    step_command(app, PAYOUTS, _name, _step, _doc, _send, _check)


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
    digest = reason_hash(reason)
    run_lifecycle_step(
        ctx,
        PAYOUTS,
        "dispute",
        ids,
        file,
        account,
        dry_run,
        lambda ledger, chosen, _x, signer, **kw: ledger.dispute(chosen, digest, signer, **kw),
        evidence_root=evidence_root,
    )


def _describe(payout: Payout, stored: PayoutState) -> dict[str, Any]:
    out = describe(payout, stored, Status.PAID)
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
