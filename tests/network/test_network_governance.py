"""The Clique signer set follows the Consortium's validator registry (`creditshare network sync`), on the
session's 4-signer network after the drills: the four node signers registered as validators match the signers;
a suspended validator shows as drift, is voted out by sync and stops sealing; reinstated, it is voted back in
and seals again."""

from __future__ import annotations

import time

from creditshare.core import network


def _signers(netcli) -> set[str]:
    return {s.lower() for s in network.rpc(netcli.net.nodes[0].rpc_url, "clique_getSigners")}


def _sealers(netcli, first: int, last: int) -> set[str]:
    """Who sealed blocks first..last (clique_getSigner recovers it from each block's seal)."""
    url = netcli.net.nodes[0].rpc_url
    return {network.rpc(url, "clique_getSigner", [hex(n)]).lower() for n in range(first, last + 1)}


def _wait_signers(netcli, expected: set[str], wait_s: float = 60.0) -> None:
    deadline = time.monotonic() + wait_s
    while _signers(netcli) != expected:
        assert time.monotonic() < deadline, f"signers are {_signers(netcli)}, expected {expected}"
        time.sleep(0.5)


def test_signers_follow_the_validator_registry(netcli):
    nodes = netcli.net.nodes
    netcli("keys", "new", "val3")
    admit = ("members", "propose", "admit", "--member", "val3", "--org", "uscc:NETVAL3", "--role", "CARRIER")
    netcli(*admit, account="c1")
    before = netcli.json("network", "status")
    assert len(before["drift"]) == 4 and all("seals but is not an active validator" in d for d in before["drift"])
    refused = netcli("network", "sync", ok=False)
    assert refused.exit_code == 1 and "the registry lists no active validator" in refused.stderr
    for member, node in zip(("c1", "plat", "ship", "val3"), nodes, strict=True):
        netcli("members", "propose", "admit-validator", "--member", member, "--signer", node.signer, account="c1")
    status = netcli.json("network", "status")
    assert status["drift"] == [] and all(status["registry"].values()) and len(status["registry"]) == 4
    assert netcli.json("network", "sync")["votes"] == []

    # suspended: drift, then voted out, and it seals no more
    netcli("members", "propose", "suspend-validator", "--member", "val3", account="c1")
    status = netcli.json("network", "status")
    assert status["drift"] == [f"{nodes[3].signer} seals but is not an active validator"]
    dry = netcli.json("network", "sync", "--dry-run")
    assert dry["votes"] == [{"signer": nodes[3].signer, "authorize": False}] and dry["cast"] == 0
    assert netcli.json("network", "sync")["cast"] == 4
    _wait_signers(netcli, {n.signer.lower() for n in nodes[:3]})
    start = netcli.head(0) + 1
    netcli.wait_head(0, start + 8)
    assert nodes[3].signer.lower() not in _sealers(netcli, start, start + 8)
    assert netcli.json("network", "status")["drift"] == []

    # reinstated: voted back in, seals again
    netcli("members", "propose", "reinstate-validator", "--member", "val3", account="c1")
    assert netcli.json("network", "sync")["votes"] == [{"signer": nodes[3].signer, "authorize": True}]
    _wait_signers(netcli, {n.signer.lower() for n in nodes})
    start = netcli.head(0) + 1
    netcli.wait_head(0, start + 8)
    assert nodes[3].signer.lower() in _sealers(netcli, start, start + 8)
