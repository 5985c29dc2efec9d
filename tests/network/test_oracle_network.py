"""The oracle daemon on the 4-signer geth network (issue #15, item 4): 4 `creditshare oracle run` processes
(k = 3), each on its own node, score settlements in rounds tied to windows of `round_blocks` blocks while
Clique seals a block every second, empty ones included. Every round lands once, as one report at a window end,
with no subject twice in a round and nothing rescored by the empty windows after."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from web3.logs import DISCARD

from creditshare.core.chain import ChainClient
from creditshare.core.config import Settings, geth_network_node
from creditshare.core.ids import subject_id, to_hex
from creditshare.core.localchain import free_ports
from tests.cli.helpers import row, write_csv

EXE = Path(sys.executable).parent / "creditshare"
WINDOW = 5  # blocks per round: 5 s at the network's 1 s Clique period
SHIPPERS = ("uscc:NETSHIP", "uscc:NETSHIP2", "uscc:NETSHIP3")


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture(scope="module")
def daemons(netcli, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Shippers, oracles o1..o4 (k = 3), a promoted card, the config and the 4 daemons, daemon i on node i-1."""
    c = netcli
    folder = tmp_path_factory.mktemp("net-oracles")
    for name, org in (("ship2", "uscc:NETSHIP2"), ("ship3", "uscc:NETSHIP3")):
        c("keys", "new", name)
        c("members", "propose", "admit", "--member", name, "--org", org, "--role", "SHIPPER", account="c1")
    addresses = {}
    for i in range(1, 5):
        addresses[i] = c.json("keys", "new", f"no{i}")["address"]
        admit = ("members", "propose", "admit", "--member", f"no{i}", "--org", f"uscc:NETORACLE{i}")
        c(*admit, "--role", "ORACLE", account="c1")
    c("members", "propose", "set-parameter", "--parameter", "oracle.threshold", "--value", "3", account="c1")
    card = folder / "card.json"
    c("model", "train", "--synthetic", "1500", "--seed", "5", "--out", str(card))
    c("model", "register", str(card), account="c1")
    c("model", "promote", str(card), "--skip-drift-check", account="c1")
    ports = free_ports(4)
    config = folder / "oracles.json"
    config.write_text(
        json.dumps(
            {
                "oracles": [
                    {"id": i, "name": f"no{i}", "keystore": f"no{i}", "address": addresses[i], "port": ports[i - 1]}
                    for i in range(1, 5)
                ],
                "round": {"poll_seconds": 0.25, "leader_timeout_seconds": 8, "round_blocks": WINDOW},
            }
        )
    )
    procs = {}
    for i in range(1, 5):
        log = (folder / f"no{i}.log").open("ab")
        env = {**os.environ, **c.env, "CREDITSHARE_NODE": str(i - 1)}
        procs[i] = subprocess.Popen(
            [str(EXE), "oracle", "run", "--id", str(i), "--config", str(config), "--card", str(card)],
            env=env,
            stdout=log,
            stderr=log,
        )
    network = geth_network_node(c.data_dir)
    assert network is not None
    client = ChainClient(Settings(c.data_dir, network))
    try:
        yield {"folder": folder, "procs": procs, "client": client, "oracle": client.contract("ScoreOracle")}
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=20)


def logs(folder: Path) -> str:
    return "\n".join(f"--- no{i}\n" + (folder / f"no{i}.log").read_text(errors="replace")[-2000:] for i in range(1, 5))


def test_four_daemons_on_four_nodes_land_one_report_per_window(netcli, daemons):
    client, oracle, folder = daemons["client"], daemons["oracle"], daemons["folder"]
    start = int(client.w3.eth.block_number)
    # each submission's block is known to lie in (the head before it, the head after it]: on a loaded machine the
    # head read after the CLI returns can be a few blocks past the block that holds the settlements
    events: dict[str, list[range]] = defaultdict(list)
    for n, shippers in enumerate((SHIPPERS[:2], SHIPPERS[1:], SHIPPERS)):
        rows = [
            row(f"NETORC-{n}-{i}", shipper=s, platform="uscc:NETPLAT", amount=str(100_000 + 37 * i + n))
            for i, s in enumerate(shippers)
        ]
        before = int(client.w3.eth.block_number)
        netcli("settlements", "submit", str(write_csv(folder, rows, name=f"n{n}.csv")), account="plat", node=n % 4)
        after = int(client.w3.eth.block_number)
        for s in shippers:
            events[to_hex(subject_id(s))].append(range(before + 1, after + 1))
        time.sleep(4)
    last = max(r.start for spans in events.values() for r in spans)  # the scoring epoch is at or after the block

    def epochs() -> dict[str, int]:
        (raw,) = client.call(oracle, "scoresOf", [subject_id(s) for s in SHIPPERS])
        return {to_hex(subject_id(s)): int(r[4]) for s, r in zip(SHIPPERS, raw, strict=True)}

    def scored() -> bool:
        dead = [i for i, p in daemons["procs"].items() if p.poll() is not None]
        assert not dead, f"daemon(s) {dead} exited:\n{logs(folder)}"
        return all(e >= last for e in epochs().values())

    wait_for(scored, 180, f"every shipper scored at an epoch >= {last}")
    time.sleep(3 * WINDOW)  # empty windows: nothing may be scored again
    accepted = list(oracle.events.ReportAccepted().get_logs(from_block=start, to_block="latest"))
    reports = Counter(int(e["args"]["epoch"]) for e in accepted)
    by_epoch: dict[int, list[str]] = defaultdict(list)
    for event in accepted:
        receipt = client.w3.eth.get_transaction_receipt(event["transactionHash"])
        updated = oracle.events.ScoreUpdated().process_receipt(receipt, errors=DISCARD)
        by_epoch[int(event["args"]["epoch"])].extend(to_hex(bytes(u["args"]["subject"])) for u in updated)
    assert all(epoch % WINDOW == 0 for epoch in reports), (sorted(reports), logs(folder))
    assert all(n == 1 for n in reports.values()), (reports, logs(folder))
    for epoch, subjects in by_epoch.items():
        assert len(subjects) == len(set(subjects)), (epoch, subjects)
    for subject, spans in events.items():
        # at most one report per window a submission of the subject may have landed in, the last one covering
        # the subject's last submission
        windows = {-(-b // WINDOW) * WINDOW for r in spans for b in r}
        got = sorted(epoch for epoch, subjects in by_epoch.items() if subject in subjects)
        assert 1 <= len(got) <= len(windows) and got[-1] >= spans[-1].start, (subject, spans, got, logs(folder))
