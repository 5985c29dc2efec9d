"""The oracle daemon: n = 4 real `creditshare oracle run` processes, k = 3, on the test Anvil.

The tests of this module share one chain history (no per-test snapshot revert: the
daemons follow the chain, and a rewound chain is not something a daemon meets in
production), and run in order: all up, a refresh request, one down, two down,
SIGKILLs of the leader, and `--once`.
"""

from __future__ import annotations

import json
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from brownie import web3
from eth_account.messages import encode_defunct

from creditshare.core.chain import ChainClient, encode_call
from creditshare.core.config import Network, Settings
from creditshare.core.ids import subject_id, to_hex
from creditshare.core.keys import load_account
from creditshare.core.localchain import free_ports
from oracle.daemon import round_request_text
from scoring.model_card import TIERS
from tests.cli.helpers import Cli, admit_oracle, deployed_cli, row, write_csv

SHIPPERS = ("uscc:SHIP1", "uscc:SHIP2", "uscc:SHIP3", "uscc:SHIP4")
EXE = Path(sys.executable).parent / "creditshare"
LEADER_TIMEOUT = 4.0

# no fn_isolation here (unlike tests/cli): the daemons follow one chain history across the tests
pytestmark = [pytest.mark.chain, pytest.mark.slow]


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """The CLI tests' deployed consortium (tests/cli/helpers.py), which the daemons and the tests drive."""
    return deployed_cli(tmp_path_factory)


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


class Fleet:
    """The 4 oracle daemons as subprocesses, with their config, card and logs."""

    def __init__(self, cli: Any, folder: Path, config: Path, card: Path, addresses: dict[int, str]) -> None:
        self.cli, self.folder, self.config, self.card, self.addresses = cli, folder, config, card, addresses
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.client = ChainClient(
            Settings(cli.data_dir, Network("development", web3.provider.endpoint_uri, 31337, False, 0))
        )
        self.oracle = self.client.contract("ScoreOracle")
        self.restarts = 0

    def start(self, i: int) -> None:
        assert i not in self.procs or self.procs[i].poll() is not None, f"o{i} is running"
        log = (self.folder / f"o{i}.log").open("ab")
        self.procs[i] = subprocess.Popen(
            [str(EXE), "oracle", "run", "--id", str(i), "--config", str(self.config), "--card", str(self.card)],
            env=self.cli.subprocess_env(),
            stdout=log,
            stderr=log,
        )

    def stop(self, i: int, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(i, None)
        if proc is not None and proc.poll() is None:
            proc.send_signal(sig)
            proc.wait(timeout=20)

    def ensure_all(self) -> None:
        for i in range(1, 5):
            if i not in self.procs or self.procs[i].poll() is not None:
                self.start(i)

    def stop_all(self) -> None:
        for i in list(self.procs):
            self.stop(i)

    def alive(self) -> bool:
        """Raises if a daemon this fleet started has exited on its own (a crash must fail the test at once)."""
        dead = [i for i, p in self.procs.items() if p.poll() is not None]
        if dead:
            raise AssertionError(f"daemon(s) {dead} exited:\n{self.logs()}")
        return True

    def logs(self) -> str:
        return "\n".join(
            f"--- o{i}\n" + (self.folder / f"o{i}.log").read_text(errors="replace")[-3000:]
            for i in range(1, 5)
            if (self.folder / f"o{i}.log").exists()
        )

    # -- chain reads ----------------------------------------------------------------

    def head(self) -> int:
        return int(web3.eth.block_number)

    def epochs(self, subjects: tuple[str, ...] = SHIPPERS) -> dict[str, int]:
        (raw,) = self.client.call(self.oracle, "scoresOf", [subject_id(s) for s in subjects])
        return {s: int(r[4]) for s, r in zip(subjects, raw, strict=True)}

    def scored_since(self, block: int, subjects: tuple[str, ...] = SHIPPERS) -> bool:
        return self.alive() and all(e >= block for e in self.epochs(subjects).values())

    def accepted(self, from_block: int) -> list[Any]:
        return list(self.oracle.events.ReportAccepted().get_logs(from_block=from_block, to_block="latest"))


_counter = iter(range(10**6))


def submit_settlements(cli: Any, folder: Path, shippers: tuple[str, ...]) -> int:
    """Settlements for `shippers` submitted by the platform through the CLI; returns the block they landed in."""
    n = next(_counter)
    rows = [
        row(f"DMN-{n}-{i}", shipper=s, amount=str(100_000 + 37 * i + n), invoice="2026-01-05")
        for i, s in enumerate(shippers)
    ]
    cli("settlements", "submit", str(write_csv(folder, rows, name=f"d{n}.csv")), account="plat")
    return int(web3.eth.block_number)


def build_fleet(cli: Any, folder: Path, **round_settings: Any) -> Fleet:
    """Shippers ship3/ship4, oracles o1..o4 (k = 3), a promoted card and the fleet's config (`round_settings`
    override the round section): everything the daemons need, set up through the CLI."""
    for name, org in (("ship3", "uscc:SHIP3"), ("ship4", "uscc:SHIP4")):
        cli("keys", "new", name)
        p = cli.json("members", "propose", "admit", "--member", name, "--org", org, "--role", "SHIPPER", account="c1")
        cli("members", "approve", str(p["id"]), account="c2")
    addresses = {}
    for i in range(1, 5):
        addresses[i] = admit_oracle(cli, f"o{i}", f"uscc:ORACLE{i}")
    p = cli.json("members", "propose", "set-parameter", "--parameter", "oracle.threshold", "--value", "3", account="c1")
    cli("members", "approve", str(p["id"]), account="c2")
    card = folder / "card.json"
    cli("model", "train", "--synthetic", "1500", "--seed", "5", "--out", str(card))
    cli("model", "register", str(card), account="c1")
    cli("model", "promote", str(card), "--skip-drift-check", account="c1")
    cli("model", "promote", str(card), "--skip-drift-check", account="c2")
    config = folder / "oracles.json"
    ports = free_ports(4)
    config.write_text(
        json.dumps(
            {
                "oracles": [
                    {
                        "id": i,
                        "name": f"o{i}",
                        "keystore": f"o{i}",
                        "address": addresses[i],
                        "host": "127.0.0.1",
                        "port": ports[i - 1],
                    }
                    for i in range(1, 5)
                ],
                "round": {
                    "confirmations": 0,
                    "poll_seconds": 0.25,
                    "leader_timeout_seconds": LEADER_TIMEOUT,
                    "report_ttl_seconds": 3600,
                    "batch": 500,
                    "request_timeout_seconds": 30,
                    **round_settings,
                },
            },
            indent=1,
        )
    )
    return Fleet(cli, folder, config, card, addresses)


@pytest.fixture(scope="module")
def fleet(cli, tmp_path_factory):
    f = build_fleet(cli, tmp_path_factory.mktemp("daemon"))
    yield f
    f.stop_all()


def test_settlements_submitted_through_the_cli_are_scored_by_the_daemons(cli, fleet):
    start = fleet.head()
    fleet.ensure_all()
    block = submit_settlements(cli, fleet.folder, SHIPPERS)
    began = time.monotonic()
    try:
        wait_for(lambda: fleet.scored_since(block), 90, "every shipper scored")
        print(f"\nsettlements to scores on chain (daemons starting): {time.monotonic() - began:.1f}s")
    except AssertionError:
        print(fleet.logs())
        raise
    accepted = fleet.accepted(start)
    assert len(accepted) >= 1 and len({a["args"]["digest"] for a in accepted}) == len(accepted)
    # the stored score is what any node computes from the ledger as of the round's block
    from oracle.scores import score_from_ledger
    from scoring.model_card import ModelCard

    epoch = fleet.epochs()["uscc:SHIP1"]
    as_of = int(web3.eth.get_block(epoch)["timestamp"])
    ship1 = to_hex(subject_id("uscc:SHIP1"))
    expected = score_from_ledger(fleet.client, ModelCard.load(fleet.card), as_of, block=epoch, subjects={ship1})[0]
    (stored,) = fleet.client.call(fleet.oracle, "scoreOf", subject_id("uscc:SHIP1"))
    assert (stored[0], TIERS[stored[1]]) == (expected.score, expected.tier)
    assert len(accepted[-1]["args"]["signers"]) == 3
    # every daemon's checkpoint reaches the head; `oracle status` shows it
    head = fleet.head()
    rows = wait_for(
        lambda: (
            (r := cli.json("oracle", "status", "--config", str(fleet.config)))
            and all(x["up"] and x["checkpoint"] >= head - 1 for x in r)
            and r
        ),
        30,
        "checkpoints at the head",
    )
    assert [r["name"] for r in rows] == ["o1", "o2", "o3", "o4"]


def test_a_refresh_request_is_answered_by_the_next_round(cli, fleet, monkeypatch):
    fleet.ensure_all()
    monkeypatch.setenv("CREDITSHARE_PASSWORD", "test-password")
    monkeypatch.setenv("CREDITSHARE_SCRYPT_N", "16")
    bank = load_account(cli.data_dir / "keystore", "bank")
    before = fleet.epochs()["uscc:SHIP2"]
    receipt = fleet.client.transact(
        encode_call(fleet.oracle, "requestRefresh", subject_id("uscc:SHIP2")), bank, "refresh"
    )
    requested = int(receipt["blockNumber"])
    assert before < requested
    began = time.monotonic()
    wait_for(lambda: fleet.epochs()["uscc:SHIP2"] >= requested, 60, "the refresh answered")
    print(f"\nrefresh request to score on chain: {time.monotonic() - began:.1f}s")
    # the bound (oracle/daemon.py): with confirmations = 0 and no other traffic, epoch = the request's block
    assert fleet.epochs()["uscc:SHIP2"] == requested
    (report,) = fleet.accepted(requested)
    assert report["blockNumber"] == requested + 1
    # only the subject that asked was rescored
    assert fleet.epochs()["uscc:SHIP1"] < requested


def test_one_oracle_down_still_scores_three_of_four(cli, fleet):
    fleet.ensure_all()
    fleet.stop(4)
    block = submit_settlements(cli, fleet.folder, SHIPPERS[:2])
    wait_for(lambda: fleet.scored_since(block, SHIPPERS[:2]), 60, "scores with o4 down")
    (report,) = fleet.accepted(block)
    assert fleet.addresses[4] not in report["args"]["signers"]


def test_two_oracles_down_write_nothing_and_say_so_then_complete_when_one_returns(cli, fleet):
    fleet.ensure_all()
    fleet.stop(4)
    fleet.stop(3)
    block = submit_settlements(cli, fleet.folder, SHIPPERS[2:])

    def stuck() -> Any:
        rows = cli.json("oracle", "status", "--config", str(fleet.config))
        said = [(r.get("last_round") or {}).get("status", "") for r in rows if r["up"]]
        return [s for s in said if "2 of 3 signatures; waiting for oracles o3" in s]

    said = wait_for(stuck, 4 * LEADER_TIMEOUT + 20, "a clear status from a leader")
    assert "o4 (not reachable)" in said[0]
    assert fleet.accepted(block) == [] and not any(fleet.epochs(SHIPPERS[2:])[s] >= block for s in SHIPPERS[2:])
    rows = {r["name"]: r for r in cli.json("oracle", "status", "--config", str(fleet.config))}
    assert rows["o3"]["up"] is False and rows["o4"]["up"] is False
    fleet.start(3)
    wait_for(lambda: fleet.scored_since(block, SHIPPERS[2:]), 60, "scores once o3 is back")
    assert len(fleet.accepted(block)) == 1


def test_sigkill_of_the_leader_at_random_moments_skips_nothing_and_submits_nothing_twice(cli, fleet):
    fleet.ensure_all()
    rng = random.Random(7)
    start = fleet.head()
    last_event: dict[str, int] = {}
    for _ in range(8):
        shippers = tuple(rng.sample(SHIPPERS, rng.randint(1, 4)))
        block = submit_settlements(cli, fleet.folder, shippers)
        last_event.update({s: block for s in shippers})
        time.sleep(rng.uniform(0.0, 2.0))
        head = fleet.head()
        rotation = sorted(fleet.addresses, key=lambda i: int(fleet.addresses[i], 16))
        attempt = int((time.time() - web3.eth.get_block(head)["timestamp"]) // LEADER_TIMEOUT)
        victim = rotation[(head + max(0, attempt)) % 4]  # the leader of the round at the head (oracle/daemon.py)
        fleet.stop(victim, signal.SIGKILL)
        time.sleep(rng.uniform(0.0, 1.5))
        fleet.start(victim)
    try:
        check_no_skip_no_double(fleet, start, last_event)
    except AssertionError:
        print(fleet.logs())
        raise


def check_no_skip_no_double(fleet: Fleet, start: int, last_event: dict[str, int]) -> None:
    wait_for(
        lambda: all(e >= last_event[s] for s, e in fleet.epochs(tuple(last_event)).items()),
        120,
        "every affected shipper scored at its latest event",
    )
    accepted = fleet.accepted(start)
    digests = [a["args"]["digest"] for a in accepted]
    assert len(digests) == len(set(digests))
    oracles = {a.lower() for a in fleet.addresses.values()}
    failed = []
    for number in range(start + 1, fleet.head() + 1):
        for tx in web3.eth.get_block(number, full_transactions=True)["transactions"]:
            if tx["from"].lower() in oracles and web3.eth.get_transaction_receipt(tx["hash"])["status"] != 1:
                failed.append(tx["hash"].hex())
    assert failed == []


def test_a_model_promotion_rescores_every_shipper_with_the_new_card(cli, fleet):
    fleet.ensure_all()
    card2 = fleet.folder / "card2.json"
    cli("model", "train", "--synthetic", "1500", "--seed", "6", "--out", str(card2))
    cli("model", "register", str(card2), account="c1")
    cli("model", "promote", str(card2), "--skip-drift-check", account="c1")
    cli("model", "promote", str(card2), "--skip-drift-check", account="c2")
    promoted = fleet.head()
    from scoring.model_card import ModelCard

    new_hash = ModelCard.load(card2).model_hash
    # the operators replace their card file in place; the daemons re-read it
    tmp = fleet.card.with_suffix(".new")
    tmp.write_bytes(card2.read_bytes())
    tmp.replace(fleet.card)
    wait_for(lambda: fleet.scored_since(promoted), 60, "every shipper rescored after the promotion")
    (raw,) = fleet.client.call(fleet.oracle, "scoresOf", [subject_id(s) for s in SHIPPERS])
    assert {to_hex(bytes(r[2])) for r in raw} == {new_hash}


def test_once_scores_what_is_pending_and_exits_and_fails_clearly_without_a_quorum(cli, fleet):
    fleet.stop_all()
    block = submit_settlements(cli, fleet.folder, SHIPPERS[:1])

    def once(ids: list[int], timeout: int) -> list[subprocess.CompletedProcess[str]]:
        procs = [
            subprocess.Popen(
                [
                    str(EXE),
                    "oracle",
                    "run",
                    "--id",
                    str(i),
                    "--config",
                    str(fleet.config),
                    "--card",
                    str(fleet.card),
                    "--once",
                    "--timeout",
                    str(timeout),
                ],
                env=cli.subprocess_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in ids
        ]
        return [subprocess.CompletedProcess(p.args, p.wait(timeout=timeout + 60), *p.communicate()) for p in procs]

    too_few = once([1, 2], 12)
    assert all(r.returncode == 1 for r in too_few)
    assert any("of 3 signatures; waiting for oracles" in r.stderr for r in too_few), too_few[0].stderr
    assert fleet.accepted(block) == []
    done = once([1, 2, 3], 60)
    assert [r.returncode for r in done] == [0, 0, 0], done[0].stderr
    assert fleet.scored_since(block, SHIPPERS[:1])
    assert len(fleet.accepted(block)) == 1


def test_a_daemon_signs_only_for_another_oracle_of_its_config(cli, fleet):
    import requests
    from eth_account import Account
    from eth_account.messages import encode_defunct

    fleet.ensure_all()
    url = json.loads(fleet.config.read_text())["oracles"][0]
    url = f"http://{url['host']}:{url['port']}/sign"
    head = web3.eth.block_number
    request = {
        "start": 0,
        "end": head,
        "digests": ["0x" + "11" * 32],
        "leader": "o2",
        "timestamp": int(time.time()),
        "nonce": "0x01",
    }

    def post(**kwargs: Any) -> Any:
        try:
            return requests.post(url, timeout=30, **kwargs)
        except requests.ConnectionError:
            return None  # the daemon is still starting

    # a Response with status 400 is falsy: wrap it for wait_for
    (unsigned,) = wait_for(lambda: [r] if (r := post(json=request)) is not None else None, 60, "daemon o1 listening")
    assert unsigned.status_code == 400 and "must be signed by an oracle" in unsigned.json()["error"]
    text = round_request_text(request, web3.eth.chain_id, fleet.oracle.address)
    outsider = Account.create().sign_message(encode_defunct(text=text))
    refused = post(json={**request, "auth": "0x" + bytes(outsider.signature).hex()})
    assert refused.status_code == 400 and "is not another oracle of this config" in refused.json()["error"]
    big = post(data=b"{" + b" " * (1 << 20) + b"}", headers={"Content-Type": "application/json"})
    assert big.status_code == 413


# -- issue #14: one malicious operator ------------------------------------------------------------


def oracle_keys(cli: Any, monkeypatch: pytest.MonkeyPatch) -> dict[int, Any]:
    monkeypatch.setenv("CREDITSHARE_PASSWORD", "test-password")
    monkeypatch.setenv("CREDITSHARE_SCRYPT_N", "16")
    return {i: load_account(cli.data_dir / "keystore", f"o{i}") for i in range(1, 5)}


def endpoint(fleet: Fleet, i: int) -> str:
    entry = json.loads(fleet.config.read_text())["oracles"][i - 1]
    return f"http://{entry['host']}:{entry['port']}"


def peer_status(fleet: Fleet, i: int) -> dict[str, Any] | None:
    try:
        return requests.get(endpoint(fleet, i) + "/status", timeout=5).json()  # type: ignore[no-any-return]
    except requests.ConnectionError:
        return None


def leader_at(fleet: Fleet, end: int, at: int) -> int:
    """The id of the leader of round `end` at unix time `at` (oracle/daemon.py Daemon.leader)."""
    rotation = sorted(fleet.addresses, key=lambda i: int(fleet.addresses[i], 16))
    attempt = max(0, int((at - web3.eth.get_block(end)["timestamp"]) // LEADER_TIMEOUT))
    return rotation[(end + attempt) % 4]


def signed_request(fleet: Fleet, key: Any, i: int, **fields: Any) -> dict[str, Any]:
    request = {
        "start": 0,
        "end": fleet.head(),
        "digests": ["0x" + "11" * 32],
        "leader": f"o{i}",
        "timestamp": int(time.time()),
        "nonce": "0x" + secrets.token_hex(16),
        **fields,
    }
    text = round_request_text(request, web3.eth.chain_id, fleet.oracle.address)
    return {**request, "auth": "0x" + bytes(key.sign_message(encode_defunct(text=text)).signature).hex()}


def post(fleet: Fleet, target: int, request: dict[str, Any]) -> tuple[int, str]:
    reply = requests.post(endpoint(fleet, target) + "/sign", json=request, timeout=30)
    return reply.status_code, str(reply.json().get("error", ""))


def idle(fleet: Fleet) -> None:
    """Every daemon up, every shipper scored, every checkpoint at the head: no daemon computes anything."""
    fleet.ensure_all()
    head = fleet.head()
    wait_for(
        lambda: all((st := peer_status(fleet, i)) and st["checkpoint"] >= head for i in range(1, 5)),
        60,
        "daemons idle at the head",
    )


def test_a_peer_refuses_stale_replayed_off_schedule_and_absurd_requests_before_recomputing(cli, fleet, monkeypatch):
    keys = oracle_keys(cli, monkeypatch)
    idle(fleet)
    end, now = fleet.head(), int(time.time())
    leader = leader_at(fleet, end, now)
    target, other = [i for i in range(1, 5) if i != leader][:2]
    before = peer_status(fleet, target)["rounds_computed"]  # type: ignore[index]
    cases = [
        (signed_request(fleet, keys[leader], leader, end=end, timestamp=now - 60), "stale request from"),
        (signed_request(fleet, keys[leader], leader, end=end, timestamp=now + 60), "stale request from"),
        (signed_request(fleet, keys[other], other, end=end, timestamp=now), "is not the leader of round"),
        (signed_request(fleet, keys[leader], leader, end=2**64 - 1), "not a current round"),
        (signed_request(fleet, keys[leader], leader, end=end + 1000), "not a current round"),
        (signed_request(fleet, keys[leader], leader, end=max(1, end - 20)), "not a current round"),
        # fields of another JSON type: one 400 each, never int()'s coercion or a 500 (OverflowError)
        (signed_request(fleet, keys[leader], leader, end=end, timestamp=float(now)), "timestamp must be an integer"),
        (signed_request(fleet, keys[leader], leader, end=str(end), timestamp=now), "end must be an integer; got '"),
        (signed_request(fleet, keys[leader], leader, end=end, start=True), "start must be an integer; got True"),
    ]
    for request, message in cases:
        code, error = post(fleet, target, request)
        assert code == 400 and message in error, (message, error)
    infinite = json.dumps(signed_request(fleet, keys[leader], leader, end=end, timestamp=float("inf")))
    reply = requests.post(endpoint(fleet, target) + "/sign", data=infinite, timeout=30)
    assert (reply.status_code, reply.json()) == (400, {"error": "bad request: Infinity is not a JSON number"})
    replayed = cases[2][0]
    assert post(fleet, target, replayed) == (
        400,
        f"replayed request from o{other} (nonce {replayed['nonce']} already seen): refused.",
    )
    assert peer_status(fleet, target)["rounds_computed"] == before  # type: ignore[index]


def test_a_locked_epoch_is_not_reset_by_a_new_range_and_costs_no_recomputation(cli, fleet, monkeypatch):
    """In-process daemon o1 (its process stopped) on the fleet's chain and config. Its checkpoint is moved
    away first (issue #14, finding 11): it starts with a lost lock and signs nothing for leader_timeout."""
    from oracle.checkpoint import Checkpoint, checkpoint_path, mark_signed
    from oracle.config import OracleConfig
    from oracle.daemon import Daemon
    from oracle.peers import Refused

    keys = oracle_keys(cli, monkeypatch)
    fleet.stop_all()
    path = checkpoint_path(cli.data_dir, 1)
    old = Checkpoint.load(path, -1)
    if path.exists():
        path.rename(path.with_name("moved-away.json"))
    mark_signed(path)  # o1 has signed rounds before (the fleet's earlier tests)
    d = Daemon(fleet.client.settings, OracleConfig.load(fleet.config), 1, keys[1], fleet.card)
    try:
        assert d.cp.lock["lost"] and "lock lost" in d.cp.last_round["status"]  # type: ignore[index]
        d.cp.block = start = old.block
        submit_settlements(cli, fleet.folder, SHIPPERS[:2])
        end = fleet.head()
        digests = [to_hex(x) for x in d.compute(d.peer_client, start, end).digests]
        assert digests
        computed = d.computed
        leader = wait_for(lambda: (i := leader_at(fleet, end, int(time.time()))) != 1 and i, 20, "a leader not o1")
        with pytest.raises(Refused, match="lost its signing lock .* it signs nothing for"):
            d.sign_peer_request(signed_request(fleet, keys[leader], leader, start=start, end=end, digests=digests))
        d.cp.lock["at"] -= LEADER_TIMEOUT  # type: ignore[index] # leader_timeout_seconds later
        reply = d.sign_peer_request(signed_request(fleet, keys[leader], leader, start=start, end=end, digests=digests))
        assert len(reply["signatures"]) == len(digests) and d.cp.lock["digests"] == digests  # type: ignore[index]
        at = d.cp.lock["at"]  # type: ignore[index]
        other = (start + end) // 2 if end - start >= 2 else start - 1  # another range for the same epoch
        other_range = signed_request(fleet, keys[leader], leader, start=other, end=end, digests=["0x" + "22" * 32])
        with pytest.raises(Refused, match="signs no other round or range for"):
            d.sign_peer_request(other_range)
        # the same digests under another range: signed from the locked round, not recomputed
        again = signed_request(fleet, keys[leader], leader, start=other, end=end, digests=digests)
        assert d.sign_peer_request(again)["signatures"] == reply["signatures"]
        assert d.computed == computed and d.cp.lock["at"] == at  # type: ignore[index]
    finally:
        d.close()


def test_a_trickling_peer_does_not_stall_the_leaders(cli, fleet):
    """Issue #14, finding 3: o4 answers one byte every 2 s (its whole reply would take minutes);
    the others submit within their turn without it."""
    from tests.oracle.test_daemon_parts import SlowPeer

    idle(fleet)
    fleet.stop(4)
    slow = SlowPeer(every=2.0, port=int(endpoint(fleet, 4).rsplit(":", 1)[1]))
    try:
        block = submit_settlements(cli, fleet.folder, SHIPPERS[:2])
        began = time.monotonic()
        wait_for(lambda: fleet.scored_since(block, SHIPPERS[:2]), 3 * LEADER_TIMEOUT + 8, "scores despite o4")
        print(f"\nscored with a trickling peer in {time.monotonic() - began:.1f}s")
    finally:
        slow.close()
    (report,) = fleet.accepted(block)
    assert fleet.addresses[4] not in report["args"]["signers"]


def test_soak_one_malicious_operator_neither_stalls_scoring_nor_lands_anything(cli, fleet, monkeypatch):
    """o4 is malicious: its endpoint trickles, and it floods the others with stale, replayed, off-schedule
    requests and absurd epochs (and, in its own turns, rounds with other ranges and wrong digests, or real
    rounds it then withholds). Each batch of settlements is still scored within a bounded delay, and nothing
    forged lands: every accepted report has a past block as epoch and that block's time as as-of, and o4 is
    neither its submitter nor a signer (a round o4 gathered signatures for lands only through an honest
    leader, with the content every honest peer computed)."""
    from oracle.rounds import compute_round
    from scoring.model_card import ModelCard
    from tests.oracle.test_daemon_parts import SlowPeer

    keys = oracle_keys(cli, monkeypatch)
    card = ModelCard.load(fleet.card)
    idle(fleet)
    fleet.stop(4)
    slow = SlowPeer(every=2.0, port=int(endpoint(fleet, 4).rsplit(":", 1)[1]))
    stop = threading.Event()
    sent: list[tuple[int, str]] = []
    start = fleet.head()

    def attack() -> None:
        rng = random.Random(11)
        seen: list[dict[str, Any]] = []
        while not stop.is_set():
            head, now = fleet.head(), int(time.time())
            forged = [
                signed_request(fleet, keys[4], 4, end=head, timestamp=now - 30),
                signed_request(fleet, keys[4], 4, end=2**64 - 1),
                signed_request(fleet, keys[4], 4, end=head + 50),
                signed_request(fleet, keys[4], 4, end=head, start=rng.randint(0, max(0, head - 1))),
                signed_request(fleet, keys[4], 4, end=head, digests=["0x" + secrets.token_hex(32)]),
            ]
            if seen:
                forged.append(rng.choice(seen))  # a replay
            if leader_at(fleet, head, now) == 4:  # its own turn: a real round over another range, never submitted
                other = rng.randint(-1, max(-1, head - 2))
                digests = compute_round(fleet.client, card, other, head, ttl=3600, batch=500).digests
                if digests:
                    forged.append(
                        signed_request(fleet, keys[4], 4, start=other, end=head, digests=[to_hex(d) for d in digests])
                    )
            for request in forged:
                try:
                    sent.append(post(fleet, rng.randint(1, 3), request))
                except requests.RequestException:
                    pass
            seen = forged[-2:]
            stop.wait(0.2)

    thread = threading.Thread(target=attack, daemon=True)
    thread.start()
    delays = []
    try:
        soak_ends = time.monotonic() + 30  # several leader rotations, o4's own turns among them
        rng = random.Random(5)
        while time.monotonic() < soak_ends:
            shippers = tuple(rng.sample(SHIPPERS, rng.randint(1, 4)))
            block = submit_settlements(cli, fleet.folder, shippers)
            began = time.monotonic()
            done = lambda b=block, s=shippers: fleet.scored_since(b, s)  # noqa: E731
            wait_for(done, 4 * LEADER_TIMEOUT + 10, "honest scoring")
            delays.append(time.monotonic() - began)
            time.sleep(rng.uniform(0.0, LEADER_TIMEOUT))
    except AssertionError:
        print(fleet.logs())
        raise
    finally:
        stop.set()
        thread.join(timeout=30)
        slow.close()
    codes = {code: sum(1 for c, _ in sent if c == code) for code in sorted({c for c, _ in sent})}
    print(
        f"\nscoring delays under attack: {', '.join(f'{d:.1f}s' for d in delays)} (max {max(delays):.1f}s); "
        f"{len(sent)} requests from o4 by HTTP status: {codes}"
    )
    assert len(sent) > 20 and all(code in (200, 400, 409) for code, _ in sent), sent[:5]
    for event in fleet.accepted(start):
        epoch, as_of = int(event["args"]["epoch"]), int(event["args"]["asOf"])
        assert epoch < event["blockNumber"] and as_of == web3.eth.get_block(epoch)["timestamp"]
        assert event["args"]["submitter"] != fleet.addresses[4]
        assert fleet.addresses[4] not in event["args"]["signers"]


def test_a_suspended_oracles_request_is_refused_before_recomputing(cli, fleet, monkeypatch):
    keys = oracle_keys(cli, monkeypatch)
    idle(fleet)
    p = cli.json("members", "propose", "suspend", "--member", fleet.addresses[4], account="c1")
    cli("members", "approve", str(p["id"]), account="c2")
    try:
        idle(fleet)
        before = {i: peer_status(fleet, i)["rounds_computed"] for i in (1, 2, 3)}  # type: ignore[index]
        end, now = fleet.head(), int(time.time())
        for target in (1, 2, 3):
            code, error = post(fleet, target, signed_request(fleet, keys[4], 4, end=end, timestamp=now))
            assert code == 400 and "o4" in error and "is not an active ORACLE member on chain" in error
        assert {i: peer_status(fleet, i)["rounds_computed"] for i in (1, 2, 3)} == before  # type: ignore[index]
    finally:
        p = cli.json("members", "propose", "reinstate", "--member", fleet.addresses[4], account="c1")
        cli("members", "approve", str(p["id"]), account="c2")
