"""Fault drills on the session's 4-signer geth network (tests/network/conftest.py), in file order: the network
as `init` wrote it, one signer SIGKILLed (blocks go on, settlements land through another node, the node comes
back on the same chain), two signers down (the chain stalls and commands say so; a transaction sent meanwhile
lands exactly once after one signer returns), and the signer set following the validator registry."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

from creditshare.core import network
from creditshare.core.ids import settlement_id, subject_id, to_hex
from tests.cli.helpers import row, write_csv

PLATFORM, SHIPPER = "uscc:NETPLAT", "uscc:NETSHIP"


def _rows(refs: list[str]) -> list[str]:
    return [row(r, shipper=SHIPPER, platform=PLATFORM) for r in refs]


def _sid(ref: str) -> str:
    return to_hex(settlement_id(subject_id(PLATFORM), ref))


def test_init_writes_a_clique_genesis_private_keys_and_loopback_peers(netcli):
    net = netcli.net
    root = Path(net.root)
    spec = json.loads((root / "genesis.json").read_text())
    assert spec["config"]["chainId"] == net.chain_id == network.DEFAULT_CHAIN_ID
    assert spec["config"]["clique"] == {"period": 1, "epoch": network.DEFAULT_EPOCH}
    assert "londonBlock" not in spec["config"]  # Berlin rules: the gas price stays 0 (see core/network.py)
    assert int(spec["gasLimit"], 16) == network.DEFAULT_GAS_LIMIT
    signers = {n.signer.lower()[2:] for n in net.nodes}
    assert all(s in spec["extradata"] for s in signers) and len(spec["extradata"]) == 2 + 2 * (32 + 20 * 4 + 65)
    for node in net.nodes:
        folder = Path(node.datadir)
        secrets = [folder / "password", folder / "geth" / "nodekey", *(folder / "keystore").iterdir()]
        assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in secrets)
        config = (folder / "config.toml").read_text()
        others = [o.enode for o in net.nodes if o.index != node.index]
        assert all(config.count(e) == 2 for e in others) and node.enode not in config  # static and trusted
        assert all("@127.0.0.1:" in e for e in others)
        pid = network.node_pid(node)
        assert pid is not None
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        password = (folder / "password").read_bytes()
        assert password not in b" ".join(argv)  # the password is a file, never an argument
        assert b"--nodiscover" in argv and b"127.0.0.0/8" in argv and b"--pprof" not in argv
    ports = [p for n in net.nodes for p in (n.p2p_port, n.http_port, n.authrpc_port)]
    assert len(set(ports)) == len(ports)


def test_status_shows_four_peered_signers_on_one_advancing_chain(netcli):
    status = netcli.json("network", "status")
    assert [n["running"] for n in status["nodes"]] == [True] * 4
    assert all(n["peers"] == 3 for n in status["nodes"])
    assert all(len(n["signers"]) == 4 for n in status["nodes"])
    assert all(n["block_age_s"] < 4 for n in status["nodes"]) and status["stalled"] is False
    assert netcli.converged([0, 1, 2, 3]) >= 1
    logs = netcli.json("network", "logs", "--node", "1", "--lines", "5")
    assert len(logs["lines"]) == 5 and logs["log"].endswith("node-1/geth.log")


def test_init_refuses_an_existing_network_and_bad_sizes(netcli):
    result = netcli("network", "init", ok=False)
    assert result.exit_code == 1 and "a geth network exists" in result.stderr
    result = netcli("network", "init", "--force", ok=False)
    assert result.exit_code == 1 and "still run" in result.stderr
    result = netcli("network", "init", "--validators", "0", "--force", ok=False)
    assert result.exit_code == 1 and "--validators must be between 1 and 16" in result.stderr
    result = netcli("network", "node", "kill", "7", ok=False)
    assert result.exit_code == 1 and "node must be between 0 and 3" in result.stderr


def test_sigkill_one_signer_blocks_go_on_settlements_land_and_it_rejoins_the_same_chain(netcli, tmp_path):
    assert "killed" in netcli("network", "node", "kill", "3").stdout
    before = netcli.head(0)
    netcli.wait_head(0, before + 4)  # 3 of 4 signers keep sealing
    path = write_csv(tmp_path, _rows(["KILL1-A", "KILL1-B"]))
    result = json.loads(netcli("--json", "settlements", "submit", str(path), account="plat", node=1).stdout)
    assert result["submitted"] == 2
    shown = json.loads(netcli("--json", "settlements", "show", _sid("KILL1-A"), node=2).stdout)
    assert shown["status"] == "Invoiced"
    netcli("network", "node", "start", "3")
    number = netcli.converged([0, 1, 2, 3])
    netcli.wait_head(3, number + 3)
    number = netcli.converged([0, 1, 2, 3])
    assert netcli.block_hash(3, number) == netcli.block_hash(0, number)
    shown = json.loads(netcli("--json", "settlements", "show", _sid("KILL1-B"), node=3).stdout)
    assert shown["status"] == "Invoiced"


def test_two_signers_down_stall_every_command_says_so_and_a_pending_tx_lands_once(netcli, tmp_path):
    netcli("network", "node", "kill", "2")
    netcli("network", "node", "kill", "3")
    try:
        deadline = time.monotonic() + 30
        while netcli.json("network", "status")["stalled"] is False:  # 2 of 4 signers: Clique stops after a block or two
            assert time.monotonic() < deadline, "the chain did not stall with 2 of 4 signers down"
            time.sleep(0.5)
        status = netcli("network", "status")
        assert "STALLED" in status.stdout
        for args in (("members", "list"), ("settlements", "show", _sid("KILL1-A"))):
            result = netcli(*args, ok=False)
            assert result.exit_code == 1 and "the chain has stalled: its last block #" in result.stderr
            assert "Traceback" not in result.stderr
        path = write_csv(tmp_path, _rows(["STALL-A", "STALL-B", "STALL-C"]))
        refused = netcli("settlements", "submit", str(path), account="plat", ok=False)
        assert refused.exit_code == 1 and "the chain has stalled" in refused.stderr
        # sent while stalled (a stall limit longer than the outage): the transaction waits in node 0's pool
        env = {
            **os.environ,
            **netcli.env,
            "CREDITSHARE_NODE": "0",
            "CREDITSHARE_STALL_S": "3600",
            "CREDITSHARE_RPC_URL": "",
        }
        sender = subprocess.Popen(
            [str(Path(sys.executable).parent / "creditshare"), "--json", "settlements", "submit", str(path)]
            + ["--account", "plat"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while not network.rpc(netcli.net.nodes[0].rpc_url, "txpool_status")["pending"] != "0x0":
                assert sender.poll() is None, sender.communicate()
                assert time.monotonic() < deadline, "the settlements were not sent to node 0"
                time.sleep(0.2)
            stalled_at = netcli.head(0)
            time.sleep(2)
            assert netcli.head(0) == stalled_at  # still stalled: nothing lands
            netcli("network", "node", "start", "2")
            out, err = sender.communicate(timeout=240)  # a restarted signer on a busy machine
        finally:
            if sender.poll() is None:
                sender.kill()
        assert sender.returncode == 0, err
        assert json.loads(out)["submitted"] == 3
        again = netcli.json("settlements", "submit", str(path), account="plat", node=2)
        assert (again["submitted"], again["already_on_chain"]) == (0, 3)  # landed exactly once
        netcli("network", "node", "start", "3")
        number = netcli.converged([0, 1, 2, 3])
    finally:  # never leave the session's network stalled for the tests after this one
        for node in ("2", "3"):
            netcli("network", "node", "start", node, ok=False)
    assert netcli.head(0) >= number
