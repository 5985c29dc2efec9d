"""The geth network's peers follow the Consortium's validator registry (issue #15, item 2): a node's p2p key is its
signer key, so its enode names the signer the registry holds; `network sync` makes every node's static and
trusted peers the active validators' nodes (config.toml, and live over IPC), and geth (DialRatio 1) refuses
every peer it does not trust. On the session's network, after the governance test (all four node signers
active validators): a fifth node written by `network node add`, which knows every enode, can neither peer nor
sync; a node of ours told to trust it connects and `network status` flags it, `sync` drops it; once governance
admits its signer and `sync` runs it peers and syncs; suspended, it is dropped again."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from eth_keys import keys

from creditshare.core import network
from creditshare.core.errors import InvalidInput

REFUSED_S = 8.0  # how long the outsider is watched failing to peer (it redials every few seconds)


def _peer_count(node: network.NodeInfo) -> int:
    return int(network.rpc(node.rpc_url, "net_peerCount"), 16)


def _until(check: Callable[[], bool], what: str, wait_s: float = 60.0) -> None:
    deadline = time.monotonic() + wait_s
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {wait_s} s"
        time.sleep(0.3)


def _signers(netcli) -> set[str]:
    return {s.lower() for s in network.rpc(netcli.net.nodes[0].rpc_url, "clique_getSigners")}


def _ensure_four_validators(netcli) -> None:
    """The governance test admits the four node signers as validators; alone, this file does it itself."""
    if len(netcli.json("network", "status")["registry"] or {}) == 4:
        return
    netcli("keys", "new", "val3")
    admit = ("members", "propose", "admit", "--member", "val3", "--org", "uscc:NETVAL3", "--role", "CARRIER")
    netcli(*admit, account="c1")
    for member, node in zip(("c1", "plat", "ship", "val3"), netcli.net.nodes, strict=True):
        netcli("members", "propose", "admit-validator", "--member", member, "--signer", node.signer, account="c1")


def test_an_enode_id_names_the_address_of_its_key():
    """enode_address is the address of the enode's public key; unknown text is refused."""
    public = keys.PrivateKey(b"\x11" * 32).public_key
    assert network.enode_address(public.to_hex()[2:]) == public.to_checksum_address()
    with pytest.raises(InvalidInput, match="not an enode id"):
        network.enode_address("ab" * 10)


def test_an_unregistered_node_cannot_peer_until_admitted_and_is_dropped_when_suspended(netcli):
    _ensure_four_validators(netcli)
    nodes = netcli.net.nodes[:4]
    assert all(network.enode_address(n.node_id) == n.signer for n in nodes)
    for node in nodes:
        config = (Path(node.datadir) / "config.toml").read_text()
        assert "DialRatio = 1" in config

    added = netcli.json("network", "node", "add")
    outsider = netcli.net.node(added["index"])
    assert added["index"] == 4 and added["signer"] == outsider.signer == network.enode_address(outsider.node_id)
    assert network.trusted_of(outsider) == {n.node_id for n in nodes}  # it knows every enode
    try:
        started = netcli.json("network", "up", "--node", "4")
        assert started["shut_out"] == [4]

        # refused: no peer, no block, for as long as we watch
        deadline = time.monotonic() + REFUSED_S
        while time.monotonic() < deadline:
            assert _peer_count(outsider) == 0 and netcli.head(4) == 0
            assert all(_peer_count(n) == 3 for n in nodes)
            time.sleep(0.5)
        assert netcli.json("network", "status")["unregistered_peers"] == []

        # an operator of node 0 trusts it by hand: they connect, status flags it, sync drops it
        network.ipc(nodes[0], "admin_addTrustedPeer", [outsider.enode])
        network.ipc(nodes[0], "admin_addPeer", [outsider.enode])
        _until(lambda: _peer_count(outsider) == 1, "the hand-made connection")
        flagged = netcli("network", "status")
        line = f"node 0 is connected to node 4 ({outsider.signer}), which is not an active validator"
        assert f"UNREGISTERED PEER: {line}" in flagged.stdout
        synced = netcli.json("network", "sync")
        assert synced["votes"] == [] and synced["dropped"] == {"0": [f"node 4 ({outsider.signer})"]}
        assert synced["peers"]["0"] == [1, 2, 3] and synced["peers"]["4"] == [0, 1, 2, 3]
        _until(lambda: _peer_count(outsider) == 0, "the drop")
        assert netcli.json("network", "status")["unregistered_peers"] == []

        # admitted by governance: sync votes its signer in and every node dials it; it syncs the chain
        netcli("keys", "new", "val4")
        admit = ("members", "propose", "admit", "--member", "val4", "--org", "uscc:NETVAL4", "--role", "CARRIER")
        netcli(*admit, account="c1")
        netcli("members", "propose", "admit-validator", "--member", "val4", "--signer", outsider.signer, account="c1")
        synced = netcli.json("network", "sync")
        assert synced["votes"] == [{"signer": outsider.signer, "authorize": True}]
        assert synced["peers"]["0"] == [1, 2, 3, 4] and synced["peers"]["4"] == [0, 1, 2, 3]
        _until(lambda: _peer_count(outsider) == 4, "the admitted node's connections")
        target = netcli.head(0)
        netcli.wait_head(4, target, wait_s=60)
        assert netcli.converged([0, 4], wait_s=60) >= target  # the same chain (a fork at the tip resolves)
        _until(lambda: outsider.signer.lower() in _signers(netcli), "the vote that admits its signer")
        assert netcli.json("network", "status")["unregistered_peers"] == []

        # suspended: voted out and dropped by every node; its redials are refused
        netcli("members", "propose", "suspend-validator", "--member", "val4", account="c1")
        synced = netcli.json("network", "sync")
        assert synced["votes"] == [{"signer": outsider.signer, "authorize": False}]
        assert all(synced["dropped"][str(i)] == [f"node 4 ({outsider.signer})"] for i in range(4))
        _until(lambda: _peer_count(outsider) == 0, "the suspended node's drop")
        _until(lambda: _signers(netcli) == {n.signer.lower() for n in nodes}, "the vote that removes its signer")
        deadline = time.monotonic() + REFUSED_S
        while time.monotonic() < deadline:
            assert _peer_count(outsider) == 0
            time.sleep(0.5)
        assert netcli.json("network", "status")["unregistered_peers"] == []
    finally:
        network.stop_node(outsider)
