"""The oracle daemon on real block times (issue #15, item 4): Anvil mines a block every second, empty ones
included, as a Clique or QBFT chain does, and 4 daemons (k = 3) score settlements in rounds tied to windows of
`round_blocks` blocks. Every daemon names the same round and leader for a whole window, so the peers' signing
locks never split: every due subject gets exactly one report per round, at a window end.

Without windows (round_blocks 1) the round's end, digests and leader changed every block period on such a
chain, and competing leaders split the signing locks.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Iterator

import pytest
from brownie import web3
from web3.logs import DISCARD

from creditshare.core.ids import subject_id, to_hex
from tests.cli.helpers import Cli, deployed_cli
from tests.oracle.test_daemon import (
    EXE,
    SHIPPERS,
    Fleet,
    build_fleet,
    oracle_keys,
    peer_status,
    post,
    signed_request,
    submit_settlements,
    wait_for,
)

WINDOW = 5  # blocks per round: 5 s at one block a second, longer than a round takes here
TIMEOUT = 8.0  # leader_timeout_seconds of this fleet
pytestmark = [pytest.mark.chain, pytest.mark.slow]


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return deployed_cli(tmp_path_factory)


@pytest.fixture(scope="module")
def fleet(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    f = build_fleet(cli, tmp_path_factory.mktemp("windows"), round_blocks=WINDOW, leader_timeout_seconds=TIMEOUT)
    web3.provider.make_request("evm_setIntervalMining", [1])  # a block every second, transactions or not
    try:
        yield f
    finally:
        f.stop_all()
        web3.provider.make_request("evm_setIntervalMining", [0])
        web3.provider.make_request("evm_setAutomine", [True])  # the session's other tests expect automine


def scored_subjects_by_epoch(fleet: Fleet, from_block: int) -> dict[int, list[str]]:
    """epoch -> the subjects of every accepted report of that epoch (a subject twice: two reports scored it)."""
    out: dict[int, list[str]] = defaultdict(list)
    updated = fleet.oracle.events.ScoreUpdated()
    for event in fleet.accepted(from_block):
        receipt = web3.eth.get_transaction_receipt(event["transactionHash"])
        subjects = [to_hex(bytes(e["args"]["subject"])) for e in updated.process_receipt(receipt, errors=DISCARD)]
        out[int(event["args"]["epoch"])].extend(subjects)
    return out


def test_four_daemons_on_a_timer_chain_agree_on_one_round_per_window(cli, fleet):
    fleet.ensure_all()
    wait_for(lambda: all(peer_status(fleet, i) for i in range(1, 5)), 90, "4 daemons serving")
    start = fleet.head()
    # three bursts a few seconds apart, so they fall into different windows while empty blocks keep coming
    events: dict[str, list[int]] = defaultdict(list)
    for shippers in (SHIPPERS[:2], SHIPPERS[2:], SHIPPERS):
        block = submit_settlements(cli, fleet.folder, shippers)
        for s in shippers:
            events[to_hex(subject_id(s))].append(block)
        time.sleep(3)
    last = max(max(b) for b in events.values())
    wait_for(lambda: fleet.scored_since(last), 120, f"every shipper scored at an epoch >= {last}")
    time.sleep(2 * WINDOW)  # a few more windows of empty blocks: no round may score anything again
    fleet.alive()
    assert fleet.head() >= last + 2 * WINDOW  # blocks kept coming without transactions

    by_epoch = scored_subjects_by_epoch(fleet, start)
    reports = Counter(int(e["args"]["epoch"]) for e in fleet.accepted(start))
    assert by_epoch, fleet.logs()
    # every round ends at a window end, lands as one report, and scores each subject once
    assert all(epoch % WINDOW == 0 for epoch in by_epoch), sorted(by_epoch)
    assert all(n == 1 for n in reports.values()), reports
    for epoch, subjects in by_epoch.items():
        assert len(subjects) == len(set(subjects)), (epoch, subjects)
    # a subject is scored at most once per window holding its events, and its last score covers its last event
    for subject, blocks in events.items():
        windows = {-(-b // WINDOW) * WINDOW for b in blocks}
        scored = sorted(epoch for epoch, subjects in by_epoch.items() if subject in subjects)
        assert 1 <= len(scored) <= len(windows) and scored[-1] >= max(blocks), (subject, blocks, scored, fleet.logs())
    # and every daemon's checkpoint follows the windows: none is stuck on a round split between leaders
    settled = fleet.head() - fleet.head() % WINDOW - WINDOW
    wait_for(
        lambda: all((st := peer_status(fleet, i)) and st["checkpoint"] >= settled for i in range(1, 5)),
        30,
        f"every checkpoint at window end {settled} or later",
    )


def test_a_peer_signs_only_window_ends_and_only_for_that_windows_leader(cli, fleet, monkeypatch):
    keys = oracle_keys(cli, monkeypatch)
    fleet.ensure_all()
    wait_for(lambda: all(peer_status(fleet, i) for i in range(1, 5)), 90, "4 daemons serving")
    head, now = fleet.head(), int(time.time())
    end = head - head % WINDOW
    rotation = sorted(fleet.addresses, key=lambda i: int(fleet.addresses[i], 16))
    attempt = max(0, int((now - web3.eth.get_block(end)["timestamp"]) // TIMEOUT))
    leader = rotation[(end // WINDOW + attempt) % 4]  # oracle/daemon.py Daemon.leader with round_blocks
    target, other = [i for i in range(1, 5) if i != leader][:2]
    code, error = post(fleet, target, signed_request(fleet, keys[leader], leader, end=end - 1, timestamp=now))
    assert code == 400 and f"does not end a window of {WINDOW} blocks (round_blocks): refused." in error, error
    code, error = post(fleet, target, signed_request(fleet, keys[other], other, end=end, timestamp=now))
    assert code == 400 and "is not the leader of round" in error, error


def test_once_waits_for_the_window_holding_the_head_and_scores_at_its_end(cli, fleet):
    fleet.stop_all()
    block = submit_settlements(cli, fleet.folder, SHIPPERS[:1])
    procs = [
        subprocess.Popen(
            [str(EXE), "oracle", "run", "--id", str(i), "--config", str(fleet.config), "--card", str(fleet.card)]
            + ["--once", "--timeout", "90"],
            env=cli.subprocess_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in (1, 2, 3)
    ]
    done = [subprocess.CompletedProcess(p.args, p.wait(timeout=150), *p.communicate()) for p in procs]
    assert [r.returncode for r in done] == [0, 0, 0], done[0].stderr
    # one report, at a window end at or after the settlement (the window holding the head when --once started)
    (epoch,) = [int(e["args"]["epoch"]) for e in fleet.accepted(block)]
    assert epoch % WINDOW == 0 and epoch >= block
    assert fleet.epochs(SHIPPERS[:1])[SHIPPERS[0]] == epoch
    for r in done:  # each process stopped at a window end: the window holding the head it started at, closed
        checkpoint = int(re.search(r"checkpoint (\d+)", r.stdout).group(1))  # type: ignore[union-attr]
        assert checkpoint % WINDOW == 0 and checkpoint >= epoch, r.stdout
