"""`creditshare network ...`: a loopback consortium network of go-ethereum Clique signers, and its drills.

`init` writes the nodes (keys, genesis, peers) under <data>/geth-network; `up`/`down` start and stop them;
`status` shows each node's head, peers, signers, last block age and sync state, and flags any drift between
the Clique signer set and the Consortium registry's validators and any connection to a peer that is not an
active validator; `sync` votes (clique_propose) on every running node so that the signer set follows the
registry, and makes each node's static/trusted peers the active validators' nodes (live, over IPC; geth
refuses every other peer); `node add` writes a joining member's node; `node stop|start|kill N` are the fault
drills. Other commands reach this network with `--network consortium` (node CREDITSHARE_NODE, 0 by default).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from creditshare.bindings.consortium import Consortium
from creditshare.cli.context import State, emit, state, table
from creditshare.core import network
from creditshare.core.chain import ChainClient
from creditshare.core.config import Network, Settings, load_settings, stall_seconds
from creditshare.core.errors import ConfigError, InvalidInput

app = typer.Typer(
    help="Create, start, stop, inspect and govern the consortium's geth Clique network on 127.0.0.1.",
    no_args_is_help=True,
)
node_app = typer.Typer(help="Fault drills on one node: stop (SIGTERM), start, kill (SIGKILL).", no_args_is_help=True)
app.add_typer(node_app, name="node")

NodeOpt = typer.Option(None, "--node", help="Only this node (its index, 0 first); default every node.")


def _data_dir(st: State) -> Path:
    """The data folder, whichever network is chosen: the consortium profile itself needs a network that
    `network init` has not written yet."""
    try:
        return st.settings.data_dir
    except ConfigError:
        return load_settings("local", st.data_dir).data_dir


def _net(st: State) -> network.NetworkInfo:
    return network.load_network(_data_dir(st))


def _pick(net: network.NetworkInfo, node: int | None) -> list[network.NodeInfo]:
    return list(net.nodes) if node is None else [net.node(node)]


@app.command()
def init(
    ctx: typer.Context,
    validators: int = typer.Option(4, "--validators", help="How many nodes, each a Clique signer."),
    chain_id: int = typer.Option(network.DEFAULT_CHAIN_ID, "--chain-id", help="The chain id of the new network."),
    period: int = typer.Option(network.DEFAULT_PERIOD, "--period", help="Seconds between blocks (Clique period)."),
    gas_limit: int = typer.Option(network.DEFAULT_GAS_LIMIT, "--gas-limit", help="Block gas limit."),
    force: bool = typer.Option(False, "--force", help="Replace an existing network (its chain is deleted)."),
) -> None:
    """Write a new network: genesis, node keys, signer keystores and password files (0600), static and trusted
    peers, distinct loopback ports."""
    st = state(ctx)
    net = network.init_network(
        _data_dir(st), validators, chain_id=chain_id, period=period, gas_limit=gas_limit, force=force
    )
    emit(
        st,
        {
            "chain_id": net.chain_id,
            "period": net.period,
            "gas_limit": net.gas_limit,
            "nodes": [{"index": n.index, "signer": n.signer, "rpc": n.rpc_url, "enode": n.enode} for n in net.nodes],
        },
        [f"geth network of {len(net.nodes)} signers in {net.root} (chain id {net.chain_id}, period {net.period} s)"]
        + [f"  node {n.index}: signer {n.signer}  rpc {n.rpc_url}  p2p {n.p2p_port}" for n in net.nodes],
    )


@app.command()
def up(ctx: typer.Context, node: int | None = NodeOpt) -> None:
    """Start the nodes (running ones are left alone), wait until they are peered, then let them seal. While a
    node runs, the peers first follow the registry's active validators (as `sync` sets them); a node no peer
    accepts (its signer is no active validator) starts but neither syncs nor seals."""
    st = state(ctx)
    net = _net(st)
    client = _client(net, st)
    if client is not None and network.keys_are_signers(net):
        _follow_peers(net, client)
    pids = network.up(net, _pick(net, node))
    out = network.shut_out(net)
    text = [
        f"node {i} up (pid {pid})" + (": no peer accepts it (its signer is no active validator)" if i in out else "")
        for i, pid in pids.items()
    ]
    emit(st, {"started": pids, "shut_out": out}, text)


@app.command()
def down(ctx: typer.Context, node: int | None = NodeOpt) -> None:
    """Stop the nodes (SIGTERM: geth writes its chain to disk)."""
    st = state(ctx)
    stopped = {n.index: network.stop_node(n) for n in _pick(_net(st), node)}
    emit(st, {"stopped": stopped}, [f"node {i} {'stopped' if s else 'was not running'}" for i, s in stopped.items()])


def _client(net: network.NetworkInfo, st: State) -> ChainClient | None:
    """A chain client on the first running node that peers with the network, or None if no node runs."""
    out = set(network.shut_out(net))
    for node in net.nodes:
        if network.node_pid(node) is not None and node.index not in out:
            chain = Network("consortium", node.rpc_url, net.chain_id, True, 0, stall_seconds())
            return ChainClient(Settings(data_dir=_data_dir(st), network=chain))
    return None


def _registry(client: ChainClient) -> dict[str, bool] | None:
    """Signer -> may seal, from the Consortium's validator registry (None if the contracts are not deployed)."""
    if not client.deployment.addresses.get("Consortium"):
        return None
    return {v.signer: v.active for v in Consortium(client).validator_signers()}


def _signers(client: ChainClient) -> list[str]:
    return list(client.rpc("clique_getSigners", [], "signers").get("result") or [])


def _follow_peers(net: network.NetworkInfo, client: ChainClient) -> list[network.PeerChange]:
    """Every node's static and trusted peers become the nodes of the active validators (the Clique signers
    before the registry has any), written to config.toml and applied live on the running nodes."""
    if not network.keys_are_signers(net):
        raise ConfigError(
            "this network's node keys are not its signer keys (written before peers followed the registry), so "
            "its peers cannot be checked against the registry: `network down` and `network init --force`."
        )
    try:
        registry = _registry(client)
    except ConfigError:
        registry = None
    allowed = network.admitted(net, network.active_signers(registry, _signers(client)))
    if not allowed:
        raise InvalidInput("no node of this network is an active validator: no peer set to follow.")
    return [network.apply_peers(net, n, allowed) for n in net.nodes]


@app.command()
def status(ctx: typer.Context) -> None:
    """Each node: state, head, head hash, last block age, peers, signers, syncing; then the drift between the
    signer set and the registry's validators (when the contracts are deployed on this network)."""
    st = state(ctx)
    net = _net(st)
    rows = [network.node_status(n) for n in net.nodes]
    signers = next((r.signers for r in rows if r.signers is not None), None)
    registry: dict[str, bool] | None = None
    client = _client(net, st)
    if client is not None:
        try:
            registry = _registry(client)
        except ConfigError:
            registry = None
    drift = network.drift(registry, signers) if registry is not None and signers is not None else []
    strangers = network.unregistered_peers(net, network.active_signers(registry, signers)) if client else []
    ages = [r.block_age_s for r in rows if r.block_age_s is not None]
    stalled = bool(ages) and min(ages) > stall_seconds()
    result: dict[str, Any] = {
        "chain_id": net.chain_id,
        "period": net.period,
        "nodes": [r.to_json() for r in rows],
        "stalled": stalled,
        "registry": registry,
        "drift": drift,
        "unregistered_peers": strangers,
    }

    def show() -> None:
        table(
            f"geth network (chain id {net.chain_id}, period {net.period} s)",
            ["node", "state", "head", "hash", "block age", "peers", "signers", "syncing"],
            [
                [
                    r.index,
                    "up" if r.running else "down",
                    "-" if r.head is None else r.head,
                    "-" if r.head_hash is None else r.head_hash[:12],
                    "-" if r.block_age_s is None else f"{r.block_age_s:.0f} s",
                    "-" if r.peers is None else r.peers,
                    "-" if r.signers is None else len(r.signers),
                    "-" if r.syncing is None else ("yes" if r.syncing else "no"),
                ]
                for r in rows
            ],
        )
        if stalled:
            typer.echo(f"STALLED: the last block is {min(ages):.0f} s old; too few signers are up.")
        if client is None:
            typer.echo("no node runs: `creditshare network up` starts them.")
        elif registry is None:
            typer.echo("registry: the contracts are not deployed on this network (no drift check).")
        for line in drift:
            typer.echo(f"DRIFT: {line}")
        if registry is not None and not drift:
            typer.echo("signers match the registry's active validators.")
        for line in strangers:
            typer.echo(f"UNREGISTERED PEER: {line}")

    emit(st, result, show)


@app.command()
def sync(
    ctx: typer.Context, dry_run: bool = typer.Option(False, "--dry-run", help="Show the votes, cast none.")
) -> None:
    """Vote (clique_propose) on every running node so that the Clique signers follow the registry: an active
    validator's signer in, a suspended or unregistered signer out. Votes take effect once a majority of the
    current signers has sealed a block carrying them. Then every node's static and trusted peers become the
    active validators' nodes (config.toml, and live over IPC): a suspended validator's node is dropped at
    once, an admitted one is dialled."""
    st = state(ctx)
    net = _net(st)
    client = _client(net, st)
    if client is None:
        raise InvalidInput("no node of the network runs: `creditshare network up` first.")
    registry = _registry(client)
    if registry is None:
        raise ConfigError("the contracts are not deployed on this network: `creditshare --network consortium deploy`.")
    current = _signers(client)
    votes = network.plan_votes(registry, current)
    out = set(network.shut_out(net))
    running = [n for n in net.nodes if network.node_pid(n) is not None and n.index not in out]
    allowed = network.admitted(net, network.active_signers(registry, current))
    cast = 0
    changes: list[network.PeerChange] = []
    if not dry_run:
        for node in running:
            cast += network.cast_votes(node, votes)
        changes = _follow_peers(net, client)
    result = {
        "votes": [{"signer": v.signer, "authorize": v.authorize} for v in votes],
        "nodes": [n.index for n in running],
        "cast": cast,
        "dry_run": dry_run,
        "peers": {str(n.index): sorted(p.index for p in allowed if p.index != n.index) for n in net.nodes},
        "added": {str(c.index): list(c.added) for c in changes if c.added},
        "dropped": {str(c.index): list(c.dropped) for c in changes if c.dropped},
    }
    what = "would cast" if dry_run else "cast"
    text = (
        ["signers match the registry: no vote needed."]
        if not votes
        else [f"{what} on node(s) {[n.index for n in running]}:"]
        + [f"  {'add' if v.authorize else 'remove'} {v.signer}" for v in votes]
    )
    text.append(f"peers: the nodes of the active validators, {sorted(n.index for n in allowed)}")
    text += [f"  node {c.index} trusts and dials node(s) {list(c.added)}" for c in changes if c.added]
    text += [f"  node {c.index} dropped {', '.join(c.dropped)}" for c in changes if c.dropped]
    emit(st, result, text)


@app.command()
def logs(
    ctx: typer.Context,
    node: int = typer.Option(0, "--node", help="The node whose log to show."),
    lines: int = typer.Option(40, "--lines", min=1, max=100_000, help="How many lines from the end."),
) -> None:
    """The end of a node's geth log."""
    st = state(ctx)
    info = _net(st).node(node)
    try:
        text = info.log_file.read_text(errors="replace").splitlines()[-lines:]
    except FileNotFoundError:
        text = []
    emit(st, {"node": node, "log": str(info.log_file), "lines": text}, text or [f"node {node} has no log yet."])


def _drill(ctx: typer.Context, index: int, action: Callable[[network.NetworkInfo, network.NodeInfo], Any]) -> None:
    st = state(ctx)
    net = _net(st)
    node = net.node(index)
    outcome = action(net, node)
    emit(st, {"node": index, "outcome": outcome}, f"node {index}: {outcome}")


@node_app.command("add")
def node_add(ctx: typer.Context) -> None:
    """Write a new node (a joining member's): keys (its p2p key is its signer key), the network's genesis, and
    the network's nodes as peers. No node accepts it until the Consortium admits its signer as a validator
    (`members propose admit-validator --signer ...`) and `network sync` runs; then `network up --node N`."""
    st = state(ctx)
    node = network.add_node(_data_dir(st))
    emit(
        st,
        {"index": node.index, "signer": node.signer, "enode": node.enode, "rpc": node.rpc_url},
        [
            f"node {node.index}: signer {node.signer}  rpc {node.rpc_url}  p2p {node.p2p_port}",
            "  admit its signer as a validator, then `creditshare network sync`; until then no node accepts it.",
        ],
    )


@node_app.command("stop")
def node_stop(ctx: typer.Context, index: int = typer.Argument(..., help="The node's index.")) -> None:
    """Stop one node cleanly (SIGTERM)."""
    _drill(ctx, index, lambda net, n: "stopped" if network.stop_node(n) else "was not running")


@node_app.command("kill")
def node_kill(ctx: typer.Context, index: int = typer.Argument(..., help="The node's index.")) -> None:
    """Kill one node (SIGKILL, a crash): what it had not written to disk is lost and resynced from its peers."""
    _drill(ctx, index, lambda net, n: "killed" if network.stop_node(n, kill=True) else "was not running")


@node_app.command("start")
def node_start(ctx: typer.Context, index: int = typer.Argument(..., help="The node's index.")) -> None:
    """Start one node again: it reconnects, catches up with its peers, then seals."""
    _drill(ctx, index, lambda net, n: f"up (pid {network.up(net, [n])[n.index]})")
