"""`creditshare trips ...`: check settlements' IoT trip logs and attest the verdicts on chain (as one of k of n
oracles); read the final verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from creditshare.bindings.settlement_ledger import SettlementLedger, iso_date
from creditshare.bindings.trip_registry import DEFAULT_BATCH, MAX_BATCH, ZERO32, TripRegistry, Verdict, record_claim
from creditshare.cli.context import console, emit, progress, state, table
from creditshare.cli.options import DryRun, EvidenceRoot, OracleAccount
from creditshare.core.chain import CallsRefused
from creditshare.core.ids import cid_from_digest, parse_bytes32, to_hex
from creditshare.domain import trips as tr

app = typer.Typer(
    help="IoT trip evidence: verify the trip logs of settlements, attest the verdicts (k of n oracles), read them.",
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
    batch_size: int = typer.Option(
        DEFAULT_BATCH, "--batch-size", min=1, max=MAX_BATCH, help="Attestations per transaction."
    ),
    dry_run: DryRun = False,
    evidence_root: EvidenceRoot = None,
) -> None:
    """Check each settlement's trip log (endpoints, distance, odometer, speed, delivery vs invoice, a track
    reused) and attest verified / implausible / no log per settlement in TripRegistry (as an ORACLE member,
    with this operator's own account). A verdict is final when k of the n oracles attest the same claim
    (verdict, energy, log digest, track): each operator runs this on the same file.

    The whole file is checked first; nothing is sent if any row is bad. Claims this oracle attested already
    are skipped (checked on chain before sending), so a rerun sends nothing."""
    st = state(ctx)
    rows = tr.parse_csv(file, evidence_root=evidence_root)
    registry = TripRegistry(st.client)
    signer = st.account(account)
    plan = tr.plan_verify(SettlementLedger(st.client), registry, file, rows, signer.address)
    todo = plan.to_attest
    if todo:
        args = (
            [r.row.settlement for r in todo],
            [r.verdict for r in todo],
            [r.energy for r in todo],
            [r.row.log_digest for r in todo],
            [r.fingerprint for r in todo],
        )
        try:
            registry.attest(*args, signer, batch_size=batch_size, check_only=True)
        except CallsRefused as err:
            quorum = tr.quorum_error([f.reason for f in err.failures])
            if quorum is not None:
                raise quorum from err
            raise tr.InvalidTripFile(
                file,
                [tr.RowError(todo[f.item].row.line if f.item is not None else 1, f.reason) for f in err.failures],
            ) from err
        if not dry_run:
            tr.store_logs(st.settings.evidence_dir, file, todo)
            with progress(st.json) as bar:
                task = bar.add_task("attesting trip verdicts", total=len(todo))
                registry.attest(*args, signer, batch_size=batch_size, on_batch=lambda n: bar.advance(task, n))
            tr.mark_final(registry, plan.results)
    k = registry.threshold()
    items: list[dict[str, Any]] = [
        {
            "line": r.row.line,
            "settlement": to_hex(r.row.settlement),
            "verdict": r.check.verdict,
            "reasons": list(r.check.reasons),
            "energy_type": r.check.energy_type or None,
            "path_km": round(r.check.path_km, 1) if r.row.log is not None else None,
            "claim": to_hex(r.claim),
            "already_attested": r.already,
            "status": r.status,
        }
        for r in plan.results
    ]
    counts = {v: sum(1 for i in items if i["verdict"] == v) for v in ("verified", "implausible", "no log")}
    sent = 0 if dry_run else len(todo)
    already = len(plan.results) - len(todo)
    statuses = {s: sum(1 for i in items if i["status"] == s) for s in ("final", "waiting", "final differs")}
    result: dict[str, Any] = {
        "file": str(file),
        "oracle": plan.oracle,
        "threshold": k,
        "trips": len(items),
        **{k_.replace(" ", "_"): n for k_, n in counts.items()},
        "attested": sent,
        "would_attest": len(todo) if dry_run else 0,
        "already_attested": already,
        "final": statuses["final"],
        "waiting": statuses["waiting"],
        "final_differs": statuses["final differs"],
        # the names before k of n, kept for scripts: what this oracle sent / had sent already
        "recorded": sent,
        "would_record": len(todo) if dry_run else 0,
        "already_on_chain": already,
        "dry_run": dry_run,
        "results": items,
    }

    def text() -> None:
        table(
            f"Trips of {file}",
            ["line", "settlement", "verdict", "energy", "km", "status", "why"],
            [
                [
                    i["line"],
                    i["settlement"][:18] + "…",
                    i["verdict"],
                    i["energy_type"] or "",
                    i["path_km"] or "",
                    i["status"],
                    "; ".join(i["reasons"]),
                ]
                for i in items
            ],
        )
        verb = "would attest" if dry_run else "attested"
        differs = f", {statuses['final differs']} final with another claim" if statuses["final differs"] else ""
        console.print(
            f"{counts['verified']} verified, {counts['implausible']} implausible, {counts['no log']} without a log; "
            f"{verb} {len(todo)} claim(s), {already} attested already; {statuses['final']} final, "
            f"{statuses['waiting']} waiting for more oracles (k = {k}){differs}"
            + (" (as on chain now: nothing was sent)" if dry_run else "")
        )

    emit(st, result, text)


@app.command()
def show(ctx: typer.Context, settlement: str = typer.Argument(..., help="Settlement id (0x...).")) -> None:
    """Show the final trip verdict of one settlement (as oracles and lenders read it) and how many active
    oracles attest it; claims attested by fewer than k oracles are pending."""
    st = state(ctx)
    sid = parse_bytes32(settlement, "settlement id")
    registry = TripRegistry(st.client)
    record = registry.verdicts([sid])[0]
    votes = registry.attestations_for(sid)
    final_claim = record_claim(record)
    attested = [c for c in votes.values() if c != ZERO32]
    info = {
        "settlement": to_hex(sid),
        "verdict": record.verdict.label if record.verdict != Verdict.NONE else "not verified",
        "energy_type": record.energy.label or None,
        "recorded": iso_date(record.recorded_at) if record.recorded_at else None,
        "oracle": record.by if record.recorded_at else None,
        "trip_log_cid": cid_from_digest(record.log_digest) if record.verdict > Verdict.NO_LOG else None,
        "track_fingerprint": to_hex(record.fingerprint) if record.verdict > Verdict.NO_LOG else None,
        "attestations": sum(1 for c in attested if c == final_claim) if final_claim != ZERO32 else 0,
        "pending_attestations": sum(1 for c in attested if c != final_claim),
        "active_oracles": len(votes),
        "threshold": registry.threshold(),
    }
    emit(
        st,
        info,
        lambda: table(f"Trip of settlement {to_hex(sid)}", ["field", "value"], [[k, v] for k, v in info.items()]),
    )
