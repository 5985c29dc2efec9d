"""`creditshare index status|rebuild`: this node's chain index (creditshare.domain.index)."""

from __future__ import annotations

from typing import Annotated

import typer

from creditshare.cli.context import emit, state
from creditshare.domain.index import ChainIndex, timed_catch_up

app = typer.Typer(help="This node's chain index: the ledger's events in SQLite, for fast reads.", no_args_is_help=True)

Confirmations = Annotated[
    int | None,
    typer.Option(
        "--confirmations",
        min=0,
        max=10_000,
        help="Follow only blocks this far behind the head (default: CREDITSHARE_INDEX_CONFIRMATIONS, else 0: "
        "right for Anvil; a few blocks on Clique).",
    ),
]


@app.command("status")
def status(
    ctx: typer.Context,
    confirmations: Confirmations = None,
    check: Annotated[bool, typer.Option("--check", help="Also run SQLite's quick_check on the file.")] = False,
) -> None:
    """Where the index is, how far it has read and how big it is (reads nothing new)."""
    st = state(ctx)
    with ChainIndex(st.client, confirmations=confirmations) as index:
        info = index.status(integrity=check)
    lines = [
        f"index {info['path']} (schema {info['schema_version']})",
        f"chain {info['chain_id']}, ledger {info['ledger']} from block {info['from_block']}",
        f"last indexed block {info['last_block'] if info['last_block'] is not None else 'none'} "
        f"of head {info['head']} ({info['behind']} behind at {info['confirmations']} confirmations)",
        "rows: " + ", ".join(f"{k} {v}" for k, v in info["rows"].items()),
        f"size {info['bytes']} bytes",
    ]
    if info["rebuilt"]:
        lines.append(f"rebuilt on opening: {info['rebuilt']}")
    if check:
        lines.append(f"integrity: {info['integrity']}")
    emit(st, info, lines)


@app.command("rebuild")
def rebuild(ctx: typer.Context, confirmations: Confirmations = None) -> None:
    """Drop the index and read the chain again from the deployment block."""
    st = state(ctx)
    with ChainIndex(st.client, confirmations=confirmations) as index:
        index.rebuild("asked to (creditshare index rebuild)")
        events, seconds = timed_catch_up(index)
        info = index.status()
    info |= {"events": events, "seconds": round(seconds, 3), "events_per_second": round(events / max(seconds, 1e-9))}
    emit(
        st,
        info,
        f"rebuilt {info['path']}: {events} events to block {info['last_block']} in {seconds:.1f} s "
        f"({info['events_per_second']} events/s)",
    )
