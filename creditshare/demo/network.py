"""`make demo-network`: the demo's steps with a smaller market (20 shippers) on a 4-node geth Clique network.

The network lives in its own data folder (``data/network-demo`` by default, or CREDITSHARE_DATA_DIR), so the
Anvil demo's state (``data/``) is left alone; it is created and started if needed and keeps running afterwards
(`creditshare --data-dir data/network-demo network down` stops it). A real chain cannot travel in time: the
market's year is sent at the chain's current time, so payments are dated today. Every document goes to a
private IPFS network of 4 Kubo nodes in the same data folder (``CREDITSHARE_EVIDENCE=ipfs``), created and started
if needed (`creditshare --data-dir data/network-demo ipfs down` stops it), and the oracles' rounds are tied to
windows of 10 blocks (``round_blocks``: with 1 the round changes with every Clique block).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from creditshare.core import ipfs, network
from creditshare.core.config import PROJECT_ROOT, load_settings
from creditshare.core.errors import ConfigError
from creditshare.demo.run import console, run_demo

IPFS_NODES = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shippers", type=int, default=20)
    parser.add_argument("--carriers", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    data_dir = Path(os.environ.get("CREDITSHARE_DATA_DIR") or PROJECT_ROOT / "data" / "network-demo").resolve()
    try:
        net = network.load_network(data_dir)
    except ConfigError:
        console.rule("[bold]0. A new network of 4 geth Clique signers on 127.0.0.1")
        net = network.init_network(data_dir, 4)
    network.up(net)
    # every document (waybills, payout proofs, trip logs, list details, model cards) on IPFS: one Kubo node per
    # member network node, loopback only, private swarm key (`creditshare ipfs init|up`)
    try:
        nodes = ipfs.load_network(data_dir)
    except ConfigError:
        console.rule(f"[bold]0. A new private IPFS network of {IPFS_NODES} Kubo nodes on 127.0.0.1")
        nodes = ipfs.init_network(data_dir, IPFS_NODES)
    for node in nodes:
        ipfs.start_node(node)
    ipfs.wait_connected(nodes)
    console.print(f"IPFS: {len(nodes)} Kubo nodes up ({', '.join(n.api for n in nodes)}); CREDITSHARE_EVIDENCE=ipfs")
    os.environ["CREDITSHARE_EVIDENCE"] = "ipfs"
    os.environ.pop("CREDITSHARE_IPFS_API", None)  # node 0, with the others as replicas
    os.environ.pop("CREDITSHARE_RPC_URL", None)
    os.environ["CREDITSHARE_DATA_DIR"] = str(data_dir)
    settings = load_settings("consortium", data_dir)
    run_demo(settings, shippers=args.shippers, carriers=args.carriers, seed=args.seed)


if __name__ == "__main__":
    main()
