"""`creditshare mpc party` and `creditshare psi serve|query`: privacy computing between data holders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from creditshare.cli.context import console, emit, state
from creditshare.cli.options import ParticipantAccount

app = typer.Typer(help="Multi-party computation between data holders (MPyC parties over TCP).", no_args_is_help=True)
psi_app = typer.Typer(
    help="Private set intersection of subject ids between two holders (ECDH, openmined-psi).", no_args_is_help=True
)


@app.command()
def party(
    ctx: typer.Context,
    config: Path = typer.Option(..., "--config", help="The job config every party holds a copy of (JSON or TOML)."),
    party_id: int = typer.Option(..., "--id", min=0, help="This holder's party number in the config."),
    inputs: Path = typer.Option(..., "--inputs", help="This holder's own inputs (CSV or JSON)."),
    output: Path | None = typer.Option(None, "--output", help="Where to write the revealed aggregates (JSON)."),
    record: Path | None = typer.Option(None, "--record", help="Where to write the job record (commitments)."),
) -> None:
    """Run this holder's party of an MPC job; only the agreed aggregates are revealed."""
    from privacy import run_party  # imported late: MPyC reads sys.argv on import

    result = run_party(config, party_id, inputs, output, record_path=record)
    emit(
        state(ctx),
        {"output": str(result.output_path) if result.output_path else None, "record": result.record},
        f"party {party_id}: job done; outputs in {result.output_path}",
    )


@app.command("record")
def record_job(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The job record (from --record) or a party's output file."),
    account: ParticipantAccount = None,
) -> None:
    """Record a finished job on chain (MpcJobLog), or attest it if another participant recorded it.

    Only commitments and hashes go on chain: this participant's own input
    commitment, the purpose hash, the config hash and the hash of the revealed
    output. The job's id is derived from its name and the digest of its terms
    (purpose, config, participants, output), so nobody can take another job's
    id. Before attesting, the whole on-chain record (every commitment written
    so far included) is compared with this participant's own copy; if they
    differ nothing is sent. Each participant writes only its own commitment,
    and a job's output counts only once every participant has attested it."""
    from creditshare.bindings.mpc_job_log import JobRecord, MpcJobLog

    st = state(ctx)
    record = JobRecord.from_file(file)
    log = MpcJobLog(st.client)
    done = log.record_or_attest(record, st.account(account))
    status = log.status(record.job_id)
    attested = len(status["attested_by"]) if status else 0
    emit(
        st,
        {"done": done, "job_id": "0x" + record.job_id.hex(), "job": status},
        f"job 0x{record.job_id.hex()}: {done}; {attested} of {len(record.participants)} participants attested"
        + ("" if status and status["fully_attested"] else " (its output counts once all have)"),
    )


@app.command("show")
def show_job(ctx: typer.Context, job_id: str = typer.Argument(..., help="Job id (0x… bytes32).")) -> None:
    """Show a recorded MPC job: purpose, participants, commitments, attestations."""
    from creditshare.bindings.mpc_job_log import MpcJobLog
    from creditshare.core.errors import InvalidInput
    from creditshare.core.ids import parse_bytes32

    st = state(ctx)
    status = MpcJobLog(st.client).status(parse_bytes32(job_id, "job id"))
    if status is None:
        raise InvalidInput(f"job {job_id} is not recorded.")

    def text() -> None:
        for key, value in status.items():
            console.print(f"{key}: {value}", highlight=False)

    emit(st, status, text)


def _ids(path: Path) -> list[str]:
    from privacy.psi import read_ids

    return read_ids(str(path))


def _identity(ctx: typer.Context, account: str | None) -> Any:
    """This holder's member key, and an on-chain check that a peer is an active consortium member."""
    from eth_utils import to_checksum_address

    from privacy.psi import PsiIdentity

    st = state(ctx)
    client = st.client
    consortium = client.contract("Consortium")

    def is_member(address: str) -> bool:
        return bool(client.call(consortium, "isActive", to_checksum_address(address))[0])

    return PsiIdentity(st.account(account), is_member)


def _log_run(ctx: typer.Context, identity: Any, run: Any, out_dir: Path | None) -> dict[str, Any]:
    """Log a finished PSI run on chain like an MPC job (MpcJobLog: recorded, or attested if the peer was first)."""
    from creditshare.bindings.mpc_job_log import JobRecord, MpcJobLog
    from privacy.psi import write_run

    record = JobRecord.from_dict(run.record, "the PSI run")
    path = None
    if out_dir is not None:
        path = out_dir / f"{run.output['job_id']}.json"
        write_run(path, run)
    done = MpcJobLog(state(ctx).client).record_or_attest(record, identity.account)
    return {
        "peer": run.peer,
        "shared": sorted(run.shared),
        "job_id": "0x" + record.job_id.hex(),
        "log": done,
        "file": str(path) if path else None,
    }


@psi_app.command()
def serve(
    ctx: typer.Context,
    ids: Path = typer.Option(..., "--ids", help="File of subject ids, one per line."),
    port: int = typer.Option(..., "--port", min=1, max=65535),
    host: str = typer.Option("127.0.0.1", "--host"),
    timeout: float = typer.Option(120.0, "--timeout", help="Seconds to wait for a holder, and for each run."),
    account: ParticipantAccount = None,
    runs: int = typer.Option(1, "--runs", min=1, help="Serve this many runs, then stop."),
    max_query: int = typer.Option(20_000, "--max-query", min=1, help="Refuse a query of more ids than this."),
    max_queries: int = typer.Option(3, "--max-queries", min=1, help="Runs per member per --window."),
    window: float = typer.Option(86_400.0, "--window", min=1, help="Seconds of the per-member rate window."),
    out_dir: Path | None = typer.Option(None, "--out-dir", help="Write each run's job record (JSON) here."),
) -> None:
    """Answer PSI queries of authenticated consortium members, within limits; log each run on chain."""
    from privacy.psi import PsiLimits, check_timeout, psi_serve

    check_timeout(timeout)  # before the key is unlocked or a socket opened
    identity = _identity(ctx, account)
    logged: list[dict[str, Any]] = []
    limits = PsiLimits(max_query=max_query, max_queries=max_queries, window_s=window)
    psi_serve(
        _ids(ids),
        port,
        identity=identity,
        host=host,
        timeout=timeout,
        limits=limits,
        runs=runs,
        on_run=lambda run: logged.append(_log_run(ctx, identity, run, out_dir)),
    )

    def text() -> None:
        for item in logged:
            console.print(
                f"{item['peer']}: {len(item['shared'])} shared subject(s); job {item['job_id']} {item['log']}"
            )

    emit(state(ctx), logged, text)


@psi_app.command()
def query(
    ctx: typer.Context,
    ids: Path = typer.Option(..., "--ids", help="File of subject ids, one per line."),
    port: int = typer.Option(..., "--port", min=1, max=65535),
    host: str = typer.Option("127.0.0.1", "--host"),
    timeout: float = typer.Option(120.0, "--timeout"),
    account: ParticipantAccount = None,
    out_dir: Path | None = typer.Option(None, "--out-dir", help="Write the run's job record (JSON) here."),
) -> None:
    """Connect to the serving holder, learn the shared ids, and log the run on chain."""
    from privacy.psi import check_timeout, psi_query

    check_timeout(timeout)
    identity = _identity(ctx, account)
    run = psi_query(_ids(ids), host, port, identity=identity, timeout=timeout)
    item = _log_run(ctx, identity, run, out_dir)

    def text() -> None:
        console.print(f"{len(item['shared'])} shared subject(s); job {item['job_id']} {item['log']}")
        for subject in item["shared"]:
            console.print(subject, highlight=False)

    emit(state(ctx), item, text)
