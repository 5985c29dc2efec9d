"""The member console's network page on the session's 4-signer geth network: the console app runs in-process
(uvicorn in a thread, real HTTP) against node 1, and lists every node of the data folder's network with its
head and peers, the connected node's Clique signers and their drift from the registry's validators."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from eth_account import Account
from eth_utils import to_checksum_address

from creditshare.bindings.consortium import Consortium
from creditshare.core import network
from creditshare.core.config import load_settings
from creditshare.core.localchain import free_port
from creditshare.web.app import create_app
from creditshare.web.console import Console, ConsoleClient, ConsoleConfig

TOKEN = "network-test-token"


@pytest.fixture
def console_on_node_1(netcli: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[httpx.Client, Console]]:
    for name, value in {**netcli.env, "CREDITSHARE_NODE": "1"}.items():
        monkeypatch.setenv(name, value)
    client = ConsoleClient(load_settings())
    client.check_connection()
    console = Console(client, ConsoleConfig(Account.create(), "viewer"))  # reads only: any key will do
    port = free_port()
    config = uvicorn.Config(create_app(console, TOKEN), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the console did not start"
        time.sleep(0.05)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        yield http, console
    server.should_exit = True
    thread.join(10)


def test_console_network_page_lists_every_node_and_the_signers_against_the_registry(netcli, console_on_node_1):
    http, console = console_on_node_1
    nodes = netcli.net.nodes
    net = http.get("/api/network", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    rows = net["nodes"]["rows"]
    assert [r["index"] for r in rows] == [n.index for n in nodes]
    assert [r["connected"] for r in rows] == [n.index == 1 for n in nodes]
    for row, node in zip(rows, nodes, strict=True):
        assert row["state"] == "up" and row["head"] >= 1 and row["peers"] == len(nodes) - 1, row
        assert row["signer"] == node.signer and row["head_hash"].startswith("0x")
    chain = net["chain"]
    assert chain["client"].startswith("Geth/") and chain["head"] >= 1 and chain["stalled"] is False
    assert set(chain["signers"]) == {to_checksum_address(s) for s in network.rpc(nodes[1].rpc_url, "clique_getSigners")}
    # drift: computed by core.network.drift from the same registry the CLI's `network status` reads
    registry = {v.signer: v.active for v in Consortium(console.client).validator_signers()}
    assert chain["drift"] == network.drift(registry, chain["signers"])
    page = http.get("/network").text
    for node in nodes:
        assert f'id="node-{node.index}"' in page and node.signer in page
    assert "(this console&#39;s node)" in page or "(this console's node)" in page
    # the page's head (a block or more later than the API's, at one block a second) and its hash, as node 1 has them
    shown = re.search(r'id="chain-head">(\d+)<.*?id="chain-hash">(0x[0-9a-f]{64})<', page, re.S)
    assert shown, page
    # looked up by hash: a Clique fork at the tip may since have replaced that block at its height
    block = network.rpc(nodes[1].rpc_url, "eth_getBlockByHash", [shown[2], False])
    assert block and int(block["number"], 16) == int(shown[1]) >= chain["head"]
    assert ("DRIFT: " in page) == bool(chain["drift"])
