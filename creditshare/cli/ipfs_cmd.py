"""`creditshare ipfs init|up|down|status`: a loopback network of Kubo nodes, one per member, for the evidence."""

from __future__ import annotations

import typer

from creditshare.cli.context import emit, state, table
from creditshare.core import ipfs
from creditshare.core.errors import InvalidInput

app = typer.Typer(
    help="Create, start, stop and inspect the consortium's IPFS (Kubo) nodes on 127.0.0.1, one per member.",
    no_args_is_help=True,
)

NodeOpt = typer.Option(None, "--node", help="Only this node (its index, 0 first); default every node.")


def _pick(nodes: list[ipfs.NodeInfo], node: int | None) -> list[ipfs.NodeInfo]:
    if node is None:
        return nodes
    if not 0 <= node < len(nodes):
        raise InvalidInput(f"--node must be between 0 and {len(nodes) - 1}; got {node}.")
    return [nodes[node]]


@app.command()
def init(
    ctx: typer.Context,
    nodes: int = typer.Option(3, "--nodes", help="How many member nodes (one Kubo repo each)."),
) -> None:
    """Create the nodes' repos under <data>/ipfs: loopback only, private swarm key, all peered (idempotent)."""
    st = state(ctx)
    infos = ipfs.init_network(st.settings.data_dir, nodes)
    emit(
        st,
        {"nodes": [{"index": n.index, "peer_id": n.peer_id, "api": n.api, "repo": n.repo} for n in infos]},
        [f"IPFS network of {len(infos)} nodes in {ipfs.network_dir(st.settings.data_dir)}"]
        + [f"  node {n.index}: {n.peer_id}  api {n.api}  swarm {n.swarm_addr}" for n in infos],
    )


@app.command()
def up(ctx: typer.Context, node: int | None = NodeOpt) -> None:
    """Start the nodes (those already running are left alone) and wait until they are connected."""
    st = state(ctx)
    nodes = ipfs.load_network(st.settings.data_dir)
    picked = _pick(nodes, node)
    pids = {n.index: ipfs.start_node(n) for n in picked}
    ipfs.wait_connected(nodes)
    emit(st, {"started": pids}, [f"node {i} up (pid {pid})" for i, pid in pids.items()])


@app.command()
def down(ctx: typer.Context, node: int | None = NodeOpt) -> None:
    """Stop the nodes (SIGTERM; their blocks and pins stay in their repos)."""
    st = state(ctx)
    picked = _pick(ipfs.load_network(st.settings.data_dir), node)
    stopped = {n.index: ipfs.stop_node(n) for n in picked}
    emit(st, {"stopped": stopped}, [f"node {i} {'stopped' if s else 'was not running'}" for i, s in stopped.items()])


@app.command()
def status(ctx: typer.Context) -> None:
    """Each node: running, peer id, API, connected peers, repo size."""
    st = state(ctx)
    rows = [ipfs.node_status(n) for n in ipfs.load_network(st.settings.data_dir)]
    emit(
        st,
        {
            "nodes": [
                {
                    "index": s.node.index,
                    "running": s.running,
                    "pid": s.pid,
                    "peer_id": s.node.peer_id,
                    "api": s.node.api,
                    "peers": s.peers,
                    "repo_bytes": s.repo_bytes,
                }
                for s in rows
            ]
        },
        lambda: table(
            "IPFS nodes",
            ["node", "state", "peer id", "api", "peers", "repo bytes"],
            [
                [
                    s.node.index,
                    "up" if s.running else "down",
                    s.node.peer_id,
                    s.node.api,
                    "-" if s.peers is None else s.peers,
                    "-" if s.repo_bytes is None else s.repo_bytes,
                ]
                for s in rows
            ],
        ),
    )
