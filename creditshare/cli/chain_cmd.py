"""`creditshare chain start|stop|status`: the persistent local chain."""

from __future__ import annotations

import typer

from creditshare.cli.context import console, emit, state
from creditshare.core import localchain

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
def start(ctx: typer.Context) -> None:
    """Start the local chain, loading its saved state (idempotent)."""
    st = state(ctx)
    before = localchain.status(st.settings)
    after = localchain.start(st.settings)
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
