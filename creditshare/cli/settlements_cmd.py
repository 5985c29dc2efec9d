"""`creditshare settlements ...`: submit a CSV, move settlements through their lifecycle, read them back."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from creditshare.bindings.consortium import Consortium
from creditshare.bindings.settlement_ledger import (
    DEFAULT_BATCH,
    Settlement,
    SettlementLedger,
    Status,
    StoredState,
)
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
    batch_size: int | None = typer.Option(
        None,
        "--batch-size",
        min=1,
        max=1000,
        help=f"Settlements per transaction (default: {DEFAULT_BATCH} where a block holds them, else as many as "
        "fit the connected chain's block gas limit).",
    ),
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
    told = ToldByLine(sm.InvalidSettlementFile, file, [r.line for r in plan.to_send], "submitted", _RERUN_NOTE)
    if records:  # the contract's own checks too, before any document is stored (as payouts submit does): a
        # file the ledger refuses stores nothing, and a dry run that passes sends whole
        with told:
            ledger.check_submit(records, signer, batch_size)
    gas_used = 0
    documents: list[str] = []
    if not dry_run:  # every document in the evidence store before a record naming it is sent
        documents = sm.store_documents(st.settings.evidence_dir, file, rows)
    if records and not dry_run:
        receipts = send_in_batches(
            st,
            "submitting settlements",
            len(records),
            told,
            lambda advance: ledger.submit(records, signer, batch_size, on_batch=advance),
        )
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


# a rerun of a file skips the rows on chain already
_RERUN_NOTE = " (what landed is skipped)"

# what the summary of each contract function says was done
_VERBS = {
    "confirm": "confirmed",
    "pay": "declared payment of",
    "confirmPayment": "confirmed payment of",
    "finalizePayment": "finalized payment of",
    "markOverdue": "marked overdue",
    "dispute": "disputed",
    "resolve": "resolved",
}

SETTLEMENTS = LedgerCli(
    noun="settlement",
    ledger=SettlementLedger,
    parse=lambda file, extra, _root: sm.parse_csv(file, extra_columns=extra),
    record_of=lambda row: row.settlement,
    not_on="the ledger",
    invalid=sm.InvalidSettlementFile,
    plan=sm.plan_lifecycle,
    action={step: function for step, (function, _target) in sm.STEPS.items()},
    verb={step: _VERBS[function] for step, (function, _target) in sm.STEPS.items()},
    # what a landed row of each step is called in a partial write's report
    done={
        "confirm": "confirmed",
        "pay": "declared paid",
        "confirm-payment": "confirmed paid",
        "finalize": "finalized",
        "markOverdue": "marked overdue",
        "dispute": "disputed",
        "resolve": "resolved",
        "resolve-default": "closed as defaulted",
    },
    check_paid_dates=sm.check_paid_dates,
    check_dispute_window=sm.check_dispute_window,
    ids_arg=typer.Argument(None, help="Settlement ids (0x...), or use --file."),
    file_opt=typer.Option(None, "--file", help="A settlement CSV: act on every row."),
    rerun_note=_RERUN_NOTE,
)
IDS_ARG, FILE_OPT = SETTLEMENTS.ids_arg, SETTLEMENTS.file_opt

step_command(
    app,
    SETTLEMENTS,
    "confirm",
    "confirm",
    "Confirm Invoiced settlements (as the counterparty of the submitter).",
    sends(SettlementLedger.confirm),
)


@app.command()
def pay(
    ctx: typer.Context,
    ids: list[str] = IDS_ARG,
    file: Path | None = FILE_OPT,
    paid_date: str | None = typer.Option(
        None,
        "--paid-date",
        help="YYYY-MM-DD, not before the invoice was confirmed nor, once Overdue, before its overdue marking "
        "(default: the time of the declaration). The date stands only if the payee confirms it; finalised by the "
        "dispute window alone, the payment is dated at its declaration. With --file, a paid_date column overrides "
        "it per row.",
    ),
    account: Account = None,
    dry_run: DryRun = False,
) -> None:
    """Declare payment of settlements (as the shipper, the payer).

    The payment is final (Paid) only when the payee confirms it
    (`settlements confirm-payment`) or, undisputed, after the dispute window
    (`settlements finalize`); until then it counts as unpaid.
    """
    send, check = payment(SETTLEMENTS, paid_date)
    run_lifecycle_step(
        ctx, SETTLEMENTS, "pay", ids, file, account, dry_run, send, extra_columns=("paid_date",), check=check
    )


for _name, _step, _send, _check, _doc in (
    (
        "confirm-payment",
        "confirm-payment",
        sends(SettlementLedger.confirm_payment),
        None,
        "Confirm receipt of declared payments (as the payee: the lender of a financed settlement, else the platform).",
    ),
    (
        "finalize",
        "finalize",
        sends(SettlementLedger.finalize_payment),
        dispute_window(SETTLEMENTS),
        "Make declared payments final once their dispute window has passed undisputed (anyone may). The payment "
        "is then dated at its declaration (no payee confirmed the declared date).",
    ),
    (
        "overdue",
        "markOverdue",
        sends(SettlementLedger.mark_overdue),
        None,
        "Mark settlements past their due date as Overdue (as the platform, the payee).",
    ),
):
    step_command(app, SETTLEMENTS, _name, _step, _doc, _send, _check)


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
    digest = reason_hash(reason)
    run_lifecycle_step(
        ctx,
        SETTLEMENTS,
        "dispute",
        ids,
        file,
        account,
        dry_run,
        lambda ledger, chosen, _x, signer, **kw: ledger.dispute(chosen, digest, signer, **kw),
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
    run_lifecycle_step(
        ctx,
        SETTLEMENTS,
        "resolve-default" if defaulted else "resolve",
        ids,
        file,
        account,
        dry_run,
        lambda ledger, chosen, _x, signer, **kw: ledger.resolve(chosen, defaulted, signer, **kw),
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
    out = describe(record, stored, Status.PAID)
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
