"""`creditshare settlements ...`: submit a CSV, move settlements through their lifecycle, read them back."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any, Optional

import typer
from eth_utils import keccak

from creditshare import settlements as sm
from creditshare.cli.context import console, emit_json, progress, state, table
from creditshare.errors import InvalidInput
from creditshare.ids import parse_bytes32, subject_id, to_hex
from creditshare.keys import resolve_address
from creditshare.settlements import Ledger, RowError, Status

app = typer.Typer(help="Freight settlements: submit from CSV, confirm, pledge, pay, dispute, resolve, read.",
                  no_args_is_help=True)

ACCOUNT_HELP = "Keystore name of the signing account (or set CREDITSHARE_PRIVATE_KEY)."
DRY_RUN_HELP = "Validate and show what would be sent; send nothing."

# action -> (statuses it moves from, the status it moves to)
TRANSITIONS: dict[str, tuple[set[Status], Status]] = {
    "confirm": ({Status.INVOICED}, Status.CONFIRMED),
    "pay": ({Status.CONFIRMED, Status.FINANCED, Status.OVERDUE}, Status.PAID),
    "markOverdue": ({Status.CONFIRMED, Status.FINANCED}, Status.OVERDUE),
    "dispute": ({Status.INVOICED, Status.CONFIRMED, Status.FINANCED, Status.OVERDUE}, Status.DISPUTED),
    "resolve": ({Status.DISPUTED}, Status.RESOLVED),
    "resolve-default": ({Status.DISPUTED, Status.OVERDUE}, Status.DEFAULTED),
}


@app.command()
def submit(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Settlement CSV (see README: reference, shipper, platform, carrier, "
                                          "amount_fen, invoice_date, due_date, evidence)."),
    account: Optional[str] = typer.Option(None, "--account", help=ACCOUNT_HELP),
    batch_size: int = typer.Option(sm.DEFAULT_BATCH, "--batch-size", min=1, max=1000,
                                   help="Settlements per transaction."),
    dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
) -> None:
    """Validate a whole CSV, then submit the settlements not yet on chain, in batches.

    Nothing is sent if any row is bad: every bad row is listed with its line
    number. Rows already on chain are skipped, so a file that was cut off by a
    crash can simply be submitted again.
    """
    st = state(ctx)
    started = time.perf_counter()
    rows = sm.parse_csv(file)
    signer = st.account(account)
    ledger = Ledger(st.client)
    plan = ledger.plan(file, rows, signer.address)
    records = sm.records_from_rows(plan.to_send)
    gas_used = 0
    if records and not dry_run:
        with progress(st.json) as bar:
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
    }
    if st.json:
        emit_json(result)
    elif not records:
        console.print(f"nothing to submit: all {len(rows)} settlements of {file} are on chain already")
    elif dry_run:
        console.print(f"dry run: {len(records)} settlements would be submitted, "
                      f"{len(plan.already_on_chain)} are on chain already")
    else:
        console.print(f"submitted {len(records)} settlements ({len(plan.already_on_chain)} were on chain already) "
                      f"in {elapsed:.1f}s, {result['gas_per_settlement']} gas each")


def _selected(ledger: Ledger, ids: list[str], file: Optional[Path], extra: tuple[str, ...] = ()) -> tuple[
        list[sm.Settlement], dict[bytes, dict[str, str]]]:
    if bool(ids) == bool(file):
        raise InvalidInput("name the settlements either as IDs or with --file CSV (not both).")
    if file:
        rows = sm.parse_csv(file, extra_columns=extra)
        return [r.settlement for r in rows], {r.settlement.id: r.extra for r in rows}
    wanted = [parse_bytes32(i, "settlement id") for i in ids]
    found = ledger.records(wanted)
    missing = [to_hex(w) for w in wanted if w not in found]
    if missing:
        raise InvalidInput(f"not on the ledger: {', '.join(missing)}")
    return [found[w] for w in wanted], {}


def _run_lifecycle(
    ctx: typer.Context, action: str, ids: list[str], file: Optional[Path], account: Optional[str], dry_run: bool,
    extra_args: tuple[Any, ...] = (), per_record: Any = None, extra_columns: tuple[str, ...] = (),
    transition: str | None = None,
) -> None:
    st = state(ctx)
    ledger = Ledger(st.client)
    records, extras = _selected(ledger, ids, file, extra_columns)
    allowed_from, target = TRANSITIONS[transition or action]
    states = ledger.states([r.id for r in records])
    todo: list[int] = []
    already = 0
    past = 0
    errors: list[RowError] = []
    for i, (record, stored) in enumerate(zip(records, states, strict=True)):
        if stored.status == Status.NONE:
            errors.append(RowError(i + 1, f"settlement {to_hex(record.id)} is not on the ledger"))
        elif stored.digest != record.digest:
            errors.append(RowError(i + 1, f"settlement {to_hex(record.id)} is on chain with different content"))
        elif stored.status == target:
            already += 1
        elif stored.status not in allowed_from and RANK[stored.status] >= RANK[target]:
            past += 1
        elif stored.status not in allowed_from:
            errors.append(RowError(i + 1, f"settlement {to_hex(record.id)} is {stored.status.label}; "
                                          f"cannot {action} it"))
        else:
            todo.append(i)
    if errors:
        raise sm.InvalidSettlementFile(file or Path("<ids>"), errors)
    chosen = [records[i] for i in todo]
    values = [per_record(records[i], extras.get(records[i].id, {})) for i in todo] if per_record else None
    if chosen and not dry_run:
        signer = st.account(account)
        with progress(st.json) as bar:
            task = bar.add_task(f"{action} settlements", total=len(chosen))
            ledger.lifecycle(action, chosen, signer, *extra_args, per_record=values,
                             on_batch=lambda n: bar.advance(task, n))
    verb = {"confirm": "confirmed", "pay": "paid", "markOverdue": "marked overdue", "dispute": "disputed",
            "resolve": "resolved"}[action]
    if st.json:
        emit_json({"action": action, "done": 0 if dry_run else len(chosen), "would_do": len(chosen) if dry_run else 0,
                   "already": already, "skipped_past": past, "dry_run": dry_run})
    else:
        prefix = "dry run: would have " if dry_run else ""
        tail = f"; {past} skipped, already further along" if past else ""
        console.print(f"{prefix}{verb} {len(chosen)} settlement(s); {already} were already {target.label}{tail}")


# how far along the lifecycle a status is: a row already past an action's target
# is skipped (so that re-running a file is harmless), one short of it is an error
RANK = {Status.INVOICED: 1, Status.CONFIRMED: 2, Status.FINANCED: 3, Status.OVERDUE: 4, Status.DISPUTED: 5,
        Status.PAID: 6, Status.RESOLVED: 6, Status.DEFAULTED: 6}


IDS_ARG = typer.Argument(None, help="Settlement ids (0x...), or use --file.")
FILE_OPT = typer.Option(None, "--file", help="A settlement CSV: act on every row.")


@app.command()
def confirm(ctx: typer.Context, ids: list[str] = IDS_ARG, file: Optional[Path] = FILE_OPT,
            account: Optional[str] = typer.Option(None, "--account", help=ACCOUNT_HELP),
            dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP)) -> None:
    """Confirm Invoiced settlements (as the counterparty of the submitter)."""
    _run_lifecycle(ctx, "confirm", ids or [], file, account, dry_run)


@app.command()
def pay(ctx: typer.Context, ids: list[str] = IDS_ARG, file: Optional[Path] = FILE_OPT,
        paid_date: Optional[str] = typer.Option(None, "--paid-date", help="YYYY-MM-DD (default: today, UTC). "
                                                "With --file, a paid_date column overrides it per row."),
        account: Optional[str] = typer.Option(None, "--account", help=ACCOUNT_HELP),
        dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP)) -> None:
    """Record payment of settlements (as the shipper, the payer)."""
    default = sm.parse_date(paid_date, "--paid-date") if paid_date else int(
        dt.datetime.combine(dt.datetime.now(dt.UTC).date(), dt.time(), dt.UTC).timestamp())

    def date_of(record: sm.Settlement, extra: dict[str, str]) -> int:
        text = extra.get("paid_date", "").strip()
        return sm.parse_date(text, "paid_date") if text else default

    _run_lifecycle(ctx, "pay", ids or [], file, account, dry_run, per_record=date_of, extra_columns=("paid_date",))


@app.command()
def overdue(ctx: typer.Context, ids: list[str] = IDS_ARG, file: Optional[Path] = FILE_OPT,
            account: Optional[str] = typer.Option(None, "--account", help=ACCOUNT_HELP),
            dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP)) -> None:
    """Mark settlements past their due date as Overdue (as the platform, the payee)."""
    _run_lifecycle(ctx, "markOverdue", ids or [], file, account, dry_run)


@app.command()
def dispute(ctx: typer.Context, ids: list[str] = IDS_ARG, file: Optional[Path] = FILE_OPT,
            reason: str = typer.Option(..., "--reason", help="Why; its keccak256 goes on chain, the text stays with you."),
            account: Optional[str] = typer.Option(None, "--account", help=ACCOUNT_HELP),
            dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP)) -> None:
    """Open a dispute on settlements (as the shipper or the platform)."""
    if not reason.strip():
        raise InvalidInput("--reason must not be empty.")
    _run_lifecycle(ctx, "dispute", ids or [], file, account, dry_run, extra_args=(keccak(text=reason),))


@app.command()
def resolve(ctx: typer.Context, ids: list[str] = IDS_ARG, file: Optional[Path] = FILE_OPT,
            defaulted: bool = typer.Option(False, "--defaulted", help="Close as Defaulted instead of Resolved."),
            account: Optional[str] = typer.Option(None, "--account", help=ACCOUNT_HELP),
            dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP)) -> None:
    """Close disputed (or, with --defaulted, overdue) settlements (as a committee member)."""
    _run_lifecycle(ctx, "resolve", ids or [], file, account, dry_run, extra_args=(defaulted,),
                   transition="resolve-default" if defaulted else "resolve")


@app.command()
def pledge(ctx: typer.Context, settlement: str = typer.Argument(..., help="Settlement id (0x...)."),
           lender: str = typer.Option(..., "--lender", help="The lender's address or keystore name."),
           account: Optional[str] = typer.Option(None, "--account", help=ACCOUNT_HELP)) -> None:
    """Pledge a confirmed receivable to one lender (as the platform). A second pledge is refused."""
    st = state(ctx)
    ledger = Ledger(st.client)
    record = ledger.record(parse_bytes32(settlement, "settlement id"))
    lender_address = resolve_address(st.settings.keystore_dir, lender)
    ledger.pledge(record, lender_address, st.account(account))
    if st.json:
        emit_json({"settlement": to_hex(record.id), "lender": lender_address, "status": "Financed"})
    else:
        console.print(f"settlement {to_hex(record.id)} pledged to {lender_address}")


def _describe(ledger: Ledger, record: sm.Settlement, stored: sm.StoredState) -> dict[str, Any]:
    out = record.to_json()
    out["status"] = stored.status.label
    out["paid_date"] = sm.iso_date(stored.paid_date) if stored.paid_date else None
    out["submitted_by"] = "shipper" if stored.submitted_by_shipper else "platform"
    return out


@app.command()
def show(ctx: typer.Context, settlement: str = typer.Argument(..., help="Settlement id (0x...).")) -> None:
    """Show one settlement: its record, status, lender and every event."""
    st = state(ctx)
    ledger = Ledger(st.client)
    sid = parse_bytes32(settlement, "settlement id")
    record = ledger.record(sid)
    stored = ledger.states([sid])[0]
    info = _describe(ledger, record, stored)
    lender = st.client.read(lambda: ledger.contract.functions.lenderOf(sid).call(), "lender")
    info["lender"] = None if int(lender, 16) == 0 else lender
    info["events"] = ledger.history(sid)
    if st.json:
        emit_json(info)
        return
    table(f"Settlement {to_hex(sid)}", ["field", "value"],
          [[k, v] for k, v in info.items() if k != "events"])
    table("Events", ["block", "event", "tx"], [[e["block"], e["event"], e["tx"]] for e in info["events"]])


@app.command()
def history(ctx: typer.Context, subject: str = typer.Argument(..., help="Subject: namespace:registration or 0x id."),
            limit: int = typer.Option(50, "--limit", min=1, help="Rows to print (JSON prints all).")) -> None:
    """List the settlements of a subject (as shipper, platform or carrier), oldest first."""
    st = state(ctx)
    ledger = Ledger(st.client)
    sid = subject_id(subject)
    records = ledger.by_subject(sid)
    states = ledger.states([r.id for r in records])
    items = [_describe(ledger, r, s) for r, s in zip(records, states, strict=True)]
    for item in items:
        item["role"] = ",".join(role for role in ("shipper", "platform", "carrier") if item[role] == to_hex(sid))
    if st.json:
        emit_json({"subject": to_hex(sid), "settlements": items})
        return
    table(f"Settlements of {subject} ({len(items)})", ["id", "role", "amount (fen)", "invoiced", "due", "status", "paid"],
          [[i["id"][:18] + "…", i["role"], i["amount_fen"], i["invoice_date"], i["due_date"], i["status"],
            i["paid_date"] or ""] for i in items[-limit:]])
