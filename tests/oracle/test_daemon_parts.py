"""The daemon's parts without a chain: config validation, the atomic checkpoint, the peer transport."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditshare.core.errors import ConfigError
from creditshare.core.localchain import free_port
from oracle.checkpoint import Checkpoint, checkpoint_path
from oracle.config import OracleConfig
from oracle.peers import PeerServer, Refused, ask_signatures, peer_status

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
    path.write_text('{"block": 3, "lock": {"start": 1}}')  # a lock without end, digests, at
    with pytest.raises(ConfigError, match="is not an oracle checkpoint"):
        Checkpoint.load(path, 0)


def test_peer_transport_returns_signatures_refusals_and_unreachable_peers(tmp_path):
    port, dead = free_port(), free_port()

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
