"""Bad input to `creditshare network ...` without starting any node (the session's network is not needed): out
of range options, a damaged network description, unknown node indexes and a pidfile naming another process.
Every refusal is one `error:` line (or typer's usage error, exit 2), never a traceback, and touches no process."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from creditshare.core import network
from creditshare.core.errors import ConfigError
from tests.network.conftest import NetCli


def refused(c: NetCli, *args: str, code: int = 1) -> str:
    result = c(*args, ok=False)
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "this is a bug" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: " if code == 1 else "Usage: "), result.stderr
    return result.stderr


@pytest.fixture
def fresh(tmp_path: Path) -> NetCli:
    return NetCli(tmp_path / "data")


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> NetCli:
    """A one-signer network written (not started)."""
    try:
        network.geth_binary()
    except ConfigError as err:
        pytest.skip(str(err))
    c = NetCli(tmp_path_factory.mktemp("net-bad-input"))
    c("network", "init", "--validators", "1")
    return c


INIT_REFUSALS = [
    (("--validators", "0"), "--validators must be between 1 and 16; got 0"),
    (("--validators", "17"), "--validators must be between 1 and 16; got 17"),
    (("--validators", "-3"), "--validators must be between 1 and 16; got -3"),
    (("--period", "0"), "--period must be between 1 and 60 seconds"),
    (("--period", "61"), "--period must be between 1 and 60 seconds"),
    (("--gas-limit", "1"), "--gas-limit must be between 5000000 and 1000000000"),
    (("--chain-id", "0"), "--chain-id must be a positive id other than 1, 1337 and 31337"),
    (("--chain-id", "31337"), "--chain-id must be a positive id other than 1, 1337 and 31337"),
]


@pytest.mark.parametrize(("args", "message"), INIT_REFUSALS, ids=[" ".join(a) for a, _ in INIT_REFUSALS])
def test_network_init_out_of_range_is_refused_and_writes_nothing(fresh, args, message):
    assert message in refused(fresh, "network", "init", *args)
    assert not (fresh.data_dir / "geth-network" / "network.json").exists()


@pytest.mark.parametrize("args", [("init", "--validators", "four"), ("logs", "--lines", "0"), ("node", "stop", "x")])
def test_a_malformed_option_is_a_usage_error(fresh, args):
    refused(fresh, "network", *args, code=2)


@pytest.mark.parametrize(
    "args", [("status",), ("up",), ("down",), ("sync",), ("logs",), ("node", "stop", "0"), ("node", "start", "0")]
)
def test_every_command_without_a_network_says_to_init_one(fresh, args):
    assert "run `creditshare network init --validators N` first" in refused(fresh, "network", *args)


@pytest.mark.parametrize(
    "content",
    [
        b"{oops",
        b"\xff\xfe",
        b"[]",
        b'{"nodes": 1}',
        b'{"nodes": [{"index": 0}]}',
        b"[" * 100_000,
    ],
    ids=["not JSON", "not UTF-8", "a list", "nodes not a list", "a node without fields", "nested"],
)
def test_a_damaged_network_description_is_one_error_line(fresh, content):
    folder = fresh.data_dir / "geth-network"
    folder.mkdir(parents=True)
    (folder / "network.json").write_bytes(content)
    for args in (("status",), ("down",), ("logs",), ("node", "kill", "0")):
        assert "the network description" in refused(fresh, "network", *args)


def test_a_description_without_nodes_is_refused(written):
    path = written.data_dir / "geth-network" / "network.json"
    saved = path.read_bytes()
    path.write_text(json.dumps({**json.loads(saved), "nodes": []}))
    try:
        assert "lists no node" in refused(written, "network", "status")
    finally:
        path.write_bytes(saved)


@pytest.mark.parametrize(
    "args",
    [
        ("up", "--node", "1"),
        ("down", "--node", "-1"),
        ("logs", "--node", "5"),
        ("node", "stop", "1"),
        ("node", "kill", "2"),
        ("node", "start", "99"),
    ],
)
def test_an_unknown_node_index_is_refused(written, args):
    assert "node must be between 0 and 0" in refused(written, "network", *args)


def test_init_over_an_existing_network_needs_force(written):
    before = (written.data_dir / "geth-network" / "network.json").read_bytes()
    refused(written, "network", "init", "--validators", "2")
    assert (written.data_dir / "geth-network" / "network.json").read_bytes() == before


def test_a_pidfile_naming_another_process_is_never_signalled(written):
    node = written.net.nodes[0]
    pidfile = Path(node.datadir) / "creditshare.pid"
    for content in (str(os.getpid()), "garbage", "-1", "99999999"):
        pidfile.write_text(content)
        out = written("network", "node", "kill", "0")
        assert "was not running" in out.stdout  # and this test process is still alive
    pidfile.unlink()
    assert "Traceback" not in written("network", "status").stderr
