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
