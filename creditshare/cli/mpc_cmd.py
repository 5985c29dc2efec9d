"""`creditshare mpc party` and `creditshare psi serve|query`: privacy computing between data holders."""

from __future__ import annotations

from pathlib import Path

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

    Only commitments and hashes go on chain: input commitments, the purpose
    hash, the config hash and the hash of the revealed output. The job's id is
    derived from its name and the digest of the whole record, so nobody can
    take another job's id; attesting endorses that whole digest (this
    participant's own copy of the record), not only the output."""
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
        f"job 0x{record.job_id.hex()}: {done}; {attested} of {len(record.participants)} participants attested",
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


@psi_app.command()
def serve(
    ctx: typer.Context,
    ids: Path = typer.Option(..., "--ids", help="File of subject ids, one per line."),
    port: int = typer.Option(..., "--port", min=1, max=65535),
    host: str = typer.Option("127.0.0.1", "--host"),
    timeout: float = typer.Option(120.0, "--timeout", help="Seconds to wait for the other holder."),
) -> None:
    """Wait for the other holder and learn the shared ids."""
    from privacy import psi_serve

    shared = psi_serve(_ids(ids), port, host=host, timeout=timeout)
    _print_shared(ctx, shared)


@psi_app.command()
def query(
    ctx: typer.Context,
    ids: Path = typer.Option(..., "--ids", help="File of subject ids, one per line."),
    port: int = typer.Option(..., "--port", min=1, max=65535),
    host: str = typer.Option("127.0.0.1", "--host"),
    timeout: float = typer.Option(120.0, "--timeout"),
) -> None:
    """Connect to the serving holder and learn the shared ids."""
    from privacy import psi_query

    shared = psi_query(_ids(ids), host, port, timeout=timeout)
    _print_shared(ctx, shared)


def _print_shared(ctx: typer.Context, shared: set[str]) -> None:

    def text() -> None:
        console.print(f"{len(shared)} shared subject(s)")
        for subject in sorted(shared):
            console.print(subject, highlight=False)

    emit(state(ctx), sorted(shared), text)
