"""Network settings, including the consortium (Besu QBFT) network."""

from __future__ import annotations

import pytest
from web3.middleware import ExtraDataToPOAMiddleware

from creditshare.core.chain import ChainClient
from creditshare.core.config import load_settings, network_by_name
from creditshare.core.errors import ChainError, ConfigError


def test_consortium_network_from_environment(monkeypatch):
    monkeypatch.setenv("CREDITSHARE_RPC_URL", "http://10.0.0.5:8545")
    monkeypatch.setenv("CREDITSHARE_CHAIN_ID", "20261")
    net = network_by_name("consortium")
    assert (net.rpc_url, net.chain_id, net.poa, net.gas_price) == ("http://10.0.0.5:8545", 20261, True, 0)


def test_consortium_client_injects_the_poa_middleware(monkeypatch, tmp_path):
    monkeypatch.setenv("CREDITSHARE_RPC_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CREDITSHARE_CHAIN_ID", "20261")
    client = ChainClient(load_settings("consortium", tmp_path))
    assert ExtraDataToPOAMiddleware in [m for m, _name in client.w3.middleware_onion.middleware]


@pytest.mark.parametrize(
    "env,message",
    [
        ({}, "CREDITSHARE_RPC_URL"),
        ({"CREDITSHARE_RPC_URL": "http://x"}, "CREDITSHARE_CHAIN_ID"),
        ({"CREDITSHARE_RPC_URL": "http://x", "CREDITSHARE_CHAIN_ID": "abc"}, "must be an integer"),
    ],
)
def test_consortium_network_needs_endpoint_and_chain_id(monkeypatch, env, message):
    monkeypatch.delenv("CREDITSHARE_RPC_URL", raising=False)
    monkeypatch.delenv("CREDITSHARE_CHAIN_ID", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=message):
        network_by_name("consortium")


def test_unknown_network_is_refused():
    with pytest.raises(ConfigError, match="unknown network 'mainnet'"):
        network_by_name("mainnet")


def test_unreachable_node_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("CREDITSHARE_LOCAL_PORT", "9")
    client = ChainClient(load_settings("local", tmp_path), timeout=0.5)
    with pytest.raises(ChainError, match="cannot reach the local chain"):
        client.check_connection()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("CREDITSHARE_LOCAL_PORT", "eighty", "CREDITSHARE_LOCAL_PORT must be an integer; got 'eighty'"),
        ("CREDITSHARE_LOCAL_PORT", "70000", "CREDITSHARE_LOCAL_PORT must lie between 1 and 65535; got 70000"),
        ("CREDITSHARE_LOCAL_PORT", "-1", "must be an integer"),
        ("CREDITSHARE_LOCAL_PORT", "\u0668\u0665\u0664\u0665", "must be an integer"),
        ("CREDITSHARE_LOCAL_CHAIN_ID", "0", "CREDITSHARE_LOCAL_CHAIN_ID must lie between 1 and"),
        ("CREDITSHARE_LOCAL_CHAIN_ID", "9" * 30, "must be an integer"),
    ],
)
def test_integer_settings_are_checked(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        network_by_name("local")


def test_integer_settings_accept_surrounding_spaces(monkeypatch):
    monkeypatch.setenv("CREDITSHARE_LOCAL_PORT", " 8600 ")
    assert network_by_name("local").rpc_url == "http://127.0.0.1:8600"


def test_a_data_folder_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="the data folder .*file is not a folder"):
        load_settings("development", tmp_path / "file")
    assert load_settings("development", tmp_path / "new").data_dir == (tmp_path / "new").resolve()


def test_a_data_folder_in_a_symlink_loop_is_refused(tmp_path):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(ConfigError, match="cannot be resolved"):
        load_settings("development", tmp_path / "loop" / "data")


@pytest.mark.parametrize("url", ["node:8545", "ftp://node", "http://", "http://node:99999", "http://u:secret@:1"])
def test_rpc_urls_are_checked_without_echoing_credentials(monkeypatch, url):
    monkeypatch.setenv("CREDITSHARE_RPC_URL", url)
    monkeypatch.setenv("CREDITSHARE_CHAIN_ID", "20261")
    with pytest.raises(ConfigError, match="CREDITSHARE_RPC_URL must be an http") as info:
        network_by_name("consortium")
    assert "secret" not in str(info.value)
