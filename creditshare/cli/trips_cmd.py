"""`creditshare trips ...`: check settlements' IoT trip logs and record the verdicts on chain (as an oracle)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from creditshare.bindings.settlement_ledger import SettlementLedger, iso_date
from creditshare.bindings.trip_registry import DEFAULT_BATCH, TripRegistry, Verdict
from creditshare.cli.context import console, emit, progress, state, table
from creditshare.cli.options import DryRun, EvidenceRoot, OracleAccount
from creditshare.core.chain import CallsRefused
from creditshare.core.ids import cid_from_digest, parse_bytes32, to_hex
from creditshare.domain import trips as tr

app = typer.Typer(
    help="IoT trip evidence: verify the trip logs of settlements, record and read the verdicts.",
    no_args_is_help=True,
)


@app.command()
def verify(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ...,
        help="Trips CSV: settlement, trip_log, origin_lat, origin_lon, destination_lat, destination_lon.",
    ),
    account: OracleAccount = None,
    batch_size: int = typer.Option(DEFAULT_BATCH, "--batch-size", min=1, max=1000, help="Verdicts per transaction."),
    dry_run: DryRun = False,
    evidence_root: EvidenceRoot = None,
) -> None:
    """Check each settlement's trip log (endpoints, distance, odometer, speed, delivery vs invoice, a track
    reused) and record verified / implausible / no log per settlement in TripRegistry (as an ORACLE member).

    The whole file is checked first; nothing is recorded if any row is bad. Verdicts already on chain,
    unchanged, are skipped, so a rerun is harmless."""
    st = state(ctx)
    rows = tr.parse_csv(file, evidence_root=evidence_root)
    registry = TripRegistry(st.client)
    plan = tr.plan_verify(SettlementLedger(st.client), registry, file, rows)
    todo = plan.to_record
    if todo:
        signer = st.account(account)
        args = (
            [r.row.settlement for r in todo],
            [r.verdict for r in todo],
            [r.energy for r in todo],
            [r.row.log_digest for r in todo],
            [r.fingerprint for r in todo],
        )
        try:
            registry.record(*args, signer, batch_size=batch_size, check_only=True)
        except CallsRefused as err:
            raise tr.InvalidTripFile(
                file,
                [tr.RowError(todo[f.item].row.line if f.item is not None else 1, f.reason) for f in err.failures],
            ) from err
        if not dry_run:
            tr.store_logs(st.settings.evidence_dir, file, todo)
            with progress(st.json) as bar:
                task = bar.add_task("recording trip verdicts", total=len(todo))
                registry.record(*args, signer, batch_size=batch_size, on_batch=lambda n: bar.advance(task, n))
    items: list[dict[str, Any]] = [
        {
            "line": r.row.line,
            "settlement": to_hex(r.row.settlement),
            "verdict": r.check.verdict,
            "reasons": list(r.check.reasons),
            "energy_type": r.check.energy_type or None,
            "path_km": round(r.check.path_km, 1) if r.row.log is not None else None,
            "already_on_chain": r.already,
        }
        for r in plan.results
    ]
    counts = {v: sum(1 for i in items if i["verdict"] == v) for v in ("verified", "implausible", "no log")}
    result: dict[str, Any] = {
        "file": str(file),
        "trips": len(items),
        **{k.replace(" ", "_"): n for k, n in counts.items()},
        "recorded": 0 if dry_run else len(todo),
        "would_record": len(todo) if dry_run else 0,
        "already_on_chain": len(plan.results) - len(todo),
        "dry_run": dry_run,
        "results": items,
    }

    def text() -> None:
        table(
            f"Trips of {file}",
            ["line", "settlement", "verdict", "energy", "km", "why"],
            [
                [
                    i["line"],
                    i["settlement"][:18] + "…",
                    i["verdict"],
                    i["energy_type"] or "",
                    i["path_km"] or "",
                    "; ".join(i["reasons"]),
                ]
                for i in items
            ],
        )
        verb = "would record" if dry_run else "recorded"
        console.print(
            f"{counts['verified']} verified, {counts['implausible']} implausible, {counts['no log']} without a log; "
            f"{verb} {len(todo)} verdict(s), {result['already_on_chain']} on chain already"
        )

    emit(st, result, text)


@app.command()
def show(ctx: typer.Context, settlement: str = typer.Argument(..., help="Settlement id (0x...).")) -> None:
    """Show the trip verdict recorded for one settlement (as oracles and lenders read it)."""
    st = state(ctx)
    sid = parse_bytes32(settlement, "settlement id")
    record = TripRegistry(st.client).verdicts([sid])[0]
    info = {
        "settlement": to_hex(sid),
        "verdict": record.verdict.label if record.verdict != Verdict.NONE else "not verified",
        "energy_type": record.energy.label or None,
        "recorded": iso_date(record.recorded_at) if record.recorded_at else None,
        "oracle": record.by if record.recorded_at else None,
        "trip_log_cid": cid_from_digest(record.log_digest) if record.verdict > Verdict.NO_LOG else None,
        "track_fingerprint": to_hex(record.fingerprint) if record.verdict > Verdict.NO_LOG else None,
    }
    emit(
        st,
        info,
        lambda: table(f"Trip of settlement {to_hex(sid)}", ["field", "value"], [[k, v] for k, v in info.items()]),
    )
