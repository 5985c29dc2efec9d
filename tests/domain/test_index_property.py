"""Same bytes: over random ledger histories on a real Anvil (submissions, confirmations, pledges, payments,
overdue marks, disputes, resolutions and defaults, and the indexer restarted or stopped at random blocks),
the chain index's frame is the full recompute's (settlement_frame) as of any block, and the oracle's scores
(oracle.scores.score_from_ledger, which reads the index for the due subjects only) are the entries a full
recompute of every shipper gives, bit for bit. A SIGKILLed indexing process resumes without a gap or a
duplicate (a real subprocess)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from brownie import chain
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from creditshare.bindings.settlement_ledger import Status
from creditshare.core.ids import to_hex
from creditshare.domain.index import ChainIndex
from oracle.batch import score_subjects
from oracle.rounds import affected
from oracle.scores import score_from_ledger
from scoring.features import build_features
from scoring.model_card import ModelCard
from tests.cli.lender_scenario import oracles_and_card
from tests.domain.test_index import World, make_world

pytestmark = pytest.mark.chain

SHIPPERS = ("uscc:SHIP1", "uscc:SHIP2")
ACCOUNT_OF = {"uscc:SHIP1": "ship", "uscc:SHIP2": "ship2"}


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[World, ModelCard]:
    world = make_world(tmp_path_factory)
    card = oracles_and_card(world.cli, tmp_path_factory.mktemp("card"))  # trained, registered and promoted
    return world, ModelCard.load(card)


@pytest.fixture(autouse=True)
def isolation(fn_isolation, scored):  # noqa: ANN001 - brownie fixture
    scored[0].client._nonces.clear()
    yield
    scored[0].client._nonces.clear()


def _shipper_account(world: World, record) -> object:
    name = next(n for s, n in ACCOUNT_OF.items() if to_hex(record.shipper) == to_hex(_subject(s)))
    return world.accounts[name]


def _subject(org: str) -> bytes:
    from creditshare.core.ids import subject_id

    return subject_id(org)


def step(world: World, op: str, picks: list[int], flag: bool) -> None:
    """One random action on the ledger; records are chosen by index among those made so far."""
    a = world.accounts
    if op == "submit" or not world.records:
        world.submit(world.new(1 + len(picks) % 4, shipper=SHIPPERS[int(flag)], carriers=2 + len(picks) % 3))
        return
    ids = list(world.records)
    chosen = list(dict.fromkeys(world.records[ids[p % len(ids)]] for p in picks)) or [world.records[ids[0]]]
    states = dict(zip([r.id for r in chosen], world.ledger.states([r.id for r in chosen]), strict=True))
    by_shipper: dict[str, list] = {}
    for r in chosen:
        by_shipper.setdefault(ACCOUNT_OF[next(s for s in SHIPPERS if _subject(s) == r.shipper)], []).append(r)
    if op == "confirm":
        for name, recs in by_shipper.items():
            world.ledger.confirm(recs, a[name])
    elif op == "pledge":
        for r in chosen:
            if states[r.id].status == Status.CONFIRMED:
                world.ledger.pledge(r, a["bank"].address, a["plat"])
                return
    elif op == "pay":
        for name, recs in by_shipper.items():
            world.ledger.pay(recs, [0] * len(recs), a[name])
    elif op == "confirm_payment":
        lent = [r for r in chosen if world.ledger.lender_of(r.id)]
        plain = [r for r in chosen if r not in lent]
        if lent:
            world.ledger.confirm_payment(lent, a["bank"])
        if plain:
            world.ledger.confirm_payment(plain, a["plat"])
    elif op == "overdue":
        world.ledger.mark_overdue(chosen, a["plat"])
    elif op == "dispute":
        world.ledger.dispute(chosen, b"\x22" * 32, a["plat"])
    elif op == "resolve":
        world.ledger.resolve(chosen, flag, a["c1"])


OPS = st.sampled_from(["submit", "confirm", "pledge", "pay", "confirm_payment", "overdue", "dispute", "resolve"])
STEP = st.tuples(
    OPS, st.lists(st.integers(0, 200), max_size=4), st.booleans(), st.sampled_from(["", "restart", "stop"])
)


def full_scores(world: World, card: ModelCard, block: int, as_of: int, subjects: set[str]) -> list:
    frame = world.full(block)
    if frame.empty:
        return []
    features = build_features(frame, as_of, roles=("shipper",))
    return score_subjects(card, features[features.index.isin(sorted(subjects))])


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(STEP, min_size=3, max_size=9), back=st.integers(0, 6))
def test_index_frames_and_scores_equal_a_full_recompute_over_random_histories(scored, steps, back):
    world, card = scored
    idx = ChainIndex(world.client)
    touched: set[str] = set()
    try:
        for op, picks, flag, then in steps:
            step(world, op, picks, flag)
            if then == "restart":  # a new process opens the file where the last one left it
                idx.close()
                idx = ChainIndex(world.client)
            elif then == "stop":  # an indexer stopped part-way: it read up to a random earlier block
                idx.catch_up(max(idx.last_block() or 0, chain.height - 1 - len(picks)))
        head = chain.height
        for block in sorted({head, max(1, head - back)}):
            assert_frame_equal(idx.frame(block), world.full(block), check_exact=True)
        block = head
        as_of = world.client.block_timestamp(block)
        touched = {to_hex(s) for s in (_subject(o) for o in SHIPPERS)}
        since = max(0, head - 2 - back)  # the ledger part of a daemon round's due subjects, from the index
        assert idx.touched_shippers(since, head) == affected(world.client, since, head)
        assert set(idx.shippers(head)) == set(world.full(head)["shipper"])
        for subjects in (touched, {sorted(touched)[0]}):
            from_index = score_from_ledger(world.client, card, as_of, block=block, subjects=subjects)
            expected = full_scores(world, card, block, as_of, subjects)
            assert [s.entry() for s in from_index] == [s.entry() for s in expected]
            assert from_index == expected
    finally:
        idx.close()


KILLED = """
import sys, time
from creditshare.core.chain import ChainClient
from creditshare.core.config import load_settings
from creditshare.domain import index as m
m.FIRST_SPAN = m.MAX_SPAN = 1  # one block per transaction: many commits to be killed between (or inside)
idx = m.ChainIndex(ChainClient(load_settings("development", sys.argv[1])))
def slow(first, last, events):
    print(last, flush=True)
    time.sleep(0.01)
idx.catch_up(on_range=slow)
print("done", flush=True)
"""


def test_a_sigkilled_indexer_resumes_without_gap_or_duplicate(scored, tmp_path):
    world, _card = scored
    for i in range(12):
        world.submit(world.new(3, shipper=SHIPPERS[i % 2]))
        if i % 3 == 0:
            world.ledger.confirm(list(world.records.values())[-3:], world.accounts[ACCOUNT_OF[SHIPPERS[i % 2]]])
    with ChainIndex(world.client) as idx:
        idx.rebuild("test")
        path = idx.path
    env = {**os.environ, "CREDITSHARE_DEV_RPC_URL": world.cli.env["CREDITSHARE_DEV_RPC_URL"]}
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, str(script), str(world.cli.data_dir)], stdout=subprocess.PIPE, text=True, env=env, cwd=root
    )
    assert proc.stdout is not None
    seen = 0
    deadline = time.monotonic() + 60
    while seen < 8 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.strip().isdigit():
            seen += 1
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert seen == 8
    with ChainIndex(world.client) as idx:
        stopped = idx.last_block()
        assert stopped is not None and stopped < chain.height  # killed part-way
        assert idx.rebuilt is None and idx.check() == "ok"
        idx.catch_up()
        resumed = idx.frame()
        counts = idx.db.execute("SELECT count(*), count(DISTINCT id) FROM settlements").fetchone()
        changes = idx.db.execute("SELECT count(*) FROM changes").fetchone()[0]
    assert_frame_equal(resumed, world.full(), check_exact=True)
    assert counts[0] == counts[1] == len(resumed)
    with ChainIndex(world.client, path=path.with_name("fresh.sqlite3")) as fresh:
        fresh.catch_up()
        assert fresh.db.execute("SELECT count(*) FROM changes").fetchone()[0] == changes
