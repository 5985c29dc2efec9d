"""The daemon's parts without a chain: config validation, the atomic checkpoint, the peer transport."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from creditshare.core.errors import ConfigError, InvalidInput
from creditshare.core.localchain import free_port, free_ports
from oracle.checkpoint import Checkpoint, checkpoint_path, mark_signed
from oracle.config import OracleConfig, OracleEntry
from oracle.peers import MAX_REPLY, PeerServer, Refused, ask_signatures, peer_status, post_json
from oracle.scores import load_report_file

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "oracles.json"


def write(tmp_path: Path, body: object) -> Path:
    path = tmp_path / "oracles.json"
    path.write_text(json.dumps(body))
    return path


def oracle(i: int, **extra: object) -> dict[str, object]:
    return {
        "id": i,
        "name": f"o{i}",
        "keystore": f"o{i}",
        "address": "0x" + f"{i:02x}" * 20,
        "port": 18600 + i,
        **extra,
    }


def test_example_config_loads_with_leaders_in_address_order():
    config = OracleConfig.load(EXAMPLE)
    assert [o.id for o in config.oracles] == [1, 2, 3, 4]
    assert [o.name for o in config.rotation] == ["oracle-1", "oracle-2", "oracle-3", "oracle-4"]
    assert config.by_id(2).url == "http://127.0.0.1:18602" and config.leader_timeout_seconds == 15


def test_round_defaults_apply_when_omitted(tmp_path):
    config = OracleConfig.load(write(tmp_path, {"oracles": [oracle(1)]}))
    assert (config.confirmations, config.batch, config.poll_seconds) == (0, 500, 1.0)
    assert config.round_blocks == 1 and config.window_end(37) == 37  # a round may end at every block


def test_round_blocks_ties_rounds_to_window_ends(tmp_path):
    config = OracleConfig.load(write(tmp_path, {"oracles": [oracle(1)], "round": {"round_blocks": 10}}))
    assert config.round_blocks == 10
    assert [config.window_end(b) for b in (0, 9, 10, 19, 20, 25)] == [0, 0, 10, 10, 20, 20]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, 'non-empty "oracles" list'),
        ({"oracles": []}, 'non-empty "oracles" list'),
        ({"oracles": [{"id": 1}]}, "lacks name, keystore, address, port"),
        ({"oracles": [oracle(1, address="0x12")]}, "is not a 20-byte hex address"),
        ({"oracles": [oracle(1, port=70000)]}, "port in 1..65535"),
        ({"oracles": [oracle(1), {**oracle(2), "address": oracle(1)["address"]}]}, "the same address twice"),
        ({"oracles": [oracle(1), {**oracle(2), "id": 1}]}, "the same id twice"),
        ({"oracles": [oracle(1)], "round": {"leader_timeot_seconds": 3}}, "unknown round settings: leader_timeot"),
        ({"oracles": [oracle(1)], "round": {"batch": 501}}, "out of range"),
        ({"oracles": [oracle(1)], "round": {"poll_seconds": "fast"}}, "must be numbers"),
        ({"oracles": [oracle(1)], "round": [15]}, "must be an object of round settings"),
        ({"oracles": [oracle(1)], "round": {"batch": 1e400}}, "must be numbers"),
        ({"oracles": [oracle(1)], "round": {"poll_seconds": float("nan")}}, "must be finite numbers"),
        ({"oracles": [oracle(1)], "round": {"leader_timeout_seconds": float("inf")}}, "must be finite numbers"),
        ({"oracles": [oracle(1, port=1e400)]}, "id and port must be integers"),
        ({"oracles": [oracle(1)], "round": {"report_ttl_seconds": 7 * 86_400 + 1}}, "report_ttl_seconds <= 604800"),
        ({"oracles": [oracle(1)], "round": {"round_blocks": 0}}, "1 <= round_blocks <= 10000"),
        ({"oracles": [oracle(1)], "round": {"round_blocks": 10_001}}, "1 <= round_blocks <= 10000"),
        ({"oracles": [oracle(1)], "round": {"round_blocks": 2.5}}, "must be numbers: 2.5 is not a whole number"),
        ({"oracles": [oracle(1)], "round": {"round_blocks": True}}, "must be numbers: True is not a whole number"),
        ({"oracles": [oracle(1)], "round": {"round_blocks": "ten"}}, "must be numbers"),
    ],
)
def test_bad_config_is_refused_with_a_clear_message(tmp_path, body, message):
    with pytest.raises(ConfigError, match=message):
        OracleConfig.load(write(tmp_path, body))


def test_missing_or_broken_config_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the oracle config"):
        OracleConfig.load(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ConfigError, match="is not JSON"):
        OracleConfig.load(tmp_path / "bad.json")


def test_unknown_oracle_id_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="oracle id 7 is not in"):
        OracleConfig.load(write(tmp_path, {"oracles": [oracle(1)]})).by_id(7)


@given(block=st.integers(min_value=-1, max_value=2**63), end=st.integers(min_value=0, max_value=2**63))
def test_checkpoint_round_trips(tmp_path_factory, block, end):
    path = checkpoint_path(tmp_path_factory.mktemp("cp"), 3)
    cp = Checkpoint(
        block=block,
        lock={"start": block, "end": end, "digests": ["0x" + "ab" * 32], "at": 1.5},
        last_round={"status": "round 5: 2 of 3 signatures"},
    )
    cp.save(path)
    assert Checkpoint.load(path, 0) == cp
    assert not path.with_name(path.name + ".tmp").exists()


def test_missing_checkpoint_starts_at_the_default_and_a_corrupt_one_is_refused(tmp_path):
    path = checkpoint_path(tmp_path, 1)
    assert Checkpoint.load(path, 41).block == 41
    path.parent.mkdir(parents=True)
    path.write_text('{"blok": 3}')
    with pytest.raises(ConfigError, match="is not an oracle checkpoint"):
        Checkpoint.load(path, 0)
    path.write_text('{"block": 1e400}')
    with pytest.raises(ConfigError, match="is not an oracle checkpoint"):
        Checkpoint.load(path, 0)
    path.write_text('{"block": 3, "lock": {"start": 1}}')  # a lock without end, digests, at
    with pytest.raises(ConfigError, match="is not an oracle checkpoint"):
        Checkpoint.load(path, 0)


def test_peer_transport_returns_signatures_refusals_and_unreachable_peers(tmp_path):
    port, dead = free_ports(2)

    def on_sign(request: dict[str, object]) -> dict[str, object]:
        if request["end"] == 9:
            raise Refused("locked on round (1, 8]")
        return {"address": "0x" + "01" * 20, "signatures": ["0x" + "00" * 65]}

    server = PeerServer("127.0.0.1", port, on_sign, lambda: {"name": "o1", "checkpoint": 4})
    server.start()
    try:
        body = write(tmp_path, {"oracles": [oracle(1, port=port), oracle(2, port=dead)]})
        config = OracleConfig.load(body)
        ok = ask_signatures(list(config.oracles), {"start": 1, "end": 8, "digests": []}, 5)
        assert ok["o1"] == {"address": "0x" + "01" * 20, "signatures": ["0x" + "00" * 65]}
        assert ok["o2"] == "not reachable"
        refused = ask_signatures([config.by_id(1)], {"start": 1, "end": 9, "digests": []}, 5)
        assert refused == {"o1": "locked on round (1, 8]"}
        assert peer_status(config.by_id(1)) == {"name": "o1", "checkpoint": 4}
        assert peer_status(config.by_id(2)) is None
        with pytest.raises(ConfigError, match="cannot listen"):
            PeerServer("127.0.0.1", port, on_sign, dict)
    finally:
        server.stop()


# -- issue #14, finding 3: one slow peer must not hold the leader -------------------------------


class SlowPeer:
    """A real HTTP peer on a socket: answers every connection with a valid 200 reply, `step` bytes every
    `every` seconds (a trickle), or `size` bytes at once."""

    def __init__(self, *, every: float = 0.0, step: int = 1, size: int | None = None, port: int = 0) -> None:
        deadline = time.monotonic() + 10
        while True:  # a daemon just stopped on `port` may take a moment to release it
            try:
                self.sock = socket.create_server(("127.0.0.1", port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.port = self.sock.getsockname()[1]
        self.every, self.step, self.size = every, step, size
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:  # closed
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            body = json.dumps({"address": "0x" + "02" * 20, "signatures": ["0x" + "00" * 65]})
            if self.size is not None:
                body = json.dumps({"pad": "x" * self.size})
            data = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode()
            try:
                for i in range(0, len(data), self.step):
                    if self.stop.is_set():
                        return
                    conn.sendall(data[i : i + self.step])
                    time.sleep(self.every)
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


def test_a_trickling_peer_gets_one_overall_deadline_not_one_per_read(tmp_path):
    """The attack of finding 3: one byte every 0.5 s is under any per-read timeout; the whole reply
    (~100 bytes) would take ~60 s. The leader gives the peer 2 s in all."""
    slow = SlowPeer(every=0.5)
    try:
        config = OracleConfig.load(write(tmp_path, {"oracles": [oracle(1, port=slow.port)]}))
        began = time.monotonic()
        replies = ask_signatures(list(config.oracles), {"start": 1, "end": 8, "digests": []}, 2.0)
        took = time.monotonic() - began
    finally:
        slow.close()
    assert replies == {"o1": "no answer within 2s"}
    assert took == pytest.approx(2.0, abs=0.6)


def test_the_leader_stops_waiting_once_enough_valid_replies_are_in(tmp_path):
    """k reached with the fast peers: the trickling one is not waited for (its deadline is 30 s)."""
    port = free_port()
    server = PeerServer("127.0.0.1", port, lambda r: {"address": "0x" + "01" * 20, "signatures": []}, dict)
    server.start()
    slow = SlowPeer(every=1.0)
    try:
        body = {"oracles": [oracle(1, port=port), oracle(2, port=slow.port)]}
        config = OracleConfig.load(write(tmp_path, body))
        seen: list[str] = []

        def accept(peer: object, reply: dict[str, object]) -> str | None:
            seen.append(peer.name)  # type: ignore[attr-defined]
            return None

        began = time.monotonic()
        replies = ask_signatures(list(config.oracles), {"end": 8}, 30.0, accept=accept, needed=1)
        took = time.monotonic() - began
    finally:
        slow.close()
        server.stop()
    assert seen == ["o1"] and replies["o1"] == {"address": "0x" + "01" * 20, "signatures": []}
    assert replies["o2"] == "not waited for: enough signatures"
    assert took < 2.0


def test_a_reply_that_fails_the_check_does_not_count_toward_the_quorum(tmp_path):
    port = free_port()
    server = PeerServer("127.0.0.1", port, lambda r: {"signatures": ["0x00"]}, dict)
    server.start()
    try:
        config = OracleConfig.load(write(tmp_path, {"oracles": [oracle(1, port=port)]}))
        replies = ask_signatures(list(config.oracles), {}, 5.0, accept=lambda p, r: "bad reply: wrong signer", needed=1)
    finally:
        server.stop()
    assert replies == {"o1": "bad reply: wrong signer"}


def test_a_reply_over_the_size_cap_is_refused(tmp_path):
    big = SlowPeer(size=2 << 20, step=1 << 20)
    try:
        config = OracleConfig.load(write(tmp_path, {"oracles": [oracle(1, port=big.port)]}))
        replies = ask_signatures(list(config.oracles), {}, 5.0)
    finally:
        big.close()
    assert replies == {"o1": f"bad reply: reply larger than {MAX_REPLY} bytes"}


# -- issue #14, finding 6: idle connections cost no thread and are dropped --------------------------


def test_idle_connections_do_not_stop_the_server_and_are_dropped_after_the_deadline():
    port = free_port()
    calls: list[dict[str, object]] = []

    def on_sign(request: dict[str, object]) -> dict[str, object]:
        calls.append(request)
        return {"address": "0x" + "01" * 20, "signatures": []}

    server = PeerServer("127.0.0.1", port, on_sign, lambda: {"up": True}, workers=2, request_seconds=3.0)
    server.start()
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(100)]
    try:
        for s in idle[:50]:
            s.sendall(b"POST /sign HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")  # a body that never completes
        threads_before = threading.active_count()
        began = time.monotonic()
        entry = OracleEntry(1, "o1", "o1", "0x" + "01" * 20, "127.0.0.1", port)
        code, body = post_json(entry, "/sign", {"end": 1}, time.monotonic() + 5, MAX_REPLY)
        assert (code, body) == (200, {"address": "0x" + "01" * 20, "signatures": []})
        assert time.monotonic() - began < 1.0 and calls == [{"end": 1}]
        assert peer_status(entry) == {"up": True}
        assert threading.active_count() <= threads_before + 2  # the worker pool, not a thread per connection
        wait_until(lambda: server.open_connections == 0, 6.0)
        for s in idle:  # every idle connection was closed by the server: the client reads EOF
            s.settimeout(2)
            assert s.recv(10) == b""
    finally:
        for s in idle:
            s.close()
        server.stop()


def test_connections_beyond_the_cap_are_closed_at_once():
    port = free_port()
    server = PeerServer("127.0.0.1", port, lambda r: r, dict, max_connections=5, request_seconds=5.0)
    server.start()
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
    try:
        wait_until(lambda: server.open_connections == 5, 3.0)
        extra = socket.create_connection(("127.0.0.1", port))
        extra.settimeout(3)
        assert extra.recv(10) == b""
        extra.close()
    finally:
        for s in held:
            s.close()
        server.stop()


@pytest.mark.parametrize(
    ("raw", "code", "message"),
    [
        (b"POST /sign HTTP/1.1\r\n\r\n", 400, "a Content-Length is needed"),
        (b"POST /sign HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", 413, "request larger than"),
        (b"POST /sign HTTP/1.1\r\nContent-Length: 2\r\n\r\n[]", 400, "not an object"),
        (b'POST /sign HTTP/1.1\r\nContent-Length: 10\r\n\r\n{"a": NaN}', 400, "NaN is not a JSON number"),
        (b"GARBAGE\r\n\r\n", 400, "bad request line"),
        (b"GET /nope HTTP/1.1\r\n\r\n", 404, "unknown path"),
    ],
)
def test_malformed_requests_get_one_clear_error(raw, code, message):
    port = free_port()
    server = PeerServer("127.0.0.1", port, lambda r: r, dict)
    server.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(raw)
            reply = b""
            while chunk := s.recv(65536):
                reply += chunk
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.split(b" ")[1] == str(code).encode() and message in json.loads(body)["error"]
    finally:
        server.stop()


def wait_until(predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# -- issue #14, finding 11: checkpoint durability and a lost lock ------------------------------------


def test_checkpoint_save_fsyncs_the_file_and_its_folder(tmp_path, monkeypatch):
    synced: list[bool] = []
    real = os.fsync

    def spy(fd: int) -> None:
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real(fd)

    monkeypatch.setattr(os, "fsync", spy)
    Checkpoint(block=3).save(checkpoint_path(tmp_path, 1))
    assert synced == [False, True]  # the temporary file, then the folder holding the rename


def test_a_daemon_that_signed_before_but_has_no_checkpoint_starts_with_a_lost_lock(tmp_path):
    path = checkpoint_path(tmp_path, 1)
    assert Checkpoint.load(path, 41, now=1000.0) == Checkpoint(block=41)  # never signed: no lock to lose
    mark_signed(path)
    cp = Checkpoint.load(path, 41, now=1000.0)
    assert cp.block == 41 and cp.lock == {"start": 41, "end": 41, "digests": [], "at": 1000.0, "lost": True}
    cp.save(path)
    assert Checkpoint.load(path, 0, now=2000.0).lock == cp.lock  # survives a restart until it is stale
    assert Checkpoint.load(checkpoint_path(tmp_path, 2), 5).lock is None  # a status read invents no lock
    path.write_text("{")
    with pytest.raises(ConfigError, match="signs nothing for leader_timeout_seconds"):
        Checkpoint.load(path, 0)


# -- issue #13, finding 3: loaders of operator files fail with one clear error ------------------------


MUTATIONS = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda data, cut, junk: data[:cut] + junk + data[cut + 1 :],
        st.just(EXAMPLE.read_bytes()),
        st.integers(0, 2000),
        st.binary(max_size=4),
    ),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=10,
    ).map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=MUTATIONS)
def test_any_bytes_as_an_oracle_config_give_a_config_error_naming_the_file(tmp_path, data):
    path = tmp_path / "oracles.json"
    path.write_bytes(data)
    try:
        OracleConfig.load(path)
    except ConfigError as err:
        assert str(path) in str(err) and "\n" not in str(err).strip()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=MUTATIONS)
def test_any_bytes_as_a_checkpoint_give_a_config_error_naming_the_file(tmp_path, data):
    path = tmp_path / "checkpoint-1.json"
    path.write_bytes(data)
    try:
        Checkpoint.load(path, 0)
    except ConfigError as err:
        assert str(path) in str(err)


REPORT = {
    "chain_id": 31337,
    "contract": "0x" + "ab" * 20,
    "report": {
        "epoch": 5,
        "model_hash": "0x" + "11" * 32,
        "as_of": 1700000000,
        "expiry": 1700003600,
        "entries_root": "0x" + "22" * 32,
    },
    "entries": [{"subject": "0x" + "33" * 32, "score": 700, "tier": "B", "reasons_hash": "0x" + "44" * 32}],
    "signatures": {"0x" + "01" * 20: "0x" + "55" * 65},
}


def _mutate(value: object, path: list[str], new: object) -> object:
    if not path:
        return new
    if isinstance(value, dict) and path[0] in value:
        return {**value, path[0]: _mutate(value[path[0]], path[1:], new)}
    if isinstance(value, list) and value:
        return [_mutate(value[0], path[1:], new), *value[1:]]
    return value


FIELDS = (
    [[k] for k in REPORT]
    + [["report", k] for k in REPORT["report"]]
    + [["entries", "0", k] for k in REPORT["entries"][0]]
)  # type: ignore[attr-defined]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.one_of(
        MUTATIONS,
        st.builds(
            lambda field, new: json.dumps(_mutate(REPORT, field, new)).encode(),
            st.sampled_from(FIELDS),
            st.none() | st.booleans() | st.integers() | st.text(max_size=70) | st.lists(st.integers(), max_size=2),
        ),
    )
)
def test_any_bytes_as_a_report_file_give_an_invalid_input_naming_the_file(tmp_path, data):
    path = tmp_path / "report.json"
    path.write_bytes(data)
    try:
        load_report_file(path)
    except InvalidInput as err:
        assert str(path) in str(err)
