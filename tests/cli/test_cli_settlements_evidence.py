"""`settlements submit` stores every evidence document in the evidence store (here the folder backend) before
the chain write, and `evidence verify SETTLEMENT` fetches each document by its on-chain digest: ok, missing or
tampered (the same on real Kubo nodes: tests/ipfs/test_settlements_ipfs.py)."""

from __future__ import annotations

import hashlib
import json

from creditshare.core.ids import cid_from_digest, settlement_id, subject_id, to_hex
from tests.cli.helpers import row, write_csv


def sid(ref: str) -> str:
    return to_hex(settlement_id(subject_id("uscc:PLAT1"), ref))


def cid_of(data: bytes) -> str:
    return cid_from_digest(hashlib.sha256(data).digest())


def documents(tmp_path, *names: str) -> dict[str, bytes]:
    """Evidence files no other test stores, under tmp_path/evidence/."""
    folder = tmp_path / "evidence"
    folder.mkdir(exist_ok=True)
    out = {}
    for name in names:
        data = f"waybill {name} of {tmp_path.name}\n".encode()
        (folder / name).write_bytes(data)
        out[name] = data
    return out


def stored(cli) -> set[str]:
    folder = cli.data_dir / "evidence"
    return {p.name for p in folder.iterdir() if p.is_file()} if folder.exists() else set()


def test_submit_stores_each_document_before_the_chain_write_and_verify_reads_it_back(cli, tmp_path):
    docs = documents(tmp_path, "a.txt", "b.txt")
    rows = [row("EV-1", evidence="evidence/a.txt"), row("EV-2", evidence="evidence/b.txt")]
    rows.append(row("EV-3", evidence="evidence/a.txt"))  # the same document twice: stored once
    path = write_csv(tmp_path, rows)
    result = cli.json("settlements", "submit", str(path), account="plat")
    assert result["submitted"] == 3 and result["evidence_backend"] == "folder"
    assert result["evidence_stored"] == [cid_of(docs["a.txt"]), cid_of(docs["b.txt"])]
    for name, data in docs.items():
        assert (cli.data_dir / "evidence" / cid_of(data)).read_bytes() == data, name
    verified = cli.json("evidence", "verify", sid("EV-1"), sid("EV-2"), sid("EV-3"))
    assert (verified["ok"], verified["missing"], verified["tampered"]) == (3, 0, 0)
    assert [i["cid"] for i in verified["settlements"]] == [cid_of(docs[n]) for n in ("a.txt", "b.txt", "a.txt")]
    assert [i["bytes"] for i in verified["settlements"]] == [len(docs[n]) for n in ("a.txt", "b.txt", "a.txt")]
    text = cli("evidence", "verify", sid("EV-2")).stdout
    assert "1 ok, 0 missing, 0 tampered" in text
    # a rerun sends nothing and stores the same documents again (idempotent)
    again = cli.json("settlements", "submit", str(path), account="plat")
    assert (again["submitted"], again["already_on_chain"]) == (0, 3)
    assert again["evidence_stored"] == result["evidence_stored"]


def test_a_refused_file_stores_nothing_and_sends_nothing(cli, tmp_path):
    docs = documents(tmp_path, "good.txt")
    before = stored(cli)
    path = write_csv(tmp_path, [row("EVR-1", evidence="evidence/good.txt"), row("EVR-2", evidence="evidence/gone.txt")])
    result = cli("settlements", "submit", str(path), account="plat", ok=False)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].startswith("error: ") and "nothing was sent" in result.stderr
    assert "line 3: evidence file evidence/gone.txt not found" in result.stderr
    assert stored(cli) == before and cid_of(docs["good.txt"]) not in stored(cli)
    assert cli("settlements", "show", sid("EVR-1"), ok=False).exit_code == 1


def test_dry_run_stores_nothing(cli, tmp_path):
    documents(tmp_path, "dry.txt")
    before = stored(cli)
    path = write_csv(tmp_path, [row("EVD-1", evidence="evidence/dry.txt")])
    result = cli.json("settlements", "submit", str(path), "--dry-run", account="plat")
    assert result["would_submit"] == 1 and result["evidence_stored"] == []
    assert stored(cli) == before


def test_verify_reports_missing_and_tampered_documents_with_an_error_and_exit_1(cli, tmp_path):
    docs = documents(tmp_path, "t.txt")
    never = b"a document nobody stored"
    rows = [
        row("EVT-1", evidence="evidence/t.txt"),
        row("EVT-2", evidence=f"cid:{cid_of(never)}"),  # hashed elsewhere: nothing to store
    ]
    result = cli.json("settlements", "submit", str(write_csv(tmp_path, rows)), account="plat")
    assert result["evidence_stored"] == [cid_of(docs["t.txt"])]
    copy = cli.data_dir / "evidence" / cid_of(docs["t.txt"])
    copy.write_bytes(b"edited " + docs["t.txt"])
    out = cli("--json", "evidence", "verify", sid("EVT-1"), sid("EVT-2"), ok=False)
    assert out.exit_code == 1
    report = json.loads(out.stdout)
    assert [i["status"] for i in report["settlements"]] == ["tampered", "missing"]
    assert (report["ok"], report["missing"], report["tampered"]) == (0, 1, 1)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: 2 of 2 settlement document(s) did not verify: ")
    assert f"{sid('EVT-1')} tampered" in lines[0] and "does not match its CID" in lines[0]
    assert f"{sid('EVT-2')} missing" in lines[0] and "is not in the evidence store" in lines[0]
    # a rerun of the file stores the original again: the damaged copy is replaced
    cli("settlements", "submit", str(write_csv(tmp_path, rows)), account="plat")
    assert copy.read_bytes() == docs["t.txt"]
    assert cli.json("evidence", "verify", sid("EVT-1"))["ok"] == 1


def test_verify_refuses_unknown_and_malformed_settlement_ids(cli):
    unknown = "0x" + "ab" * 32
    result = cli("evidence", "verify", unknown, ok=False)
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [f"error: not on the ledger: {unknown}"]
    result = cli("evidence", "verify", "0x1234", ok=False)
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1 and "32-byte hex" in result.stderr
