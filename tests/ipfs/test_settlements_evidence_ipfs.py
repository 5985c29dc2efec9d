"""`settlements submit` with the IPFS backend on real Kubo nodes and a real chain: every document is added and
pinned on the submitter's node and replicated before the chain write; another member's node fetches it by the
on-chain digest over bitswap (`evidence verify`), also with a pin holder down; a tampered or missing document is
one error line and exit code 1; an unreachable node or a refused file sends and pins nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from creditshare.cli import app
from creditshare.core import ipfs
from creditshare.core.ids import cid_from_digest, settlement_id, subject_id, to_hex
from creditshare.core.localchain import free_port
from creditshare.domain import evidence
from tests.cli.helpers import Cli, deployed_cli, row, write_csv
from tests.ipfs.conftest import IpfsCli
from tests.ipfs.test_evidence_ipfs import _block_file, doc, holders

pytestmark = pytest.mark.chain


def sid(ref: str) -> str:
    return to_hex(settlement_id(subject_id("uscc:PLAT1"), ref))


def cid_of(data: bytes) -> str:
    return cid_from_digest(hashlib.sha256(data).digest())


@pytest.fixture(scope="module")
def chain_cli(net: IpfsCli, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """A deployed consortium (tests/cli/helpers.py) whose evidence goes to the IPFS network: this member's node
    is node 0, its replicas the three nodes (target 2: node 0 and node 1 pin)."""
    c = deployed_cli(tmp_path_factory)
    nodes = net.nodes()
    c.env.update(
        {
            "CREDITSHARE_EVIDENCE": "ipfs",
            "CREDITSHARE_IPFS_API": nodes[0].api,
            "CREDITSHARE_IPFS_REPLICAS": ",".join(n.api for n in nodes),
            "CREDITSHARE_IPFS_TIMEOUT": "4",
        }
    )
    return c


def run(c: Cli, *args: str, ok: bool = True, account: str | None = None, **env: str) -> Any:
    """`creditshare ARGS` with `env` on top of the member's settings (e.g. another member's node)."""
    argv = list(args) + (["--account", account] if account else [])
    result = c.runner.invoke(app, argv, env={**c.env, **env}, catch_exceptions=False)
    if ok and result.exit_code != 0:
        raise AssertionError(f"creditshare {' '.join(argv)} failed ({result.exit_code}):\n{result.stderr}")
    return result


def evidence_files(tmp_path: Path, sizes: dict[str, int]) -> dict[str, bytes]:
    (tmp_path / "evidence").mkdir(exist_ok=True)
    out = {}
    for name, size in sizes.items():
        out[name] = doc(size, f"{tmp_path}/{name}")
        (tmp_path / "evidence" / name).write_bytes(out[name])
    return out


def test_submit_pins_each_document_and_another_member_verifies_it_by_the_on_chain_digest(
    net: IpfsCli, chain_cli: Cli, tmp_path: Path
) -> None:
    docs = evidence_files(tmp_path, {"small.txt": 3000, "large.pdf": ipfs.MAX_BLOCK + 1})
    path = write_csv(tmp_path, [row("IP-1", evidence="evidence/small.txt"), row("IP-2", evidence="evidence/large.pdf")])
    result = json.loads(run(chain_cli, "--json", "settlements", "submit", str(path), account="plat").stdout)
    assert result["submitted"] == 2 and result["evidence_backend"] == "ipfs"
    cids = [cid_of(docs["small.txt"]), cid_of(docs["large.pdf"])]
    assert result["evidence_stored"] == cids
    links = json.loads((chain_cli.data_dir / "ipfs" / "links.json").read_text())
    assert holders(net, cids[0]) == [0, 1] and holders(net, links[cids[1]]) == [0, 1]
    assert not (chain_cli.data_dir / "evidence").exists()  # on the nodes, not in a folder
    # the on-chain digest is the one the document hashes to
    shown = json.loads(run(chain_cli, "--json", "settlements", "show", sid("IP-1")).stdout)
    assert shown["evidence_cid"] == cids[0]
    # another member's node (2, which pins neither) fetches both over bitswap and checks them
    other = {"CREDITSHARE_IPFS_API": net.nodes()[2].api}
    verified = json.loads(run(chain_cli, "--json", "evidence", "verify", sid("IP-1"), sid("IP-2"), **other).stdout)
    assert [(i["cid"], i["status"], i["bytes"]) for i in verified["settlements"]] == [
        (cids[0], "ok", 3000),
        (cids[1], "ok", ipfs.MAX_BLOCK + 1),
    ]
    assert run(chain_cli, "evidence", "get", cids[1], **other).stdout_bytes == docs["large.pdf"]
    # a rerun sends nothing and pins nothing new
    again = json.loads(run(chain_cli, "--json", "settlements", "submit", str(path), account="plat").stdout)
    assert (again["submitted"], again["already_on_chain"], again["evidence_stored"]) == (0, 2, cids)
    assert holders(net, cids[0]) == [0, 1]


def test_verify_with_a_pin_holder_down_fetches_from_the_other(net: IpfsCli, chain_cli: Cli, tmp_path: Path) -> None:
    docs = evidence_files(tmp_path, {"w.txt": 20_000})
    path = write_csv(tmp_path, [row("IPD-1", evidence="evidence/w.txt")])
    run(chain_cli, "settlements", "submit", str(path), account="plat")
    assert holders(net, cid_of(docs["w.txt"])) == [0, 1]
    net("ipfs", "down", "--node", "0")
    try:
        out = run(chain_cli, "--json", "evidence", "verify", sid("IPD-1"), CREDITSHARE_IPFS_API=net.nodes()[2].api)
        assert json.loads(out.stdout)["ok"] == 1  # node 0 is down: node 1 served it
        # the submitter's own node down: one line, nothing else
        out = run(chain_cli, "evidence", "verify", sid("IPD-1"), ok=False)
        assert out.exit_code == 1
        assert out.stderr.strip().splitlines() == [
            f"error: the IPFS node at {net.nodes()[0].api} is not reachable (is it up? `creditshare ipfs up`)."
        ]
    finally:
        net("ipfs", "up", "--node", "0")


def test_tampered_and_missing_documents_are_reported_with_one_error_and_exit_1(
    net: IpfsCli, chain_cli: Cli, tmp_path: Path
) -> None:
    docs = evidence_files(tmp_path, {"t.txt": 5000})
    never = doc(100, f"{tmp_path}/never stored")
    rows = [row("IPT-1", evidence="evidence/t.txt"), row("IPT-2", evidence=f"cid:{cid_of(never)}")]
    one_copy = {"CREDITSHARE_IPFS_REPLICATION": "1"}
    run(chain_cli, "settlements", "submit", str(write_csv(tmp_path, rows)), account="plat", **one_copy)
    cid = cid_of(docs["t.txt"])
    assert holders(net, cid) == [0]
    block = _block_file(Path(net.nodes()[0].repo), cid)
    block.write_bytes(b"X" + docs["t.txt"][1:])
    quick = {"CREDITSHARE_IPFS_TIMEOUT": "2"}
    out = run(chain_cli, "--json", "evidence", "verify", sid("IPT-1"), sid("IPT-2"), ok=False, **quick)
    assert out.exit_code == 1
    report = json.loads(out.stdout)
    assert [i["status"] for i in report["settlements"]] == ["tampered", "missing"]
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith("error: 2 of 2 settlement document(s) did not verify: ")
    assert f"{sid('IPT-1')} tampered (the IPFS node {net.nodes()[0].api}'s copy of {cid} does not match" in line
    assert f"{sid('IPT-2')} missing ({cid_of(never)} is on no reachable member's IPFS node" in line


def test_an_unreachable_node_or_a_refused_file_sends_and_pins_nothing(
    net: IpfsCli, chain_cli: Cli, tmp_path: Path
) -> None:
    docs = evidence_files(tmp_path, {"u.txt": 700})
    path = write_csv(tmp_path, [row("IPU-1", evidence="evidence/u.txt")])
    dead = f"http://127.0.0.1:{free_port()}"
    out = run(chain_cli, "settlements", "submit", str(path), ok=False, account="plat", CREDITSHARE_IPFS_API=dead)
    assert out.exit_code == 1
    assert out.stderr.strip().splitlines() == [
        f"error: {path}: storing the evidence failed, nothing was sent: the IPFS node at {dead} is not reachable "
        "(is it up? `creditshare ipfs up`)."
    ]
    assert run(chain_cli, "settlements", "show", sid("IPU-1"), ok=False).exit_code == 1
    # a file with a bad row: nothing pinned for its good row either
    bad = write_csv(
        tmp_path,
        [row("IPU-1", evidence="evidence/u.txt"), row("IPU-2", amount="0", evidence="evidence/u.txt")],
        "bad.csv",
    )
    out = run(chain_cli, "settlements", "submit", str(bad), ok=False, account="plat")
    assert "line 3: amount_fen must be positive" in out.stderr and "nothing was sent" in out.stderr
    assert holders(net, cid_of(docs["u.txt"])) == []


def test_store_files_stores_many_in_flight_keeps_every_link_and_refuses_only_a_changed_file(
    net: IpfsCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREDITSHARE_DATA_DIR", str(net.data_dir))
    monkeypatch.setenv("CREDITSHARE_EVIDENCE", "ipfs")
    sizes = {f"big-{i}.bin": ipfs.MAX_BLOCK + 1 + i for i in range(3)} | {f"small-{i}.txt": 900 + i for i in range(5)}
    docs = evidence_files(tmp_path, sizes)
    files = [(tmp_path / "evidence" / name, hashlib.sha256(data).digest()) for name, data in docs.items()]
    (tmp_path / "evidence" / "small-4.txt").write_bytes(b"changed after parsing")
    outcomes = evidence.store_files(net.data_dir / "evidence", files, workers=8)
    assert outcomes[:-1] == [cid_of(d) for d in list(docs.values())[:-1]]
    assert isinstance(outcomes[-1], evidence.EvidenceCorrupted)
    assert "small-4.txt changed since it was read" in str(outcomes[-1])
    links = json.loads((net.data_dir / "ipfs" / "links.json").read_text())
    for name in ("big-0.bin", "big-1.bin", "big-2.bin"):  # written by three threads at once: none lost
        assert holders(net, links[cid_of(docs[name])]) == [0, 1], name
    assert holders(net, cid_of(docs["small-0.txt"])) == [0, 1]
    assert holders(net, cid_of(docs["small-4.txt"])) == []
