"""Evidence on real Kubo nodes: the loopback network, one CID everywhere, replication, cross-member reads,
a node down, tampered and missing blocks (tests/ipfs/conftest.py starts the 3-node network once)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
from pathlib import Path

import pytest

from creditshare.core import ipfs
from creditshare.core.ids import cid_from_digest, digest_from_cid
from creditshare.core.localchain import free_port
from creditshare.domain import evidence
from tests.ipfs.conftest import NODES, IpfsCli

KIB = 1024
MIB = 1024 * KIB


def doc(size: int, tag: str) -> bytes:
    """`size` bytes that no other test stores (a tag, then a deterministic stream)."""
    seed = hashlib.sha256(tag.encode()).digest()
    out = bytearray()
    while len(out) < size:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return bytes(out[:size]) if size else b""


def put(net: IpfsCli, tmp_path: Path, data: bytes, name: str = "doc.bin", **env: str) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(net.json("evidence", "put", str(path), **env)["cid"])


def holders(net: IpfsCli, served: str) -> list[int]:
    return [n.index for n in net.nodes() if served in ipfs.Kubo(n.api).pins()]


def test_init_is_idempotent_and_loopback_only(net: IpfsCli) -> None:
    before = net.nodes()
    again = net.json("ipfs", "init", "--nodes", str(NODES))
    assert [n["peer_id"] for n in again["nodes"]] == [n.peer_id for n in before]
    assert net.nodes() == before
    key = (net.data_dir / "ipfs" / "swarm.key").read_text().splitlines()
    assert key[:2] == ["/key/swarm/psk/1.0.0/", "/base16/"] and len(key[2]) == 64
    for node in before:
        config = json.loads((Path(node.repo) / "config").read_text())
        assert config["Bootstrap"] == []
        assert config["Discovery"]["MDNS"]["Enabled"] is False
        assert config["Routing"]["Type"] == "none"
        addrs = [config["Addresses"]["API"], config["Addresses"]["Gateway"], *config["Addresses"]["Swarm"]]
        assert all(a.startswith("/ip4/127.0.0.1/tcp/") for a in addrs)
        assert len({a for n in before for a in (n.api_port, n.swarm_port, n.gateway_port)}) == 3 * NODES
        assert sorted(p["ID"] for p in config["Peering"]["Peers"]) == sorted(
            n.peer_id for n in before if n.index != node.index
        )
        assert (Path(node.repo) / "swarm.key").read_text() == "\n".join(key) + "\n"


def test_status_shows_each_node_up_and_peered(net: IpfsCli) -> None:
    nodes = net.json("ipfs", "status")["nodes"]
    assert [n["index"] for n in nodes] == list(range(NODES))
    for n in nodes:
        assert n["running"] is True and n["peers"] == NODES - 1 and n["repo_bytes"] > 0
        assert n["api"].startswith("http://127.0.0.1:") and n["peer_id"].startswith("12D3")
    # up again is harmless: the running daemons are kept
    pids = {n["index"]: n["pid"] for n in nodes}
    assert {int(k): v for k, v in net.json("ipfs", "up")["started"].items()} == pids


@pytest.mark.parametrize(
    "size",
    [0, 1 * KIB, 256 * KIB + 1, ipfs.MAX_BLOCK, ipfs.MAX_BLOCK + 1, 5 * MIB],
    ids=["0B", "1KiB", "256KiB+1", "1MiB", "1MiB+1", "5MiB"],
)
def test_one_cid_everywhere(net: IpfsCli, tmp_path: Path, size: int) -> None:
    data = doc(size, f"one-cid-{size}")
    cid = put(net, tmp_path, data)
    assert cid == cid_from_digest(hashlib.sha256(data).digest())  # the chain's digest, as the project shows it
    links = json.loads((net.data_dir / "ipfs" / "links.json").read_text()) if size > ipfs.MAX_BLOCK else {}
    served = links.get(cid, cid)
    if size <= ipfs.MAX_BLOCK:
        assert served == cid  # Kubo serves the very same CID (one raw block)
    else:
        assert served != cid and served.startswith("bafy")  # a UnixFS DAG, linked from the document CID
    # pinned by the submitter's node (0) and one other member's (the replication target of 2)
    assert holders(net, served) == [0, 1]
    # node 2 never had it: it fetches over bitswap and the bytes are checked against the CID
    out = tmp_path / "got.bin"
    got = net.json("evidence", "get", cid, "--out", str(out), CREDITSHARE_IPFS_API=net.nodes()[2].api)
    assert got["bytes"] == size and out.read_bytes() == data


def test_get_without_out_writes_the_bytes(net: IpfsCli, tmp_path: Path) -> None:
    data = doc(3000, "stdout")
    cid = put(net, tmp_path, data)
    assert net("evidence", "get", cid).stdout_bytes == data


def test_a_pin_holder_down_the_other_serves_and_status_shows_the_shortfall(net: IpfsCli, tmp_path: Path) -> None:
    data = doc(40 * KIB, "holder-down")
    cid = put(net, tmp_path, data)
    assert holders(net, cid) == [0, 1]
    net("ipfs", "down", "--node", "0")
    try:
        status = net.json("evidence", "status", CREDITSHARE_IPFS_API=net.nodes()[2].api)
        assert status["nodes_down"] == [net.nodes()[0].api]
        assert cid in status["below_target"]
        got = net("evidence", "get", cid, CREDITSHARE_IPFS_API=net.nodes()[2].api).stdout_bytes
        assert got == data  # from node 1, the other pin holder
    finally:
        net("ipfs", "up", "--node", "0")
    status = net.json("evidence", "status")
    assert status["nodes_down"] == [] and cid not in status["below_target"]


def test_replica_down_at_store_time_is_below_target_until_pinned(net: IpfsCli, tmp_path: Path) -> None:
    nodes = net.nodes()
    net("ipfs", "down", "--node", "1")
    try:
        cid = put(net, tmp_path, doc(2 * KIB, "replica-down"), CREDITSHARE_IPFS_REPLICAS=nodes[1].api)
        assert cid in net.json("evidence", "status")["below_target"]
    finally:
        net("ipfs", "up", "--node", "1")
    assert cid in net.json("evidence", "status")["below_target"]
    store = evidence.IpfsStore(nodes[0].api, [nodes[1].api], 2, net.data_dir / "ipfs" / "links.json")
    assert store.replicate(cid) == [nodes[1].api]
    assert cid not in net.json("evidence", "status")["below_target"]


def test_missing_document_is_one_clear_error(net: IpfsCli) -> None:
    cid = cid_from_digest(hashlib.sha256(b"never stored anywhere").digest())
    result = net("evidence", "get", cid, ok=False, CREDITSHARE_IPFS_TIMEOUT="2")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {cid} is on no reachable member's IPFS node (waited 2 s via {net.nodes()[0].api})."
    ]


def _block_file(repo: Path, cid: str) -> Path:
    """Kubo's flatfs file of a raw block: the base32 multihash, upper case, in a folder of its next-to-last
    two characters."""
    key = base64.b32encode(bytes([0x12, 0x20]) + digest_from_cid(cid)).decode().rstrip("=")
    path = repo / "blocks" / key[-3:-1] / f"{key}.data"
    assert path.exists(), path
    return path


def test_tampered_block_is_one_clear_error(net: IpfsCli, tmp_path: Path) -> None:
    data = doc(5 * KIB, "tamper")
    node0 = net.nodes()[0]
    cid = put(net, tmp_path, data, CREDITSHARE_IPFS_REPLICATION="1")
    assert holders(net, cid) == [0]
    block = _block_file(Path(node0.repo), cid)
    block.write_bytes(b"X" + data[1:])
    result = net("evidence", "get", cid, ok=False)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: the IPFS node {node0.api}'s copy of {cid} does not match its CID (tampered or corrupted)."
    ]


def test_bad_settings_and_arguments_are_one_error_line(net: IpfsCli, tmp_path: Path) -> None:
    cases = [
        (("evidence", "get", "bafkreinotacid"), {}, "error: 'bafkreinotacid' is not a valid CID."),
        (("ipfs", "up", "--node", "7"), {}, "error: --node must be between 0 and 2; got 7."),
        (("ipfs", "init", "--nodes", "0"), {}, "error: --nodes must be at least 1; got 0."),
        (
            ("evidence", "get", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
            {"CREDITSHARE_EVIDENCE": "s3"},
            "error: CREDITSHARE_EVIDENCE must be one of folder, ipfs; got 's3'.",
        ),
        (
            ("evidence", "status"),
            {"CREDITSHARE_EVIDENCE": "folder"},
            "error: evidence status reports the IPFS backend's replication; the folder backend keeps one copy "
            "(set CREDITSHARE_EVIDENCE=ipfs).",
        ),
        (
            ("evidence", "status"),
            {"CREDITSHARE_IPFS_REPLICATION": "two"},
            "error: CREDITSHARE_IPFS_REPLICATION must be a whole number; got 'two'.",
        ),
        (
            ("evidence", "get", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
            {"CREDITSHARE_IPFS_TIMEOUT": "-1"},
            "error: CREDITSHARE_IPFS_TIMEOUT must be a number of seconds above 0; got '-1'.",
        ),
    ]
    for args, env, line in cases:
        result = net(*args, ok=False, **env)
        assert result.exit_code == 1, args
        assert result.stderr.strip().splitlines() == [line], args
    # a node that is not running: one line naming it
    dead = f"http://127.0.0.1:{free_port()}"
    result = net("evidence", "get", cid_from_digest(b"\0" * 32), ok=False, CREDITSHARE_IPFS_API=dead)
    assert result.stderr.strip().splitlines() == [
        f"error: the IPFS node at {dead} is not reachable (is it up? `creditshare ipfs up`)."
    ]
    # no network yet in another data folder
    empty = tmp_path / "empty"
    result = net("ipfs", "status", ok=False, CREDITSHARE_DATA_DIR=str(empty))
    assert result.stderr.strip().splitlines() == [
        f"error: no IPFS network in {empty.resolve() / 'ipfs'}: run `creditshare ipfs init --nodes N` first."
    ]


def test_folder_backend_stays_the_default(net: IpfsCli, tmp_path: Path) -> None:
    data = doc(700, "folder")
    cid = put(net, tmp_path, data, CREDITSHARE_EVIDENCE="")  # unset: the folder
    assert evidence.load_folder(net.data_dir / "evidence", cid) == data
    assert (net.data_dir / "evidence" / cid).read_bytes() == data
    assert net("evidence", "get", cid, CREDITSHARE_EVIDENCE="folder").stdout_bytes == data
    assert holders(net, cid) == []  # nothing went to IPFS


def test_sealed_details_go_through_the_ipfs_backend(net: IpfsCli, monkeypatch: pytest.MonkeyPatch) -> None:
    from creditshare.domain.sealing import SealedStore

    monkeypatch.setenv("CREDITSHARE_DATA_DIR", str(net.data_dir))
    monkeypatch.setenv("CREDITSHARE_EVIDENCE", "ipfs")
    store = SealedStore(net.data_dir / "evidence")
    blob = doc(9 * KIB, "sealed-blob")
    commitment, cid = store.put_blob(blob)
    assert not (net.data_dir / "evidence" / cid).exists()  # the blob is on the nodes, not in the folder
    assert holders(net, cid) == [0, 1]
    monkeypatch.setenv("CREDITSHARE_IPFS_API", net.nodes()[2].api)
    assert store.blob(commitment) == blob


def test_a_node_without_the_swarm_key_cannot_join(net: IpfsCli, tmp_path: Path) -> None:
    outsider = ipfs.init_network(tmp_path / "outsider", 1)[0]  # its own, different swarm.key
    node0 = net.nodes()[0]
    ipfs.start_node(outsider)
    try:
        kubo = ipfs.Kubo(outsider.api, timeout=3)
        with pytest.raises(ipfs.IpfsError, match="refused swarm/connect"):
            kubo._post("swarm/connect", f"{node0.swarm_addr}/p2p/{node0.peer_id}")
        assert kubo.peers() == []
        assert outsider.peer_id not in ipfs.Kubo(node0.api).peers()
    finally:
        ipfs.stop_node(outsider)


def test_load_many_reads_remote_documents_in_order(net: IpfsCli, tmp_path: Path) -> None:
    docs = [doc(10 * KIB + i, f"many-{i}") for i in range(6)]
    cids = [put(net, tmp_path, d, name=f"d{i}.bin") for i, d in enumerate(docs)]
    reader = evidence.IpfsStore(net.nodes()[2].api, [], 1, net.data_dir / "ipfs" / "links.json")
    assert reader.load_many(list(reversed(cids)), workers=4) == list(reversed(docs))


def test_up_restarts_a_killed_node_and_status_shows_it_down_meanwhile(net: IpfsCli) -> None:
    node2 = net.nodes()[2]
    pid = int((Path(node2.repo) / "creditshare.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)  # our child (started by the session's `ipfs up`): reap it
    status = {n["index"]: n for n in net.json("ipfs", "status")["nodes"]}
    assert status[2]["running"] is False and status[2]["peers"] is None
    assert status[0]["running"] is True
    started = net.json("ipfs", "up")["started"]
    assert int(started["2"]) != pid and int(started["0"]) == status[0]["pid"]
    status = {n["index"]: n for n in net.json("ipfs", "status")["nodes"]}
    assert all(n["running"] and n["peers"] == NODES - 1 for n in status.values())


def test_a_member_without_the_link_finds_it_on_the_pin_holders(net: IpfsCli, tmp_path: Path) -> None:
    data = doc(ipfs.MAX_BLOCK + 5000, "link-lookup")
    cid = put(net, tmp_path, data)
    root = json.loads((net.data_dir / "ipfs" / "links.json").read_text())[cid]
    nodes = net.nodes()
    for holder in nodes[:2]:
        assert ipfs.Kubo(holder.api).files_read(f"{evidence.LINKS_MFS}/{cid}").decode() == root
    # another member: its own (empty) link index, its own node 2, the holders' nodes as its replicas
    other = evidence.IpfsStore(nodes[2].api, [n.api for n in nodes[:2]], 2, tmp_path / "other" / "links.json")
    assert other.load(cid) == data
    assert json.loads((tmp_path / "other" / "links.json").read_text()) == {cid: root}


def test_store_file_stores_what_was_parsed_and_refuses_a_changed_file(
    net: IpfsCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDITSHARE_DATA_DIR", str(net.data_dir))
    monkeypatch.setenv("CREDITSHARE_EVIDENCE", "ipfs")
    path = tmp_path / "waybill.txt"
    path.write_bytes(doc(1500, "store-file"))
    digest = hashlib.sha256(path.read_bytes()).digest()
    cid = evidence.store_file(net.data_dir / "evidence", path, digest)
    assert cid == cid_from_digest(digest) and holders(net, cid) == [0, 1]
    path.write_bytes(b"edited after parsing")
    with pytest.raises(evidence.EvidenceCorrupted, match="changed since it was read: it no longer matches"):
        evidence.store_file(net.data_dir / "evidence", path, digest)
