"""Who may peer on the geth network, without running geth (creditshare.core.network): a node's enode key is its
signer key; the allowed peers are the nodes of the registry's active validators (the Clique signers before the
registry has any); config.toml carries them as static and trusted peers with DialRatio 1."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from eth_account import Account
from eth_keys import keys
from eth_keys.constants import SECPK1_N
from hypothesis import given
from hypothesis import strategies as st

from creditshare.core import network
from creditshare.core.errors import ConfigError, InvalidInput


def _node(tmp: Path, index: int, *, own_key: bool = True) -> network.NodeInfo:
    signer = Account.create()
    key = keys.PrivateKey(signer.key if own_key else Account.create().key)
    (tmp / f"node-{index}").mkdir(parents=True, exist_ok=True)
    return network.NodeInfo(
        index, str(tmp / f"node-{index}"), signer.address, key.public_key.to_hex()[2:], 30300 + index, 8500 + index, 0
    )


def _net(tmp: Path, nodes: list[network.NodeInfo]) -> network.NetworkInfo:
    return network.NetworkInfo(str(tmp), 4242, 1, 30_000, 60_000_000, tuple(nodes))


def test_the_registry_s_active_validators_pick_the_peers(tmp_path):
    nodes = [_node(tmp_path, i) for i in range(5)]
    net = _net(tmp_path, nodes)
    assert network.keys_are_signers(net)
    registry = {nodes[0].signer: True, nodes[1].signer: True, nodes[2].signer: False}
    active = network.active_signers(registry, [n.signer for n in nodes[:4]])
    assert active == {nodes[0].signer, nodes[1].signer}  # suspended and unregistered ones are not
    assert [n.index for n in network.admitted(net, active)] == [0, 1]


def test_before_the_registry_has_a_validator_the_clique_signers_are_the_peers(tmp_path):
    nodes = [_node(tmp_path, i) for i in range(3)]
    genesis = [n.signer.lower() for n in nodes[:2]]
    for registry in (None, {}, {nodes[2].signer: False}):
        active = network.active_signers(registry, genesis)
        assert [n.index for n in network.admitted(_net(tmp_path, nodes), active)] == [0, 1]


def test_a_network_whose_node_keys_are_not_its_signers_is_told_apart(tmp_path):
    net = _net(tmp_path, [_node(tmp_path, 0), _node(tmp_path, 1, own_key=False)])
    assert not network.keys_are_signers(net)


def test_config_toml_trusts_exactly_the_allowed_peers_and_leaves_no_inbound_slot(tmp_path):
    nodes = [_node(tmp_path, i) for i in range(4)]
    network.write_peers(nodes[0], nodes[:3])
    config = tomllib.loads((Path(nodes[0].datadir) / "config.toml").read_text())["Node"]["P2P"]
    assert config["DialRatio"] == 1
    assert config["StaticNodes"] == config["TrustedNodes"] == [nodes[1].enode, nodes[2].enode]
    assert network.trusted_of(nodes[0]) == {nodes[1].node_id, nodes[2].node_id}
    assert network.trusted_of(nodes[3]) == set()  # no config: trusts nobody


def test_a_damaged_config_trusts_nobody(tmp_path):
    node = _node(tmp_path, 0)
    (Path(node.datadir) / "config.toml").write_text("[Node.P2P\nTrustedNodes = [")
    assert network.trusted_of(node) == set()


@pytest.mark.parametrize("text", ["", "ab" * 10, "zz" * 64, "0x" + "00" * 64, "01" * 64])
def test_text_that_is_no_public_key_is_not_an_enode_id(text):
    with pytest.raises(InvalidInput, match="not an enode id"):
        network.enode_address(text)


@given(st.binary(min_size=32, max_size=32).filter(lambda b: 0 < int.from_bytes(b, "big") < SECPK1_N))
def test_an_enode_id_names_the_address_of_its_own_key(secret):
    key = keys.PrivateKey(secret)
    assert network.enode_address(key.public_key.to_hex()) == key.public_key.to_checksum_address()


def test_node_add_refuses_a_missing_and_a_full_network_and_writes_nothing(tmp_path):
    with pytest.raises(ConfigError, match="no geth network in .*run `creditshare network init"):
        network.add_node(tmp_path)
    root = network.network_dir(tmp_path)
    nodes = [_node(root, i) for i in range(network.MAX_VALIDATORS)]
    network._save(_net(root, nodes), nodes)
    before = sorted(p.name for p in root.iterdir())
    with pytest.raises(InvalidInput, match=f"the network has {network.MAX_VALIDATORS} nodes; at most"):
        network.add_node(tmp_path)
    assert sorted(p.name for p in root.iterdir()) == before  # no node folder, network.json as it was
    assert len(network.load_network(tmp_path).nodes) == network.MAX_VALIDATORS
