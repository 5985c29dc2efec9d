"""`creditshare chain start|stop|status`: the persistent local chain."""

from __future__ import annotations

import datetime as dt

import typer

from creditshare.cli.context import console, emit, state
from creditshare.core import localchain
from creditshare.core.errors import InvalidInput

app = typer.Typer(
    help="Start, stop and inspect the persistent local chain (Anvil on 127.0.0.1:8545).", no_args_is_help=True
)


def _show(ctx: typer.Context, s: localchain.ChainStatus, message: str) -> None:
    def text() -> None:
        console.print(message)
        if s.running:
            console.print(f"  rpc {s.rpc_url}  chain id {s.chain_id}  block {s.block}  pid {s.pid or '?'}")
        console.print(f"  state file {s.state_file} ({s.state_bytes} bytes)")

    emit(
        state(ctx),
        {
            "running": s.running,
            "pid": s.pid,
            "rpc_url": s.rpc_url,
            "chain_id": s.chain_id,
            "block": s.block,
            "state_file": str(s.state_file),
            "state_bytes": s.state_bytes,
        },
        text,
    )


@app.command()
def start(
    ctx: typer.Context,
    genesis: str | None = typer.Option(
        None,
        "--genesis",
        help="YYYY-MM-DD (UTC): date the first block of a NEW chain (no saved state yet) in the past, so that a "
        "replay of past events (the demo's year) runs in chain time. Ignored when the chain has saved state.",
    ),
) -> None:
    """Start the local chain, loading its saved state (idempotent)."""
    st = state(ctx)
    genesis_ts = None
    if genesis is not None:
        try:
            day = dt.date.fromisoformat(genesis)
        except ValueError as err:
            raise InvalidInput(f"--genesis must be a date YYYY-MM-DD; got {genesis!r}.") from err
        genesis_ts = int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())
    before = localchain.status(st.settings)
    after = localchain.start(st.settings, genesis_timestamp=genesis_ts)
    _show(ctx, after, "local chain already running" if before.running else "local chain started")


@app.command()
def stop(ctx: typer.Context) -> None:
    """Stop the local chain; it saves its state first (idempotent)."""
    st = state(ctx)
    stopped = localchain.stop(st.settings)
    _show(
        ctx,
        localchain.status(st.settings),
        "local chain stopped, state saved" if stopped else "local chain was not running",
    )


@app.command()
def status(ctx: typer.Context) -> None:
    """Show whether the local chain runs, its block height and its state file."""
    st = state(ctx)
    s = localchain.status(st.settings)
    _show(ctx, s, "local chain running" if s.running else "local chain not running (`creditshare chain start`)")
    if not s.running:
        raise typer.Exit(3)
